/**
 * PatternNet and PatternAttribution on a transformer (issue 9, item 4): the oracle's random block (class
 * token, position embedding, LayerNorms, two-head attention, GELU MLP, residuals) against the float64
 * signal oracle (oracle/transformerSignal.ts), with arbitrary patterns so the check covers the propagation
 * through every transformer op; the patterns' statistics of dense layers over tokens (every token of every
 * image a row; GELU's positive regime as the mask) and of ρ's token subset against float64 brute force.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import { PreparedGraph } from '../../src/core/engine/prepared';
import { forward } from '../../src/core/engine/forward';
import { patternLayers } from '../../src/core/patterns/layers';
import { batchJointMoments, batchMoments, rhoPlan } from '../../src/core/patterns/collect';
import { modelFingerprint } from '../../src/core/patterns/fingerprint';
import { newPatternSetId, type PatternSet } from '../../src/core/patterns/patternSet';
import { blockForward, randomBlock, type BlockWeights, type Mat } from './oracle/transformer';
import { blockGraph, f32, maxDiff } from './oracle/transformerGraph';
import { blockSignal, type DenseName, type SignalFault } from './oracle/transformerSignal';
import { maxRel, momentsOf } from './helpers/patternStats';
import { Rand } from './helpers/methodNets';

const TOL = 1e-5;
const DENSE: Record<DenseName, string> = { wq: 'wq', wk: 'wk', wv: 'wv', wo: 'wo', w1: 'w1', w2: 'w2', wh: 'head' };

before(async () => {
  await initBackend('cpu');
});

function tokensOf(w: BlockWeights, seed: number): Mat {
  const r = new Rand(seed);
  return Array.from({ length: w.T }, () => Array.from(r.array(w.D, 1, 0)));
}

function weights(w: BlockWeights, name: DenseName): Mat {
  return w[name];
}

/** Seeded patterns for every dense layer; w1 (GELU after it) also has a two-regime pattern. */
function arbitraryPatterns(w: BlockWeights, seed: number): { ps: PatternSet; linear: Record<DenseName, Mat>; relu: Mat } {
  const r = new Rand(seed);
  const like = (m: Mat): Mat => m.map((row) => Array.from(r.array(row.length, 0.5, 0)));
  const linear = Object.fromEntries((Object.keys(DENSE) as DenseName[]).map((n) => [n, like(weights(w, n))])) as Record<DenseName, Mat>;
  const relu = like(w.w1);
  const g = blockGraph(w);
  const ps: PatternSet = {
    id: newPatternSetId(), fingerprint: modelFingerprint(g), modelName: g.name, images: { fit: 0, heldOut: 0 },
    layers: (Object.keys(DENSE) as DenseName[]).map((n) => ({
      name: DENSE[n], op: 'dense' as const, kernelShape: [weights(w, n).length, weights(w, n)[0].length],
      regime: n === 'w1' ? 'relu' as const : 'linear' as const, linear: f32(linear[n]), ...(n === 'w1' ? { relu: f32(relu) } : {}),
    })),
  };
  return { ps, linear, relu };
}

/** The oracle's kernel of each layer's transposed map, from the float32 values the engine holds. */
function kernels(w: BlockWeights, p: ReturnType<typeof arbitraryPatterns>, variant: 'net' | 'attribution', type: 'relu' | 'linear'): (n: DenseName) => Mat {
  const r32 = (v: number) => Math.fround(v);
  return (n) => {
    const a = n === 'w1' && type === 'relu' ? p.relu : p.linear[n];
    return a.map((row, i) => row.map((v, j) => (variant === 'net' ? r32(v) : r32(weights(w, n)[i][j]) * r32(v))));
  };
}

test('transformer block: PatternNet and PatternAttribution equal the float64 signal oracle (arbitrary patterns, both pattern types)', () => {
  for (const seed of [3, 11, 29]) {
    const w = randomBlock(seed);
    const g = blockGraph(w);
    assert.deepEqual(patternLayers(g).map((s) => `${s.node.name}:${s.regime}:${s.positions}`),
      ['wq:linear:5', 'wk:linear:5', 'wv:linear:5', 'wo:linear:5', 'w1:relu:5', 'w2:linear:5', 'head:linear:1']);
    const tokens = tokensOf(w, seed + 1);
    const f = blockForward(w, tokens);
    const p = arbitraryPatterns(w, seed + 2);
    const ex = new Explainer(g);
    try {
      for (const method of ['pattern-net', 'pattern-attribution'] as const) {
        for (const type of ['relu', 'linear'] as const) {
          const r = ex.explain({ shape: [1, w.T, w.D], data: f32(tokens) }, { method, patterns: p.ps, patternType: type });
          const target = r.target.class;
          assert.equal(target, f.logits.indexOf(Math.max(...f.logits)));
          const want = blockSignal(w, f, target, f.logits[target], kernels(w, p, method === 'pattern-net' ? 'net' : 'attribution', type));
          const { diff, scale } = maxDiff(r.relevance.data, want.flat());
          assert.ok(scale > 1e-3, `seed ${seed}: the oracle's signal vanishes (${scale})`);
          assert.ok(diff <= TOL * scale, `seed ${seed} ${method} ${type}: max |engine − oracle| ${diff.toExponential(2)} > ${TOL} × ${scale.toExponential(2)}`);
          // the other pattern type's oracle is far: the two-regime pattern of w1 is used where asked only
          const other = blockSignal(w, f, target, f.logits[target], kernels(w, p, method === 'pattern-net' ? 'net' : 'attribution', type === 'relu' ? 'linear' : 'relu'));
          assert.ok(maxDiff(r.relevance.data, other.flat()).diff > 100 * TOL * scale, `seed ${seed} ${method} ${type}: the pattern types are not told apart`);
        }
      }
    } finally {
      ex.dispose();
    }
  }
});

test('transformer block: the gradient equals the signal oracle with the weights as kernels; each fault of the oracle is caught', () => {
  const w = randomBlock(3);
  const tokens = tokensOf(w, 4);
  const f = blockForward(w, tokens);
  const ex = new Explainer(blockGraph(w));
  try {
    const r = ex.explain({ shape: [1, w.T, w.D], data: f32(tokens) }, { method: 'gradient' });
    const target = r.target.class;
    const asW = (n: DenseName) => weights(w, n).map((row) => row.map(Math.fround));
    const { diff, scale } = maxDiff(r.relevance.data, blockSignal(w, f, target, 1, asW).flat());
    assert.ok(scale > 1e-3 && diff <= TOL * scale, `gradient: ${diff.toExponential(2)} of ${scale.toExponential(2)}`);
    const pa = arbitraryPatterns(w, 5);
    const pr = ex.explain({ shape: [1, w.T, w.D], data: f32(tokens) }, { method: 'pattern-attribution', patterns: pa.ps });
    const k = kernels(w, pa, 'attribution', 'relu');
    const exact = maxDiff(pr.relevance.data, blockSignal(w, f, target, f.logits[target], k).flat());
    assert.ok(exact.diff <= TOL * exact.scale);
    for (const fault of ['ln-no-variance-term', 'softmax-no-centering', 'gelu-as-relu-mask'] as SignalFault[]) {
      for (const [name, got, start, kern] of [['gradient', r, 1, asW], ['pattern-attribution', pr, f.logits[target], k]] as const) {
        const d = maxDiff(got.relevance.data, blockSignal(w, f, target, start, kern, fault).flat());
        assert.ok(d.diff > 100 * TOL * d.scale, `${name}: fault ${fault} not caught (${d.diff.toExponential(2)} of ${d.scale.toExponential(2)})`);
      }
    }
  } finally {
    ex.dispose();
  }
});

/** Rows of a dense layer over tokens: every token of every image; y = wᵀx without bias; mask y + b > 0. */
function tokenRows(x: tf.Tensor, kernel: Float32Array, bias: Float32Array | undefined, k: number): { x: number[][]; y: number[][]; mask: number[][] } {
  const d = kernel.length / k;
  const flat = Array.from(x.dataSync());
  const rows: number[][] = [];
  for (let i = 0; i < flat.length; i += d) rows.push(flat.slice(i, i + d));
  const y = rows.map((row) => Array.from({ length: k }, (_, j) => row.reduce((s, v, i) => s + v * kernel[i * k + j], 0)));
  return { x: rows, y, mask: y.map((row) => row.map((v, j) => (v + (bias?.[j] ?? 0) > 0 ? 1 : 0))) };
}

/** The block's forward values for a batch of N seeded token inputs (every node's output; dispose when done). */
function blockBatch(seed: number, N: number): { w: BlockWeights; g: ReturnType<typeof blockGraph>; prep: PreparedGraph; acts: tf.Tensor[]; dispose: () => void } {
  const w = randomBlock(seed);
  const g = blockGraph(w);
  const prep = new PreparedGraph(g);
  const x = tf.tensor3d(new Rand(seed + 1).array(N * w.T * w.D, 1, 0), [N, w.T, w.D]);
  const acts = forward(prep, x as unknown as tf.Tensor4D);
  return { w, g, prep, acts, dispose: () => { acts.forEach((a) => a.dispose()); x.dispose(); prep.dispose(); } };
}

test('pattern statistics of dense layers over tokens (and of the class-token head) equal a float64 brute force over every token row', () => {
  const N = 3;
  const { g, prep, acts, dispose } = blockBatch(11, N);
  try {
    for (const spec of patternLayers(g)) {
      const t = { x: acts[spec.node.inputs[0]], z: acts[spec.node.id], ...(spec.actId !== undefined ? { act: acts[spec.actId] } : {}) };
      const got = batchMoments(prep, spec, t);
      const br = tokenRows(t.x, spec.node.params.kernel!.data, spec.node.params.bias?.data, spec.k);
      assert.equal(br.x.length, N * spec.positions, spec.node.name);
      const wantAll = momentsOf(br.x, br.y, undefined);
      const wantPlus = spec.regime === 'relu' ? momentsOf(br.x, br.y, br.mask) : undefined;
      assert.equal(!!got.plus, !!wantPlus, spec.node.name);
      for (const f of ['count', 'my', 'cyy', 'mx', 'cxy'] as const) {
        const e = maxRel(got.all[f], wantAll[f]);
        assert.ok(e < 2e-5, `${spec.node.name} all.${f}: ${e}`);
        if (wantPlus) assert.ok(maxRel(got.plus![f], wantPlus[f]) < 2e-5, `${spec.node.name} plus.${f}`);
      }
      // GELU's positive regime: the mask selects a strict subset of the rows, per neuron
      if (wantPlus) assert.ok(wantPlus.count.some((c) => c > 0 && c < N * spec.positions), 'the mask selects a subset');
    }
  } finally {
    dispose();
  }
});

test('ρ\'s held-out statistics of a dense layer over tokens read the plan\'s token subset (float64 brute force)', () => {
  const N = 4;
  const { g, prep, acts, dispose } = blockBatch(29, N);
  try {
    const spec = patternLayers(g).find((s) => s.node.name === 'w1')!;
    const plan = rhoPlan(spec, 3, 2, 7);
    assert.equal(plan.positions.length, 2);
    assert.ok(plan.positions.every((p) => p >= 0 && p < spec.positions));
    const t = { x: acts[spec.node.inputs[0]], z: acts[spec.node.id], act: acts[spec.actId!] };
    const [jm] = batchJointMoments(prep, spec, plan, t);
    const all = tokenRows(t.x, spec.node.params.kernel!.data, spec.node.params.bias?.data, spec.k);
    // image n, token p is row n·positions + p
    const pick = (m: number[][]) => Array.from({ length: N }, (_, n) => plan.positions.map((p) => m[n * spec.positions + p])).flat();
    const xs = pick(all.x);
    const ys = pick(all.y).map((row) => plan.neurons.map((j) => row[j]));
    const ms = pick(all.mask).map((row) => plan.neurons.map((j) => row[j]));
    const ps = ys.map((row, r) => row.map((v, j) => v * ms[r][j]));
    const qs = ys.map((row, r) => row.map((v, j) => v * (1 - ms[r][j])));
    const mean = (m: number[][]) => m[0].map((_, i) => m.reduce((s, row) => s + row[i], 0) / m.length);
    const co = (a: number[][], b: number[][]) => {
      const ma = mean(a);
      const mb = mean(b);
      return a[0].flatMap((_, i) => b[0].map((__, j) => a.reduce((s, _r, r) => s + (a[r][i] - ma[i]) * (b[r][j] - mb[j]), 0)));
    };
    const diag = (a: number[][], b: number[][]) => co(a, b).filter((_, idx) => Math.floor(idx / a[0].length) === idx % a[0].length);
    assert.equal(jm.n, N * 2);
    const want: Record<string, number[]> = {
      mx: mean(xs), mp: mean(ps), mq: mean(qs), cxx: co(xs, xs), cxp: co(xs, ps), cxq: co(xs, qs),
      cpp: diag(ps, ps), cqq: diag(qs, qs), cpq: diag(ps, qs),
    };
    for (const [f, v] of Object.entries(want)) assert.ok(maxRel(jm[f as keyof typeof want & keyof typeof jm] as Float64Array, v) < 2e-5, `ρ ${f}: ${maxRel(jm[f as 'mx'], v)}`);
  } finally {
    dispose();
  }
});
