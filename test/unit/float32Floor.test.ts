/**
 * A conservation row's float32 floor (protocol.ts roundingFloor / rowClosure): a dense layer built to cancel
 * under bias-free ε (one unit's z = Σ x·w is 2⁻¹⁴ against Σ|x·w| ≈ 2, the forward's z + b is not small) gives
 * an input relevance of terms ~10⁴ × larger than their sum. Both backends' Σ|R_in| and Σ|R_out| equal a float64
 * re-implementation of the two ε rules here; the row misses 1e-4 yet lies within its floor, and the same row
 * with its output sum moved by 1e-2 (a missing term) does not close. A plain small net's rows all close.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer, type ExplainOutput } from '../../src/core/methods/explain';
import { OnnxExplainer } from '../../src/core/onnx/onnxExplainer';
import { GraphBuilder } from '../../src/core/graph/builder';
import type { Graph } from '../../src/core/graph/ir';
import { sizeOf } from '../../src/core/graph/ir';
import type { ExplainOptions } from '../../src/core/methods/types';
import { roundingFloor, ROW_TOLERANCE, rowClosure, rowResidual, type ConservationRow } from '../../src/shared/protocol';
import { Rand, reluNet } from './helpers/methodNets';

const N_IN = 4;
const UNITS = 2;
const EPS = 1e-6;

/**
 * x (1×1×4, eighths in [1/8, 1]) → flatten → dense d1 (2 units, kernel in multiples of 2⁻¹¹, so every product and partial sum
 * is exact in float32: z is the same whatever order a backend sums in) → ReLU → dense d2 (3 logits). Unit 1's
 * last weight is solved so that its z is exactly 2⁻¹⁴; its bias 1 keeps it active in the forward.
 */
function cancellingNet(): { g: Graph; x: Float32Array; w1: Float32Array; b1: Float32Array; w2: Float32Array; b2: Float32Array } {
  const r = new Rand(17);
  const x = Float32Array.from({ length: N_IN }, () => (1 + Math.floor(r.next() * 8)) / 8);
  const w1 = new Float32Array(N_IN * UNITS);
  for (let i = 0; i < N_IN; i++) for (let j = 0; j < UNITS; j++) w1[i * UNITS + j] = Math.round((r.next() * 2 - 1) * 2048) / 2048;
  // unit 1: Σ_{i<last} x_i w_i1 + x_last w_last1 = 2⁻¹⁴ (x_last w_last1 a multiple of 2⁻¹⁴: exact)
  const last = N_IN - 1;
  x[last] = 1;
  let partial = 0;
  for (let i = 0; i < last; i++) partial += x[i] * w1[i * UNITS + 1];
  w1[last * UNITS + 1] = 2 ** -14 - partial;
  const b1 = Float32Array.from([0.25, 1]);
  const w2 = Float32Array.from([0.5, -0.25, 0.75, 0.5, 1.25, -0.5]);
  const b2 = Float32Array.from([0.1, 0, -0.1]);
  const b = new GraphBuilder('cancel');
  let n = b.add({ name: 'input', op: 'input', inputs: [], shape: [1, 1, N_IN] });
  n = b.add({ name: 'flat', op: 'flatten', inputs: [n] });
  n = b.add({ name: 'd1', op: 'dense', inputs: [n], params: { kernel: { shape: [N_IN, UNITS], data: w1 }, bias: { shape: [UNITS], data: b1 } } });
  n = b.add({ name: 'r1', op: 'activation', inputs: [n], attrs: { activation: 'relu' } });
  const out = b.add({ name: 'd2', op: 'dense', inputs: [n], params: { kernel: { shape: [UNITS, 3], data: w2 }, bias: { shape: [3], data: b2 } } });
  return { g: b.build('cancel', 'test', out), x, w1, b1, w2, b2 };
}

/** Bias-free ε in float64: R_in = a ⊙ W (R / (aW ± ε)). */
function epsilonRule(a: number[], w: Float32Array, cols: number, r: number[]): number[] {
  const s = r.map((rk, k) => {
    let z = 0;
    for (let i = 0; i < a.length; i++) z += a[i] * w[i * cols + k];
    return rk / (z < 0 ? z - EPS : z + EPS);
  });
  return a.map((ai, i) => ai * s.reduce((acc, sk, k) => acc + w[i * cols + k] * sk, 0));
}

/** The float64 oracle: the target class and, per dense layer, Σ|R| at its output and its input. */
function oracle(net: ReturnType<typeof cancellingNet>): { target: number; d1: { outAbs: number; inAbs: number; in: number }; d2: { outAbs: number; inAbs: number } } {
  const x = Array.from(net.x);
  const h = Array.from({ length: UNITS }, (_, j) => Math.max(0, x.reduce((acc, xi, i) => acc + xi * net.w1[i * UNITS + j], net.b1[j])));
  const logits = [0, 1, 2].map((k) => h.reduce((acc, hj, j) => acc + hj * net.w2[j * 3 + k], net.b2[k]));
  const target = logits.indexOf(Math.max(...logits));
  const r2 = logits.map((v, k) => (k === target ? v : 0));
  const r1 = epsilonRule(h, net.w2, 3, r2);
  const r0 = epsilonRule(x, net.w1, UNITS, r1);
  const abs = (v: number[]): number => v.reduce((acc, t) => acc + Math.abs(t), 0);
  return { target, d1: { outAbs: abs(r1), inAbs: abs(r0), in: r0.reduce((a, b) => a + b, 0) }, d2: { outAbs: abs(r2), inAbs: abs(r1) } };
}

const BIAS_FREE: ExplainOptions = {
  method: 'lrp', composite: 'epsilon', rules: { d1: { rule: 'epsilon', bias: false }, d2: { rule: 'epsilon', bias: false } },
  params: { epsilon: EPS }, conservationDetail: true,
};

const rowOf = (r: ExplainOutput, name: string): ConservationRow => r.layers.find((l) => l.name === name)!;

test('float32 floor: Σ|R_in|, Σ|R_out| of both backends equal a float64 oracle; the cancelling row is within its floor, a missing term is not', async (t) => {
  await initBackend('wasm');
  const net = cancellingNet();
  const want = oracle(net);
  // the layer does cancel: terms ~10⁴ × their sum, so 1e-4 is out of float32's reach there
  assert.ok(want.d1.inAbs / Math.abs(want.d1.in) > 5e3, `cancellation ${want.d1.inAbs / Math.abs(want.d1.in)}`);
  const input = { shape: [1, 1, N_IN], data: net.x };
  const w = new Explainer(net.g);
  const o = new OnnxExplainer(net.g);
  // the extension's explainer: after another rule on this image, the universal backward-only graph
  const u = new OnnxExplainer(net.g, { universal: true });
  try {
    await u.explain(input, { ...BIAS_FREE, rules: { d1: { rule: 'z-plus' }, d2: { rule: 'epsilon', bias: false } } });
    const backwardOnly = await u.explain(input, BIAS_FREE);
    assert.equal(backwardOnly.timings.backwardOnly, 1);
    const runs = [['wasm', w.explain(input, BIAS_FREE)], ['onnx', await o.explain(input, BIAS_FREE)], ['onnx backward-only', backwardOnly]] as const;
    for (const [backend, r] of runs) {
      if ('backend' in r) assert.equal(r.backend, 'onnx', String(r.backendReason));
      assert.equal(r.target.class, want.target);
      for (const [name, ref] of [['d1', want.d1], ['d2', want.d2]] as const) {
        const row = rowOf(r, name);
        assert.ok(Math.abs(row.inputAbsSum! - ref.inAbs) <= 1e-5 * ref.inAbs, `${backend} ${name}: Σ|R_in| ${row.inputAbsSum} vs float64 ${ref.inAbs}`);
        assert.ok(Math.abs(row.outputAbsSum! - ref.outAbs) <= 1e-5 * ref.outAbs, `${backend} ${name}: Σ|R_out| ${row.outputAbsSum} vs float64 ${ref.outAbs}`);
      }
      const row = rowOf(r, 'd1');
      const scale = Math.max(Math.abs(row.outputRelevanceSum), Math.abs(row.inputRelevanceSum), Math.abs(row.stabilizerLeak ?? 0));
      const gap = Math.abs(rowResidual(row));
      const floor = roundingFloor(row)!;
      const what = `${backend} d1: gap ${gap.toExponential(2)} = ${(gap / scale).toExponential(2)} of the row, floor ${floor.toExponential(2)}`;
      t.diagnostic(`${what}, Σ|R_in| / |Σ R_in| ${(row.inputAbsSum! / Math.abs(row.inputRelevanceSum)).toExponential(2)}`);
      assert.ok(gap > ROW_TOLERANCE * scale, `${what}: closes to 1e-4, the case is not tested`);
      assert.equal(rowClosure(row, ROW_TOLERANCE), 'rounding', what);
      // a term the table misses (1e-2 of the row) is not mistaken for rounding
      const missing = { ...row, outputRelevanceSum: row.outputRelevanceSum * (1 + 1e-2) };
      assert.equal(rowClosure(missing, ROW_TOLERANCE), 'open', `${what}; out moved by 1e-2`);
      // without the absolute sums there is no floor: such a row does not close
      assert.equal(rowClosure({ ...row, inputAbsSum: undefined, outputAbsSum: undefined }, ROW_TOLERANCE), 'open');
    }
  } finally {
    w.dispose();
    await o.dispose();
    await u.dispose();
  }
});

test('float32 floor: every row of a small ReLU net closes to 1e-4 on both backends (with its absolute sums)', async () => {
  await initBackend('wasm');
  const g = reluNet();
  const shape = g.nodes[g.input].shape;
  const input = { shape, data: new Rand(3).array(sizeOf(shape), 1, 0) };
  const w = new Explainer(g);
  const o = new OnnxExplainer(g);
  try {
    for (const composite of ['epsilon-plus', 'lrp-0', 'alpha-beta']) {
      const opts: ExplainOptions = { method: 'lrp', composite, conservationDetail: true };
      for (const [backend, r] of [['wasm', w.explain(input, opts)], ['onnx', await o.explain(input, opts)]] as const) {
        assert.ok(r.layers.length >= 8);
        for (const row of r.layers) {
          assert.ok(row.inputAbsSum! >= Math.abs(row.inputRelevanceSum) * (1 - 1e-6) && row.outputAbsSum! >= Math.abs(row.outputRelevanceSum) * (1 - 1e-6),
            `${backend} ${composite} ${row.name}: Σ|R| below |Σ R|`);
          assert.equal(rowClosure(row, ROW_TOLERANCE), 'closes', `${backend} ${composite} ${row.name}: residual ${rowResidual(row)}`);
        }
      }
    }
    // the plain path (no conservation detail) leaves the absolute sums out
    assert.equal(w.explain(input, { method: 'lrp', composite: 'lrp-0' }).layers[0].inputAbsSum, undefined);
  } finally {
    w.dispose();
    await o.dispose();
  }
});

test('rowClosure: closes within the tolerance of its largest term, else within its floor, else open', () => {
  const base: ConservationRow = { name: 'l', op: 'dense', rule: 'epsilon', outputRelevanceSum: 1, inputRelevanceSum: 0.9, ratio: 0.9, biasLeak: 0.06, stabilizerLeak: 0.04 };
  assert.equal(rowClosure(base, ROW_TOLERANCE), 'closes');
  const off = { ...base, inputRelevanceSum: 0.899 };
  assert.equal(rowClosure(off, ROW_TOLERANCE), 'open');
  // the floor: 4 · 2⁻²⁴ · (Σ|R_in| + Σ|R_out| + |shares|); a gap of 1e-3 needs terms of ~4.2e3
  const terms = (inAbs: number) => ({ ...off, inputAbsSum: inAbs, outputAbsSum: 1 });
  assert.equal(roundingFloor(terms(4000)), 4 * 2 ** -24 * (4000 + 1 + 0.1));
  assert.equal(rowClosure(terms(4000), ROW_TOLERANCE), 'open');
  assert.equal(rowClosure(terms(4400), ROW_TOLERANCE), 'rounding');
  // a tiny row measured against a larger scale (the zoo's 1e-3 of the logit)
  assert.equal(rowClosure({ ...off, outputRelevanceSum: 1e-3, inputRelevanceSum: 0.9e-3, biasLeak: 0, stabilizerLeak: 0 }, ROW_TOLERANCE, 1e3), 'closes');
});
