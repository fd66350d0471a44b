import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import type { Graph } from '../../src/core/graph/ir';
import { sizeOf } from '../../src/core/graph/ir';
import { GraphBuilder } from '../../src/core/graph/builder';
import { PreparedGraph } from '../../src/core/engine/prepared';
import { forward } from '../../src/core/engine/forward';
import { JointMoments, Moments, complement } from '../../src/core/patterns/moments';
import { batchMoments, mergeBatchMoments } from '../../src/core/patterns/collect';
import { patternLayers } from '../../src/core/patterns/layers';
import { fitPatterns, PatternFitter } from '../../src/core/patterns/fit';
import { decodePatterns, encodePatterns, loadPatterns, writePatternsFile } from '../../src/core/patterns/file';
import { mergeStats, toPatternSet } from '../../src/core/patterns/stats';
import { linearPattern, reluPattern } from '../../src/core/patterns/compute';
import { maxRel, momentsOf, worstStatsDifference } from './helpers/patternStats';
import { rhoOfLayer } from '../../src/core/patterns/rho';
import { writeNpy } from '../../src/core/io/npy';
import { encodePng } from '../../src/core/image/png';
import { LensError } from '../../src/core/errors';
import { LIMITS } from '../../src/core/io/boundedRead';
import { premultiplyPatterns } from '../../src/core/methods/patternNet';
import { OnnxExplainer } from '../../src/core/onnx/onnxExplainer';
import { cosine, memorySource, param, Rand, relErr } from './helpers/methodNets';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-patterns-'));

// ---------------------------------------------------------------- moments

test('Chan merge of moments equals the moments of the union; the complement recovers the other rows', () => {
  const r = new Rand(1);
  const rows = (n: number, offset: number) => Array.from({ length: n }, () => Array.from(r.array(5, 2, offset)));
  const xa = rows(40, 3);
  const xb = rows(25, -1);
  const w = Array.from(r.array(5 * 3));
  const yOf = (x: number[][]) => x.map((row) => [0, 1, 2].map((j) => row.reduce((s, v, i) => s + v * w[i * 3 + j], 0) + 10));
  const ya = yOf(xa);
  const yb = yOf(xb);
  const maskOf = (y: number[][]) => y.map((row) => row.map((v) => (v > 10 ? 1 : 0)));
  for (const masked of [false, true]) {
    const a = momentsOf(xa, ya, masked ? maskOf(ya) : undefined);
    a.merge(momentsOf(xb, yb, masked ? maskOf(yb) : undefined));
    const all = momentsOf([...xa, ...xb], [...ya, ...yb], masked ? maskOf([...ya, ...yb]) : undefined);
    for (const f of ['count', 'my', 'cyy', 'mx', 'cxy'] as const) assert.ok(maxRel(a[f], all[f]) < 1e-12, `${f} (masked ${masked})`);
  }
  const x = [...xa, ...xb];
  const y = [...ya, ...yb];
  const mask = maskOf(y);
  const comp = complement(momentsOf(x, y, undefined), momentsOf(x, y, mask));
  const want = momentsOf(x, y, mask.map((row) => row.map((v) => 1 - v)));
  for (const f of ['count', 'my', 'cyy', 'mx', 'cxy'] as const) assert.ok(maxRel(comp[f], want[f]) < 1e-9, `complement ${f}`);
});

test('JointMoments merge equals the joint moments of the union', () => {
  const r = new Rand(2);
  const make = (n: number, off: number) => ({ x: Array.from({ length: n }, () => Array.from(r.array(3, 1, off))), p: Array.from({ length: n }, () => Array.from(r.array(2, 1, off))), q: Array.from({ length: n }, () => Array.from(r.array(2))) });
  const jm = (s: ReturnType<typeof make>): JointMoments => {
    const j = new JointMoments(3, 2);
    const n = s.x.length;
    j.n = n;
    const mean = (v: number[][], i: number) => v.reduce((a, row) => a + row[i], 0) / n;
    for (let i = 0; i < 3; i++) j.mx[i] = mean(s.x, i);
    for (let i = 0; i < 2; i++) {
      j.mp[i] = mean(s.p, i);
      j.mq[i] = mean(s.q, i);
    }
    for (let t = 0; t < n; t++) {
      for (let i = 0; i < 3; i++) {
        for (let l = 0; l < 3; l++) j.cxx[i * 3 + l] += (s.x[t][i] - j.mx[i]) * (s.x[t][l] - j.mx[l]);
        for (let u = 0; u < 2; u++) {
          j.cxp[i * 2 + u] += (s.x[t][i] - j.mx[i]) * (s.p[t][u] - j.mp[u]);
          j.cxq[i * 2 + u] += (s.x[t][i] - j.mx[i]) * (s.q[t][u] - j.mq[u]);
        }
      }
      for (let u = 0; u < 2; u++) {
        j.cpp[u] += (s.p[t][u] - j.mp[u]) ** 2;
        j.cqq[u] += (s.q[t][u] - j.mq[u]) ** 2;
        j.cpq[u] += (s.p[t][u] - j.mp[u]) * (s.q[t][u] - j.mq[u]);
      }
    }
    return j;
  };
  const a = make(30, 2);
  const b = make(17, -3);
  const m = jm(a);
  m.merge(jm(b));
  const all = jm({ x: [...a.x, ...b.x], p: [...a.p, ...b.p], q: [...a.q, ...b.q] });
  for (const f of JointMoments.FIELDS) assert.ok(maxRel(m[f], all[f]) < 1e-12, f);
});

// ------------------------------------------------------- batch statistics

/** conv s2 'same' (asymmetric pad) → relu; dilated conv; depthwise ×2 → relu6; dense head. */
function statsNet(seed: number): Graph {
  const r = new Rand(seed);
  const b = new GraphBuilder('stats');
  const conv = (s: number, pad: 'same' | 'valid', dil = 1) => ({ conv: { strides: [s, s] as [number, number], padding: pad, dilations: [dil, dil] as [number, number] } });
  const bias = (n: number) => ({ shape: [n], data: r.array(n, 0.3) });
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [9, 8, 2] });
  x = b.add({ name: 'c1', op: 'conv2d', inputs: [x], attrs: conv(2, 'same'), params: { kernel: param(r, [3, 3, 2, 4], 18), bias: bias(4) } });
  x = b.add({ name: 'r1', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  x = b.add({ name: 'c2', op: 'conv2d', inputs: [x], attrs: conv(1, 'same', 2), params: { kernel: param(r, [2, 3, 4, 3], 24), bias: bias(3) } });
  x = b.add({ name: 'dw', op: 'depthwiseConv2d', inputs: [x], attrs: conv(1, 'valid'), params: { kernel: param(r, [2, 2, 3, 2], 4), bias: bias(6) } });
  x = b.add({ name: 'r2', op: 'activation', inputs: [x], attrs: { activation: 'relu6' } });
  x = b.add({ name: 'flat', op: 'flatten', inputs: [x] });
  const f = b.nodes[x].shape[0];
  x = b.add({ name: 'd1', op: 'dense', inputs: [x], params: { kernel: param(r, [f, 5], f), bias: bias(5) } });
  x = b.add({ name: 'r3', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  x = b.add({ name: 'logits', op: 'dense', inputs: [x], params: { kernel: param(r, [5, 3], 5) } });
  return b.build('stats', 'test', x);
}

/** Brute force: patches by explicit loops (float64), y = wᵀpatch, mask from y + b > 0. */
function bruteRows(g: Graph, name: string, acts: tf.Tensor[]): { x: number[][]; y: number[][]; mask?: number[][] } {
  const spec = patternLayers(g).find((s) => s.node.name === name)!;
  const node = spec.node;
  const inp = acts[node.inputs[0]].arraySync() as number[][][][] | number[][];
  const w = node.params.kernel!.data;
  const bias = node.params.bias?.data;
  const rowsX: number[][] = [];
  const rowsY: number[][] = [];
  const rowsM: number[][] = [];
  const k = spec.k;
  const emit = (patchOf: (j: number) => number[]) => {
    const ys: number[] = [];
    const xs = patchOf(0);
    for (let j = 0; j < k; j++) {
      const p = patchOf(j);
      let s = 0;
      for (let i = 0; i < p.length; i++) s += p[i] * w[i * k + j];
      ys.push(s);
    }
    rowsY.push(ys);
    rowsM.push(ys.map((v, j) => (v + (bias?.[j] ?? 0) > 0 ? 1 : 0)));
    return xs;
  };
  if (spec.op === 'dense') {
    for (const row of inp as number[][]) rowsX.push(emit(() => row));
  } else {
    const img = inp as number[][][][];
    const c = node.attrs.conv!;
    const [kh, kw, inC] = [spec.kh, spec.kw, spec.inC];
    const pads = new PreparedGraph(g).tensors[node.id].pads!;
    const [oh, ow] = node.shape;
    const at = (n: number, yy: number, xx: number, ch: number) => {
      const iy = yy - pads[0][0];
      const ix = xx - pads[1][0];
      return iy < 0 || ix < 0 || iy >= img[0].length || ix >= img[0][0].length ? 0 : img[n][iy][ix][ch];
    };
    for (let n = 0; n < img.length; n++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          const patch = (chan: (j: number) => number[]) => (j: number) => {
            const p: number[] = [];
            for (let dy = 0; dy < kh; dy++) {
              for (let dx = 0; dx < kw; dx++) {
                for (const ch of chan(j)) p.push(at(n, oy * c.strides[0] + dy * c.dilations[0], ox * c.strides[1] + dx * c.dilations[1], ch));
              }
            }
            return p;
          };
          if (spec.op === 'conv2d') rowsX.push(emit(patch(() => Array.from({ length: inC }, (_, i) => i))));
          else {
            // depthwise: neuron j sees channel j / mult; emit per neuron with its own patch
            const per = patch((j) => [Math.floor(j / spec.mult)]);
            const ys: number[] = [];
            for (let j = 0; j < k; j++) {
              const p = per(j);
              let s = 0;
              for (let i = 0; i < p.length; i++) s += p[i] * w[i * k + j];
              ys.push(s);
            }
            rowsY.push(ys);
            rowsM.push(ys.map((v, j) => (v + (bias?.[j] ?? 0) > 0 ? 1 : 0)));
            rowsX.push(Array.from({ length: k }, (_, j) => per(j)).flat());
          }
        }
      }
    }
  }
  return { x: rowsX, y: rowsY, ...(spec.regime === 'relu' ? { mask: rowsM } : {}) };
}

test('batch moments of conv (stride 2, asymmetric same pad, dilation), depthwise ×2 and dense match a float64 brute force', async () => {
  await initBackend('cpu');
  const g = statsNet(3);
  const prep = new PreparedGraph(g);
  const x = tf.tensor4d(new Rand(4).array(5 * 9 * 8 * 2, 1, 0.3), [5, 9, 8, 2]);
  const acts = forward(prep, x);
  for (const spec of patternLayers(g)) {
    const t = { x: acts[spec.node.inputs[0]], z: acts[spec.node.id], ...(spec.actId !== undefined ? { act: acts[spec.actId] } : {}) };
    const got = batchMoments(prep, spec, t);
    const br = bruteRows(g, spec.node.name, acts);
    let wantAll: Moments;
    let wantPlus: Moments | undefined;
    if (spec.op === 'depthwiseConv2d') {
      // per neuron j: x_j = the patch of its channel (d = kh·kw)
      const d = spec.d;
      wantAll = new Moments(d, spec.k, false);
      wantPlus = spec.regime === 'relu' ? new Moments(d, spec.k, false) : undefined;
      for (let j = 0; j < spec.k; j++) {
        const xj = br.x.map((row) => row.slice(j * d, (j + 1) * d));
        const yj = br.y.map((row) => [row[j]]);
        const a = momentsOf(xj, yj, yj.map(() => [1]));
        const p = br.mask ? momentsOf(xj, yj, br.mask.map((row) => [row[j]])) : undefined;
        wantAll.count[j] = a.count[0]; wantAll.my[j] = a.my[0]; wantAll.cyy[j] = a.cyy[0];
        for (let i = 0; i < d; i++) {
          wantAll.mx[i * spec.k + j] = a.mx[i];
          wantAll.cxy[i * spec.k + j] = a.cxy[i];
        }
        if (p && wantPlus) {
          wantPlus.count[j] = p.count[0]; wantPlus.my[j] = p.my[0]; wantPlus.cyy[j] = p.cyy[0];
          for (let i = 0; i < d; i++) {
            wantPlus.mx[i * spec.k + j] = p.mx[i];
            wantPlus.cxy[i * spec.k + j] = p.cxy[i];
          }
        }
      }
    } else {
      wantAll = momentsOf(br.x, br.y, undefined);
      wantPlus = br.mask ? momentsOf(br.x, br.y, br.mask) : undefined;
    }
    for (const f of ['count', 'my', 'cyy', 'mx', 'cxy'] as const) {
      const e = maxRel(got.all[f], wantAll[f]);
      assert.ok(e < 2e-5, `${spec.node.name} all.${f}: ${e}`);
      if (wantPlus) {
        const ep = maxRel(got.plus![f], wantPlus[f]);
        assert.ok(ep < 2e-5, `${spec.node.name} plus.${f}: ${ep}`);
      }
    }
    assert.equal(spec.regime, ['c1', 'dw', 'd1'].includes(spec.node.name) ? 'relu' : 'linear');
  }
  acts.forEach((a) => a.dispose());
  x.dispose();
  prep.dispose();
});

test('moments merged block by block (1, 3, 5 input channels at a time, uneven last blocks) equal whole batches merged and a float64 brute force over both', async () => {
  await initBackend('cpu');
  const g = statsNet(3);
  const prep = new PreparedGraph(g);
  const xa = tf.tensor4d(new Rand(4).array(5 * 9 * 8 * 2, 1, 0.3), [5, 9, 8, 2]);
  const xb = tf.tensor4d(new Rand(6).array(4 * 9 * 8 * 2, 0.5, 0.6), [4, 9, 8, 2]);
  const actsA = forward(prep, xa);
  const actsB = forward(prep, xb);
  const tensors = (acts: tf.Tensor[], spec: ReturnType<typeof patternLayers>[number]) => (
    { x: acts[spec.node.inputs[0]], z: acts[spec.node.id], ...(spec.actId !== undefined ? { act: acts[spec.actId] } : {}) });
  for (const spec of patternLayers(g)) {
    const depthwise = spec.op === 'depthwiseConv2d';
    const whole = batchMoments(prep, spec, tensors(actsA, spec));
    const wb = batchMoments(prep, spec, tensors(actsB, spec));
    whole.all.merge(wb.all);
    if (whole.plus) whole.plus.merge(wb.plus!);
    let brute: { all: Moments; plus?: Moments } | undefined;
    if (!depthwise) {
      const ra = bruteRows(g, spec.node.name, actsA);
      const rb = bruteRows(g, spec.node.name, actsB);
      const x = [...ra.x, ...rb.x];
      const y = [...ra.y, ...rb.y];
      brute = { all: momentsOf(x, y, undefined), ...(ra.mask ? { plus: momentsOf(x, y, [...ra.mask, ...rb.mask!]) } : {}) };
    }
    for (const blockChannels of [1, 3, 5]) {
      const acc = { all: new Moments(spec.d, spec.k, !depthwise), ...(whole.plus ? { plus: new Moments(spec.d, spec.k, false) } : {}) };
      mergeBatchMoments(prep, spec, tensors(actsA, spec), acc, blockChannels);
      mergeBatchMoments(prep, spec, tensors(actsB, spec), acc, blockChannels);
      for (const f of ['count', 'my', 'cyy', 'mx', 'cxy'] as const) {
        const what = `${spec.node.name} (inC ${spec.inC}, ${blockChannels} per block)`;
        assert.ok(maxRel(acc.all[f], whole.all[f]) <= 1e-12, `${what} all.${f}: ${maxRel(acc.all[f], whole.all[f])}`);
        if (whole.plus) assert.ok(maxRel(acc.plus![f], whole.plus[f]) <= 1e-12, `${what} plus.${f}: ${maxRel(acc.plus![f], whole.plus[f])}`);
        if (brute) {
          assert.ok(maxRel(acc.all[f], brute.all[f]) < 2e-5, `${what} all.${f} vs brute force: ${maxRel(acc.all[f], brute.all[f])}`);
          if (brute.plus) assert.ok(maxRel(acc.plus![f], brute.plus[f]) < 2e-5, `${what} plus.${f} vs brute force: ${maxRel(acc.plus![f], brute.plus[f])}`);
        }
      }
    }
  }
  [...actsA, ...actsB].forEach((a) => a.dispose());
  xa.dispose();
  xb.dispose();
  prep.dispose();
});

// ----------------------------------------------------------------- ρ

test('ρ by Cholesky + Woodbury equals an explicit least-squares fit of y on d = x − S(x)', () => {
  const r = new Rand(5);
  const d = 6;
  const n = 400;
  const w = r.array(d);
  const rows = Array.from({ length: n }, () => Array.from(r.array(d, 1, 0.2)));
  const y = rows.map((x) => x.reduce((s, v, i) => s + v * w[i], 0));
  const mask = y.map((v) => (v > 0.1 ? 1 : 0));
  const jm = new JointMoments(d, 1);
  const p = y.map((v, t) => v * mask[t]);
  const q = y.map((v, t) => v * (1 - mask[t]));
  jm.n = n;
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / n;
  for (let i = 0; i < d; i++) jm.mx[i] = mean(rows.map((x) => x[i]));
  jm.mp[0] = mean(p);
  jm.mq[0] = mean(q);
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < d; i++) {
      for (let l = 0; l < d; l++) jm.cxx[i * d + l] += (rows[t][i] - jm.mx[i]) * (rows[t][l] - jm.mx[l]);
      jm.cxp[i] += (rows[t][i] - jm.mx[i]) * (p[t] - jm.mp[0]);
      jm.cxq[i] += (rows[t][i] - jm.mx[i]) * (q[t] - jm.mq[0]);
    }
    jm.cpp[0] += (p[t] - jm.mp[0]) ** 2;
    jm.cqq[0] += (q[t] - jm.mq[0]) ** 2;
    jm.cpq[0] += (p[t] - jm.mp[0]) * (q[t] - jm.mq[0]);
  }
  const ap = r.array(d);
  const an = r.array(d);
  const res = rhoOfLayer({
    regime: 'relu', groups: [{ neurons: [0], moments: jm }], w: Float64Array.from(w), planNeurons: [0],
    linear: ap, relu: ap, negative: an, seed: 1,
  });
  // explicit: d_t = x_t − a(t)·y_t with a normalised to wᵀa = 1, OLS with intercept, adjusted R²
  const norm = (a: Float32Array) => {
    const wa = a.reduce((s, v, i) => s + v * w[i], 0);
    return Array.from(a, (v) => v / wa);
  };
  const explicit = (a1: number[], a0: number[]): number => {
    const dd = rows.map((x, t) => x.map((v, i) => v - (mask[t] ? a1[i] : a0[i]) * y[t]));
    // normal equations with centring, solved by Gaussian elimination (plus the same tiny ridge)
    const md = Array.from({ length: d }, (_, i) => mean(dd.map((row) => row[i])));
    const my = mean(y);
    const A = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, l) => dd.reduce((s, row) => s + (row[i] - md[i]) * (row[l] - md[l]), 0)));
    const bvec = Array.from({ length: d }, (_, i) => dd.reduce((s, row, t) => s + (row[i] - md[i]) * (y[t] - my), 0));
    let tr = 0;
    for (let i = 0; i < d; i++) tr += jm.cxx[i * d + i];
    const lambda = 1e-6 * (tr / d);
    const M = A.map((row, i) => [...row.map((v, l) => v + (i === l ? lambda : 0)), bvec[i]]);
    for (let c = 0; c < d; c++) {
      let pv = c;
      for (let rr = c + 1; rr < d; rr++) if (Math.abs(M[rr][c]) > Math.abs(M[pv][c])) pv = rr;
      [M[c], M[pv]] = [M[pv], M[c]];
      for (let rr = c + 1; rr < d; rr++) {
        const f = M[rr][c] / M[c][c];
        for (let q2 = c; q2 <= d; q2++) M[rr][q2] -= f * M[c][q2];
      }
    }
    const v = new Array<number>(d).fill(0);
    for (let rr = d - 1; rr >= 0; rr--) {
      let s = M[rr][d];
      for (let q2 = rr + 1; q2 < d; q2++) s -= M[rr][q2] * v[q2];
      v[rr] = s / M[rr][rr];
    }
    const pred = dd.map((row) => row.reduce((s, val, i) => s + (val - md[i]) * v[i], 0));
    const mp2 = mean(pred);
    const cov = pred.reduce((s, val, t) => s + (val - mp2) * (y[t] - my), 0);
    const vp = pred.reduce((s, val) => s + (val - mp2) ** 2, 0);
    const vy = y.reduce((s, val) => s + (val - my) ** 2, 0);
    const r2 = (cov * cov) / (vp * vy);
    const adj = 1 - ((1 - r2) * (n - 1)) / (n - d - 1);
    return 1 - Math.sqrt(Math.max(0, adj));
  };
  const wantRelu = explicit(norm(ap), norm(an));
  const wantLin = explicit(norm(ap), norm(ap));
  const ww = Array.from(w).reduce((s, v) => s + v * v, 0);
  const wantFilter = explicit(Array.from(w, (v) => v / ww), Array.from(w, (v) => v / ww));
  assert.ok(Math.abs(res.relu! - wantRelu) < 1e-6, `relu ${res.relu} vs ${wantRelu}`);
  assert.ok(Math.abs(res.linear! - wantLin) < 1e-6, `linear ${res.linear} vs ${wantLin}`);
  assert.ok(Math.abs(res.filter! - wantFilter) < 1e-6, `filter ${res.filter} vs ${wantFilter}`);
  assert.equal(res.identity, 1);
});

// -------------------------------------------- the brief's linear example

/** x = y·a_s + ε·a_d (+ a little isotropic noise); the model's filter w ⊥ a_d, wᵀa_s = 1. */
function linearExample(n: number, seed: number) {
  const r = new Rand(seed);
  const D = 16;
  const as = r.array(D);
  const ad = Float32Array.from(as, (v) => 0.8 * v + 0.6 * r.normal()); // a distractor that overlaps the signal
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);
  const proj = Float32Array.from(as, (v, i) => v - (dot(as, ad) / dot(ad, ad)) * ad[i]);
  const w = Float32Array.from(proj, (v) => v / dot(proj, as));
  const data = new Float32Array(n * D);
  for (let t = 0; t < n; t++) {
    const y = r.normal();
    const e = 2 * r.normal();
    for (let i = 0; i < D; i++) data[t * D + i] = y * as[i] + e * ad[i] + 0.01 * r.normal();
  }
  const w2 = r.array(D);
  const kernel = new Float32Array(D * 2);
  for (let i = 0; i < D; i++) {
    kernel[i * 2] = w[i];
    kernel[i * 2 + 1] = w2[i];
  }
  const b = new GraphBuilder('linear-example');
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [4, 4, 1] });
  x = b.add({ name: 'flat', op: 'flatten', inputs: [x] });
  x = b.add({ name: 'dense', op: 'dense', inputs: [x], params: { kernel: { shape: [D, 2], data: kernel } } });
  return { g: b.build('linear-example', 'test', x), data, as, ad, w };
}

test('linear example: PatternNet recovers the signal direction a_s where the gradient gives w; ρ(S_a) beats S_w and random', async () => {
  await initBackend('cpu');
  const ex = linearExample(3000, 7);
  const stats = fitPatterns(ex.g, memorySource(ex.data, [4, 4, 1]), { batchSize: 256, holdout: 0.3 });
  const layer = stats.layers[0];
  assert.equal(layer.regime, 'linear');
  const a = Array.from({ length: 16 }, (_, i) => layer.linear![i * 2]);
  console.log(`cos(a, a_s) = ${cosine(a, ex.as).toFixed(5)}, cos(w, a_s) = ${cosine(ex.w, ex.as).toFixed(3)}`);
  assert.ok(cosine(a, ex.as) >= 0.99);
  const ps = toPatternSet(stats);
  const e = new Explainer(ex.g);
  const input = { shape: [4, 4, 1], data: ex.data.slice(16 * 5, 16 * 6) };
  const pn = e.explain(input, { method: 'pattern-net', targetClass: 0, patterns: ps });
  const gr = e.explain(input, { method: 'gradient', targetClass: 0 });
  const pa = e.explain(input, { method: 'pattern-attribution', targetClass: 0, patterns: ps });
  e.dispose();
  const cs = Math.abs(cosine(pn.relevance.data, ex.as));
  console.log(`PatternNet signal: |cos(·, a_s)| = ${cs.toFixed(5)}; gradient: cos(·, w) = ${cosine(gr.relevance.data, ex.w).toFixed(5)}, cos(·, a_s) = ${cosine(gr.relevance.data, ex.as).toFixed(3)}`);
  assert.ok(cs >= 0.99, `PatternNet recovers a_s: ${cs}`);
  assert.ok(cosine(gr.relevance.data, ex.w) > 0.99999, 'the gradient is the filter w');
  assert.ok(Math.abs(cosine(gr.relevance.data, ex.as)) < 0.9, 'and w is not the signal direction');
  // PatternAttribution: w ⊙ a · y, which sums to y (wᵀa = 1)
  assert.ok(Math.abs(pa.inputRelevanceSum - pa.target.logit) < 1e-3 * Math.abs(pa.target.logit) + 1e-4);
  const rho = layer.rhoValues!;
  console.log(`held-out ρ: S_a ${rho.linear!.toFixed(4)}, S_w ${rho.filter!.toFixed(4)}, random ${rho.random!.toFixed(4)}, S_x ${rho.identity} (trivial), rows ${rho.rows}`);
  assert.ok(rho.linear! > 0.9, 'the learned estimator leaves a distractor without information on y');
  assert.ok(rho.linear! > rho.filter! + 0.2 && rho.linear! > rho.random!, 'and beats the filter and random estimators');
});

// ------------------------------------------------- files, merge, leaks

function randomImages(n: number, shape: number[], seed: number): Float32Array {
  return new Rand(seed).array(n * sizeOf(shape), 1, 0.2);
}


test('two half-dataset fits merged equal one full fit; a file round-trips exactly', async () => {
  await initBackend('cpu');
  const g = statsNet(8);
  const shape = [9, 8, 2];
  const data = randomImages(240, shape, 9);
  const per = sizeOf(shape);
  const opts = { batchSize: 24, holdout: 0.2, rho: { neurons: 4, positions: 16, maxDim: 2048 } };
  const full = fitPatterns(g, memorySource(data, shape), opts);
  for (const split of [120, 110]) {
    const a = fitPatterns(g, memorySource(data.slice(0, split * per), shape), opts);
    const b = fitPatterns(g, memorySource(data.slice(split * per), shape), opts);
    const fa = path.join(tmp, `a${split}.pat`);
    const fb = path.join(tmp, `b${split}.pat`);
    await writePatternsFile(fa, a);
    await writePatternsFile(fb, b);
    const merged = mergeStats(decodePatterns(fs.readFileSync(fa), fa).stats, decodePatterns(fs.readFileSync(fb), fb).stats);
    assert.equal(merged.images.fit + merged.images.heldOut, 240);
    assert.deepEqual(merged.images, full.images, 'the same images are held out (content hash)');
    const worst = worstStatsDifference(merged, full);
    console.log(`halves ${split}/${240 - split} merged vs one fit: max relative difference ${worst.toExponential(2)}${split % 24 ? ' (batch boundaries differ)' : ''}`);
    assert.ok(worst <= 1e-6, `merged vs full ${worst}`);
    merged.layers.forEach((l, i) => {
      if (full.layers[i].rhoValues?.linear != null) assert.ok(Math.abs(l.rhoValues!.linear! - full.layers[i].rhoValues!.linear!) < 1e-6);
    });
  }
  const bytes = encodePatterns(full);
  const back = decodePatterns(bytes, 'mem').stats;
  assert.equal(worstStatsDifference(back, full), 0);
  assert.deepEqual(back.layers.map((l) => l.rhoValues), full.layers.map((l) => l.rhoValues));
});

test('a fit kept without patterns writes the same file: patterns derived in row blocks equal a = cov/σ² and a₊ written out here', async () => {
  await initBackend('cpu');
  const g = statsNet(16);
  const shape = [9, 8, 2];
  const data = randomImages(60, shape, 17);
  const opts = { batchSize: 20, holdout: 0.2, rho: { neurons: 4, positions: 16, maxDim: 2048 } };
  const full = fitPatterns(g, memorySource(data, shape), opts);
  const lean = fitPatterns(g, memorySource(data, shape), { ...opts, patterns: false });
  assert.ok(lean.layers.every((l) => l.linear === undefined && l.relu === undefined));
  const file = path.join(tmp, 'lean.pat');
  await writePatternsFile(file, lean);
  const back = decodePatterns(fs.readFileSync(file), file).stats;
  assert.equal(worstStatsDifference(back, full), 0);
  assert.deepEqual(back.layers.map((l) => l.rhoValues), full.layers.map((l) => l.rhoValues));
  // the explainer's loader reads only the patterns, from disk
  const ps = loadPatterns(file);
  assert.deepEqual(ps.layers.map((l) => [l.name, l.regime, l.linear, l.relu]), full.layers.map((l) => [l.name, l.regime, l.linear, l.relu]));
  const cut = path.join(tmp, 'lean-cut.pat');
  fs.writeFileSync(cut, fs.readFileSync(file).subarray(0, Math.floor(fs.statSync(file).size / 2)));
  assert.throws(() => loadPatterns(cut), (e: unknown) => e instanceof LensError && /lean-cut\.pat: truncated patterns file \(layer '\w+', pattern\.(linear|relu)\)$/.test(e.message));
  for (const l of full.layers) {
    const { d, k, all, plus } = l;
    const cut = Math.max(1, Math.floor(d / 3));
    const lin = [...linearPattern(all, 0, cut), ...linearPattern(all, cut, d)];
    const rel = plus ? [...reluPattern(all, plus, 0, cut), ...reluPattern(all, plus, cut, d)] : [];
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < k; j++) {
        assert.equal(lin[i * k + j], Math.fround(all.cxy[i * k + j] / (all.cyy[j] || 1)), `${l.name} linear [${i}, ${j}]`);
        if (!plus || plus.count[j] === 0) continue;
        const n = plus.count[j];
        const mx = plus.mx[i * k + j];
        const a = (plus.cxy[i * k + j] / n + mx * (plus.my[j] - all.my[j])) / (plus.cyy[j] / n + plus.my[j] * (plus.my[j] - all.my[j]));
        assert.ok(Math.abs(rel[i * k + j] - a) <= 1e-6 * Math.abs(a) + 1e-12, `${l.name} relu [${i}, ${j}]: ${rel[i * k + j]} vs ${a}`);
      }
    }
  }
});

test('patterns loaded for one type read only its arrays, or as W∘A for PatternAttribution; the limit bounds what is read, not the statistics beside it', async () => {
  await initBackend('cpu');
  const g = statsNet(18);
  const shape = [9, 8, 2];
  const stats = fitPatterns(g, memorySource(randomImages(30, shape, 19), shape), { batchSize: 10, holdout: 0 });
  const file = path.join(tmp, 'typed.pat');
  await writePatternsFile(file, stats);
  const both = loadPatterns(file);
  const relu = loadPatterns(file, 'relu');
  const linear = loadPatterns(file, 'linear');
  assert.ok(both.layers.some((l) => l.regime === 'relu') && both.layers.some((l) => l.regime === 'linear'));
  both.layers.forEach((l, i) => {
    // relu: a₊ where fitted, the linear pattern elsewhere; linear: the linear pattern everywhere
    assert.deepEqual([relu.layers[i].relu, relu.layers[i].linear], l.regime === 'relu' ? [l.relu, undefined] : [undefined, l.linear], l.name);
    assert.deepEqual([linear.layers[i].relu, linear.layers[i].linear], [undefined, l.linear], l.name);
  });
  const x = { shape, data: randomImages(1, shape, 20) };
  const e = new Explainer(g);
  try {
    for (const [type, ps] of [['relu', relu], ['linear', linear]] as const) {
      const want = e.explain(x, { method: 'pattern-attribution', patterns: both, patternType: type }).relevance.data;
      assert.deepEqual(e.explain(x, { method: 'pattern-attribution', patterns: ps, patternType: type }).relevance.data, want, type);
    }
    assert.throws(() => e.explain(x, { method: 'pattern-net', patterns: relu, patternType: 'linear' }),
      (err: unknown) => err instanceof LensError && /typed\.pat: the patterns were loaded for --pattern-type relu only; layer '\w+' has no linear pattern/.test(err.message));
    // W∘A made in the set's own arrays (the CLI's PatternAttribution): the same bits on wasm and on the compiled path
    const want = e.explain(x, { method: 'pattern-attribution', patterns: both }).relevance.data;
    const pre = loadPatterns(file, 'relu');
    const fitted = pre.layers.map((l) => (l.relu ?? l.linear)!.slice());
    premultiplyPatterns(g, pre);
    premultiplyPatterns(g, pre); // once only
    pre.layers.forEach((l, i) => {
      const w = g.nodes.find((n) => n.name === l.name)!.params.kernel!.data;
      assert.deepEqual(l.relu ?? l.linear, fitted[i].map((a, j) => Math.fround(w[j] * a)), l.name);
    });
    assert.deepEqual(e.explain(x, { method: 'pattern-attribution', patterns: pre }).relevance.data, want);
    const o = new OnnxExplainer(g);
    try {
      const onnx = await o.explain(x, { method: 'pattern-attribution', patterns: pre });
      assert.equal(onnx.backend, 'onnx');
      assert.deepEqual(onnx.relevance.data, (await o.explain(x, { method: 'pattern-attribution', patterns: relu })).relevance.data);
      assert.ok(maxRel(onnx.relevance.data, want) < 1e-5);
    } finally {
      await o.dispose();
    }
    assert.throws(() => e.explain(x, { method: 'pattern-net', patterns: pre }), /typed\.pat: pattern-net: these patterns were multiplied by the weights for pattern-attribution/);
  } finally {
    e.dispose();
  }
  // the file holds float64 statistics too: a limit below the file but above its patterns loads, a limit below the patterns refuses
  const patternBytes = both.layers.reduce((a, l) => a + (l.linear!.length + (l.relu?.length ?? 0)) * 4, 0);
  const size = fs.statSync(file).size;
  assert.ok(size > 2 * patternBytes, `the file (${size} B) holds more than its patterns (${patternBytes} B)`);
  const saved = LIMITS.modelBytes;
  try {
    LIMITS.modelBytes = Math.ceil(patternBytes / 2);
    assert.equal(loadPatterns(file).layers.length, both.layers.length);
    LIMITS.modelBytes = Math.floor(patternBytes / 2) - 1;
    assert.throws(() => loadPatterns(file), (err: unknown) => err instanceof LensError && /typed\.pat: its patterns are .* over the limit of .* \(twice RELEVANCE_LENS_MAX_MODEL_MB\)$/.test(err.message));
  } finally {
    LIMITS.modelBytes = saved;
  }
});

test('a bad patterns file is a one-line error naming the file', async () => {
  await initBackend('cpu');
  const g = statsNet(10);
  const stats = fitPatterns(g, memorySource(randomImages(20, [9, 8, 2], 11), [9, 8, 2]), { batchSize: 10, holdout: 0 });
  const good = encodePatterns(stats);
  const expectBad = (bytes: Uint8Array, re: RegExp) => {
    assert.throws(() => decodePatterns(bytes, '/x/p.pat'), (e: unknown) => e instanceof LensError && e.code === 'bad-patterns' && e.message.startsWith('/x/p.pat: ') && re.test(e.message) && !e.message.includes('\n'));
  };
  expectBad(Buffer.from('not a patterns file at all'), /bad magic/);
  expectBad(good.subarray(0, good.length - 8), /truncated/);
  const v2 = Buffer.from(good);
  v2.writeUInt32LE(99, 8);
  expectBad(v2, /version 99/);
  const badJson = Buffer.from(good);
  badJson.write('{{', 16, 'latin1');
  expectBad(badJson, /unreadable header/);
  assert.throws(() => loadPatterns(path.join(tmp, 'missing.pat')), /missing\.pat: file not found/);
  // patterns of another model
  const other = statsNet(12);
  const ps = toPatternSet(stats, 'p.pat');
  const e = new Explainer(other);
  assert.throws(() => e.explain({ shape: [9, 8, 2], data: new Float32Array(144) }, { method: 'pattern-net', patterns: ps }), /p\.pat: the patterns were fitted on a different model/);
  assert.throws(() => e.explain({ shape: [9, 8, 2], data: new Float32Array(144) }, { method: 'pattern-attribution' }), /needs fitted patterns: --patterns FILE/);
  e.dispose();
  assert.throws(() => mergeStats(stats, fitPatterns(other, memorySource(randomImages(10, [9, 8, 2], 13), [9, 8, 2]), { holdout: 0 }), ['a.pat', 'b.pat']), /b\.pat: fitted on a different model/);
});

test('fitting and pattern explanations leak no tensors', async () => {
  await initBackend('cpu');
  const g = statsNet(14);
  const data = randomImages(30, [9, 8, 2], 15);
  fitPatterns(g, memorySource(data, [9, 8, 2]), { batchSize: 8 });
  const before = tf.memory().numTensors;
  const stats = fitPatterns(g, memorySource(data, [9, 8, 2]), { batchSize: 7, holdout: 0.3 });
  assert.equal(tf.memory().numTensors, before, 'fit');
  const ps = toPatternSet(stats);
  const e = new Explainer(g);
  const input = { shape: [9, 8, 2], data: data.slice(0, 144) };
  const runs = () => {
    e.explain(input, { method: 'pattern-net', patterns: ps });
    e.explain(input, { method: 'pattern-attribution', patterns: ps, patternType: 'linear' });
    e.explain(input, { method: 'pattern-attribution', patterns: ps, targetClass: 1 });
  };
  runs(); // derives and caches the pattern kernels
  const warm = tf.memory().numTensors;
  runs();
  assert.equal(tf.memory().numTensors, warm, 'explain: nothing but the cached kernels stays');
  e.dispose();
  assert.equal(tf.memory().numTensors, before, 'everything freed with the explainer');
  const f = new PatternFitter(g);
  f.dispose();
  assert.equal(tf.memory().numTensors, before);
});

// ------------------------------------------------------------------ CLI

/** The command in a child process (its stdout/stderr are the test's to read, not the runner's). */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const mod = path.join(__dirname, '..', '..', 'src', 'cli', 'commands', 'patterns.js');
  const code = `require(${JSON.stringify(mod)}).runPatternsCommand(process.argv.slice(1)).then((c) => { process.exitCode = c; });`;
  const r = spawnSync(process.execPath, ['-e', code, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function savedModel(): Promise<string> {
  const tfl = await import('@tensorflow/tfjs-layers');
  const { saveLayersModel } = await import('./helpers/saveLayersModel');
  const m = tfl.sequential({ layers: [
    tfl.layers.conv2d({ inputShape: [12, 12, 1], filters: 3, kernelSize: 3, activation: 'relu', name: 'conv' }),
    tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool' }),
    tfl.layers.flatten({ name: 'flat' }),
    tfl.layers.dense({ units: 4, name: 'logits' }),
  ] });
  const dir = path.join(tmp, 'model');
  const file = await saveLayersModel(m, dir);
  fs.writeFileSync(path.join(dir, 'model.lens.json'), JSON.stringify({ input: { height: 12, width: 12, channels: 1, scaling: '[0,1]' } }));
  return file;
}

test('CLI: patterns fit (.npy stack and image folder), merge, info; bad input exits 2 naming the file', async () => {
  await initBackend('cpu');
  const model = await savedModel();
  const r = new Rand(16);
  const stack = r.uniform(40 * 144, 0, 1);
  const npy = path.join(tmp, 'stack.npy');
  fs.writeFileSync(npy, writeNpy([40, 12, 12, 1], stack));
  fs.writeFileSync(path.join(tmp, 'half1.npy'), writeNpy([20, 12, 12], stack.slice(0, 20 * 144)));
  fs.writeFileSync(path.join(tmp, 'half2.npy'), writeNpy([20, 12, 12, 1], stack.slice(20 * 144)));
  const out = path.join(tmp, 'full.pat');
  let res = await cli(['fit', model, npy, '--out', out, '--batch', '10', '--backend', 'cpu']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /patterns fit: 40\/40 images/);
  assert.match(res.stderr, /images\/s/);
  for (const h of ['half1', 'half2']) {
    res = await cli(['fit', model, path.join(tmp, `${h}.npy`), '--out', path.join(tmp, `${h}.pat`), '--batch', '10', '--quiet', '--backend', 'cpu']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
  }
  res = await cli(['merge', path.join(tmp, 'half1.pat'), path.join(tmp, 'half2.pat'), '--out', path.join(tmp, 'merged.pat')]);
  assert.equal(res.code, 0, res.stderr);
  const full = decodePatterns(fs.readFileSync(out), out).stats;
  const merged = decodePatterns(fs.readFileSync(path.join(tmp, 'merged.pat')), 'merged').stats;
  assert.ok(worstStatsDifference(merged, full) <= 1e-6, `merged vs full: ${worstStatsDifference(merged, full)}`);
  res = await cli(['info', out]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /held-out\s+ρ\(S_a\+-\)\s+ρ\(S_a\)\s+ρ\(S_w\)\s+ρ\(S_x\)/);
  assert.match(res.stdout, /^conv\s+conv2d\s+3×3×1×3\s+relu/m);
  res = await cli(['info', out, '--json']);
  assert.equal(JSON.parse(res.stdout).layers.length, 2);
  // a folder of PNGs, preprocessed per the model card
  const dir = path.join(tmp, 'pngs');
  fs.mkdirSync(dir);
  for (let i = 0; i < 6; i++) {
    const rgba = new Uint8Array(12 * 12 * 4);
    for (let p = 0; p < 144; p++) {
      rgba.fill(Math.round(stack[i * 144 + p] * 255), p * 4, p * 4 + 3);
      rgba[p * 4 + 3] = 255;
    }
    fs.writeFileSync(path.join(dir, `img${i}.png`), encodePng(rgba, 12, 12));
  }
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
  res = await cli(['fit', model, dir, '--out', path.join(tmp, 'folder.pat'), '--holdout', '0']);
  assert.equal(res.code, 0, res.stderr);
  // bad inputs: exit 2, one line, the file named, nothing written
  fs.writeFileSync(path.join(dir, 'img9.png'), 'not a png');
  const badOut = path.join(tmp, 'bad.pat');
  const cases: [string[], string][] = [
    [['fit', model, path.join(dir), '--out', badOut], 'img9.png'],
    [['fit', model, path.join(tmp, 'nope.npy'), '--out', badOut], 'nope.npy'],
    [['fit', model, out, '--out', badOut], 'full.pat'],
    [['fit', path.join(tmp, 'nomodel.json'), npy, '--out', badOut], 'nomodel.json'],
    [['merge', out, npy, '--out', badOut], 'stack.npy'],
    [['info', npy], 'stack.npy'],
    [['fit', model, npy], 'usage'],
    [['fit', model, npy, '--out', badOut, '--holdout', '1.5'], '--holdout'],
  ];
  fs.writeFileSync(path.join(tmp, 'wrong.npy'), writeNpy([3, 10, 10, 1], new Float32Array(300)));
  cases.push([['fit', model, path.join(tmp, 'wrong.npy'), '--out', badOut], 'wrong.npy']);
  for (const [args, mention] of cases) {
    const rr = await cli(args);
    assert.equal(rr.code, 2, `${args.join(' ')}: ${rr.stderr}`);
    const lines = rr.stderr.trim().split('\n').filter((l) => !l.startsWith('patterns fit:'));
    assert.equal(lines.length, 1, rr.stderr);
    assert.ok(lines[0].includes(mention), `'${lines[0]}' names ${mention}`);
    assert.ok(!fs.existsSync(badOut));
  }
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp')), []);
});

test('PatternNet on a deep chain: the signal is rescaled by powers of two instead of overflowing float32', async () => {
  await initBackend('cpu');
  const { modelFingerprint } = await import('../../src/core/patterns/fingerprint');
  const r = new Rand(21);
  const b = new GraphBuilder('deep');
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [1, 1, 4] });
  x = b.add({ name: 'flat', op: 'flatten', inputs: [x] });
  const depth = 8;
  const patterns: Float32Array[] = [];
  for (let l = 0; l < depth; l++) {
    x = b.add({ name: `d${l}`, op: 'dense', inputs: [x], params: { kernel: { shape: [4, 4], data: r.array(16, 0.5) } } });
    patterns.push(r.array(16, 1e6)); // each layer multiplies the signal by ~1e6: 1e48 in all
  }
  const g = b.build('deep', 'test', x);
  const ps = {
    id: 'deep-test', fingerprint: modelFingerprint(g), modelName: 'deep', images: { fit: 1, heldOut: 0 },
    layers: patterns.map((a, l) => ({ name: `d${l}`, op: 'dense' as const, kernelShape: [4, 4], regime: 'linear' as const, linear: a })),
  };
  const input = { shape: [1, 1, 4], data: Float32Array.from([0.3, -0.2, 0.5, 0.1]) };
  const e = new Explainer(g);
  const res = e.explain(input, { method: 'pattern-net', patterns: ps, targetClass: 1 });
  e.dispose();
  // float64 reference: s ← A s from the logit down
  let s = [0, 0, 0, 0];
  s[1] = res.target.logit;
  for (let l = depth - 1; l >= 0; l--) s = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].reduce((acc, k) => acc + patterns[l][i * 4 + k] * s[k], 0));
  const log2 = (res.extra as { patterns: { log2Scale: number } }).patterns.log2Scale;
  assert.ok(log2 > 0, 'rescaled');
  assert.ok(res.relevance.data.every(Number.isFinite));
  const got = Array.from(res.relevance.data, (v) => v * 2 ** log2);
  assert.ok(relErr(got, s) < 1e-5, `${got} vs ${s}`);
  const first = res.layers.find((l) => l.name === 'd0')!;
  assert.ok(Math.abs(first.inputRelevanceSum - s.reduce((a2, b2) => a2 + b2, 0)) < 1e-4 * Math.abs(s.reduce((a2, b2) => a2 + Math.abs(b2), 0)), 'sums in true units');
});
