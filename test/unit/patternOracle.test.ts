/**
 * PatternNet and PatternAttribution against a float64 re-implementation written here from the
 * definition (Kindermans et al. 2018): the gradient's backward pass — ReLU masks of the forward pass,
 * max pooling to the window's winner — where each dense/conv layer's transposed map uses the pattern A
 * (PatternNet) or W∘A (PatternAttribution) instead of W, started from the logit. The patterns are
 * arbitrary (seeded), so the check covers the propagation itself, not a fit; both regimes (a₊ where a
 * ReLU follows, the linear pattern elsewhere) and patternType 'linear' are compared.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import { GraphBuilder } from '../../src/core/graph/builder';
import type { Graph } from '../../src/core/graph/ir';
import { modelFingerprint } from '../../src/core/patterns/fingerprint';
import { newPatternSetId, type PatternSet } from '../../src/core/patterns/patternSet';
import { Rand, relErr } from './helpers/methodNets';

const H = 6, W = 6, C = 2, K = 3, F = 3; // input 6×6×2, conv 3×3 → 4×4×3, pool 2×2 → 2×2×3
const CH = H - K + 1, CW = W - K + 1, PH = CH / 2, PW = CW / 2;
const D1 = PH * PW * F, HID = 5, OUT = 3;

interface Net {
  g: Graph;
  conv: Float32Array; convB: Float32Array;
  d1: Float32Array; d1B: Float32Array;
  d2: Float32Array; d2B: Float32Array;
}

function makeNet(seed: number): Net {
  const r = new Rand(seed);
  const n = {
    conv: r.array(K * K * C * F, 0.4), convB: r.array(F, 0.1),
    d1: r.array(D1 * HID, 0.4), d1B: r.array(HID, 0.1),
    d2: r.array(HID * OUT, 0.5), d2B: r.array(OUT, 0.1),
  };
  const b = new GraphBuilder('pattern-oracle');
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [H, W, C] });
  x = b.add({ name: 'conv', op: 'conv2d', inputs: [x], attrs: { conv: { strides: [1, 1], padding: 'valid', dilations: [1, 1] } }, params: { kernel: { shape: [K, K, C, F], data: n.conv }, bias: { shape: [F], data: n.convB } } });
  x = b.add({ name: 'relu1', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  x = b.add({ name: 'pool', op: 'maxPool', inputs: [x], attrs: { pool: { poolSize: [2, 2], strides: [2, 2], padding: 'valid' } } });
  x = b.add({ name: 'flat', op: 'flatten', inputs: [x] });
  x = b.add({ name: 'd1', op: 'dense', inputs: [x], params: { kernel: { shape: [D1, HID], data: n.d1 }, bias: { shape: [HID], data: n.d1B } } });
  x = b.add({ name: 'relu2', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  x = b.add({ name: 'd2', op: 'dense', inputs: [x], params: { kernel: { shape: [HID, OUT], data: n.d2 }, bias: { shape: [OUT], data: n.d2B } } });
  return { g: b.build('pattern-oracle', 'test', x), ...n };
}

type Patterns = Record<'conv' | 'd1' | 'd2', { linear: Float32Array; relu?: Float32Array }>;

function makePatterns(seed: number): Patterns {
  const r = new Rand(seed);
  return {
    conv: { linear: r.array(K * K * C * F, 0.5), relu: r.array(K * K * C * F, 0.5) },
    d1: { linear: r.array(D1 * HID, 0.5), relu: r.array(D1 * HID, 0.5) },
    d2: { linear: r.array(HID * OUT, 0.5) },
  };
}

function patternSet(net: Net, p: Patterns): PatternSet {
  const layer = (name: 'conv' | 'd1' | 'd2', op: 'conv2d' | 'dense', kernelShape: number[]) => ({
    name, op, kernelShape, regime: p[name].relu ? 'relu' as const : 'linear' as const, linear: p[name].linear, ...(p[name].relu ? { relu: p[name].relu } : {}),
  });
  return {
    id: newPatternSetId(), fingerprint: modelFingerprint(net.g), modelName: net.g.name, images: { fit: 0, heldOut: 0 },
    layers: [layer('conv', 'conv2d', [K, K, C, F]), layer('d1', 'dense', [D1, HID]), layer('d2', 'dense', [HID, OUT])],
  };
}

/** The whole method in float64 loops: forward, then the backward pass with A or W∘A. */
function reference(net: Net, p: Patterns, x: Float32Array, variant: 'net' | 'attribution', type: 'relu' | 'linear'): { rel: Float64Array; target: number } {
  const kern = (w: Float32Array, name: keyof Patterns): Float64Array => {
    const a = type === 'relu' && p[name].relu ? p[name].relu! : p[name].linear;
    return Float64Array.from(w, (wi, i) => (variant === 'net' ? a[i] : wi * a[i]));
  };
  // forward
  const z1 = new Float64Array(CH * CW * F);
  for (let y = 0; y < CH; y++) for (let xx = 0; xx < CW; xx++) for (let o = 0; o < F; o++) {
    let s = net.convB[o];
    for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) for (let c = 0; c < C; c++) s += x[((y + i) * W + xx + j) * C + c] * net.conv[((i * K + j) * C + c) * F + o];
    z1[(y * CW + xx) * F + o] = s;
  }
  const a1 = z1.map((v) => Math.max(0, v));
  const pooled = new Float64Array(D1);
  const winner = new Int32Array(D1);
  for (let y = 0; y < PH; y++) for (let xx = 0; xx < PW; xx++) for (let o = 0; o < F; o++) {
    let best = -Infinity;
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
      const at = ((2 * y + i) * CW + 2 * xx + j) * F + o;
      if (a1[at] > best) {
        best = a1[at];
        winner[(y * PW + xx) * F + o] = at;
      }
    }
    pooled[(y * PW + xx) * F + o] = best;
  }
  const z2 = new Float64Array(HID);
  for (let k = 0; k < HID; k++) {
    z2[k] = net.d1B[k];
    for (let j = 0; j < D1; j++) z2[k] += pooled[j] * net.d1[j * HID + k];
  }
  const a2 = z2.map((v) => Math.max(0, v));
  const logits = new Float64Array(OUT);
  for (let k = 0; k < OUT; k++) {
    logits[k] = net.d2B[k];
    for (let j = 0; j < HID; j++) logits[k] += a2[j] * net.d2[j * OUT + k];
  }
  let target = 0;
  for (let k = 1; k < OUT; k++) if (logits[k] > logits[target]) target = k;
  // backward from the logit
  const k2 = kern(net.d2, 'd2');
  const s2 = new Float64Array(HID);
  for (let j = 0; j < HID; j++) s2[j] = k2[j * OUT + target] * logits[target] * (z2[j] > 0 ? 1 : 0);
  const k1 = kern(net.d1, 'd1');
  const sPool = new Float64Array(D1);
  for (let j = 0; j < D1; j++) for (let k = 0; k < HID; k++) sPool[j] += k1[j * HID + k] * s2[k];
  const s1 = new Float64Array(CH * CW * F);
  for (let j = 0; j < D1; j++) s1[winner[j]] += sPool[j];
  for (let i = 0; i < s1.length; i++) if (!(z1[i] > 0)) s1[i] = 0;
  const kc = kern(net.conv, 'conv');
  const rel = new Float64Array(H * W * C);
  for (let y = 0; y < CH; y++) for (let xx = 0; xx < CW; xx++) for (let o = 0; o < F; o++) {
    const s = s1[(y * CW + xx) * F + o];
    if (s === 0) continue;
    for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) for (let c = 0; c < C; c++) rel[((y + i) * W + xx + j) * C + c] += kc[((i * K + j) * C + c) * F + o] * s;
  }
  return { rel, target };
}

test('PatternNet and PatternAttribution equal a float64 re-implementation on a conv/pool/dense ReLU net (arbitrary patterns)', async () => {
  await initBackend('cpu');
  let compared = 0;
  for (const seed of [1, 2, 3]) {
    const net = makeNet(100 + seed);
    const p = makePatterns(200 + seed);
    const ps = patternSet(net, p);
    const ex = new Explainer(net.g);
    try {
      for (let draw = 0; draw < 3; draw++) {
        const x = new Rand(300 + 10 * seed + draw).uniform(H * W * C, -1, 1);
        for (const variant of ['net', 'attribution'] as const) {
          for (const type of ['relu', 'linear'] as const) {
            const ref = reference(net, p, x, variant, type);
            const got = ex.explain({ shape: [H, W, C], data: x }, { method: variant === 'net' ? 'pattern-net' : 'pattern-attribution', patterns: ps, patternType: type });
            assert.equal(got.target.class, ref.target);
            if (ref.rel.every((v) => v === 0)) continue; // every ReLU path of the target closed: nothing to compare
            const e = relErr(got.relevance.data, ref.rel);
            assert.ok(e < 1e-5, `seed ${seed}, draw ${draw}, ${variant}/${type}: relative error ${e}`);
            compared++;
          }
        }
      }
    } finally {
      ex.dispose();
    }
  }
  console.log(`pattern methods vs float64 reference: ${compared} maps compared`);
  assert.ok(compared >= 24, `only ${compared} non-zero maps compared`);
});

test('control: the reference tells the methods apart (PatternAttribution ≠ PatternNet ≠ the regimes swapped)', () => {
  const net = makeNet(101);
  const p = makePatterns(201);
  const x = new Rand(311).uniform(H * W * C, -1, 1);
  const pa = reference(net, p, x, 'attribution', 'relu').rel;
  assert.ok(relErr(reference(net, p, x, 'net', 'relu').rel, pa) > 0.1);
  assert.ok(relErr(reference(net, p, x, 'attribution', 'linear').rel, pa) > 0.1);
});
