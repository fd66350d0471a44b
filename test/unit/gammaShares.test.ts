/**
 * The γ and αβ rules' bias and stabilizer shares where they are not negligible: output units whose z is ~1e-5
 * (one in the up branch, one in the down branch) take relevance from a w² layer above (which does not
 * scale it by their tiny activation), so the stabilizer ε = 1e-6 takes ~8 % of their relevance. Both
 * backends against a float64 re-implementation of the rule written here, as a dense layer and as a 1×1
 * convolution (the compiled path's two layouts).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer, type ExplainOutput } from '../../src/core/methods/explain';
import { OnnxExplainer } from '../../src/core/onnx/onnxExplainer';
import { ortStatus } from '../../src/core/onnx/runtime';
import { GraphBuilder } from '../../src/core/graph/builder';
import { STABILIZER } from '../../src/core/rules/resolved';
import type { Graph } from '../../src/core/graph/ir';

const GAMMA = 0.25;
const X = [1, 1, 0.5, 2];
// [in][out]: unit 0 z = 1e-5 (up), unit 1 z = −1e-5 (down), unit 2 ordinary
const W = [
  [1e-5, 0, 0.3],
  [0, -1e-5, -0.2],
  [0, 0, 0.5],
  [0, 0, 0.1],
];
const B = [0, 0, 0.1];
const TOP = [[0.7, -0.4], [0.9, 0.3], [-0.6, 0.8]]; // [3][2]

function net(conv: boolean): Graph {
  const b = new GraphBuilder('gamma-shares');
  const x = b.add({ name: 'input', op: 'input', inputs: [], shape: [1, 1, 4] });
  // a ReLU makes the γ layer's input known non-negative (the branches' one-signal form)
  const r0 = b.add({ name: 'relu', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  const r = conv ? r0 : b.add({ name: 'flat0', op: 'flatten', inputs: [r0] });
  const kernel = { shape: conv ? [1, 1, 4, 3] : [4, 3], data: Float32Array.from(W.flat()) };
  const bias = { shape: [3], data: Float32Array.from(B) };
  const g = conv
    ? b.add({ name: 'gamma', op: 'conv2d', inputs: [r], attrs: { conv: { strides: [1, 1], padding: 'valid', dilations: [1, 1] } }, params: { kernel, bias } })
    : b.add({ name: 'gamma', op: 'dense', inputs: [r], params: { kernel, bias } });
  const flat = conv ? b.add({ name: 'flat', op: 'flatten', inputs: [g] }) : g;
  const out = b.add({ name: 'top', op: 'dense', inputs: [flat], params: { kernel: { shape: [3, 2], data: Float32Array.from(TOP.flat()) }, bias: { shape: [2], data: new Float32Array(2) } } });
  return b.build('gamma-shares', 'test', out);
}

const ALPHA = 2;
const BETA = 1;
const plus = (w: number): number => Math.max(w, 0);
const minus = (w: number): number => Math.min(w, 0);
/** z + ε·sign(z), sign(0) = +1 */
const stabilized = (z: number): number => z + (z >= 0 ? STABILIZER : -STABILIZER);

/** float64: the row of the γ (or α2β1) layer for class c: relevance at its input, its bias and stabilizer shares. */
function oracle(c: number, rule: 'gamma' | 'alpha-beta'): { out: number; input: number[]; bias: number; stab: number } {
  const z = B.map((b, j) => X.reduce((s, x, i) => s + x * W[i][j], b));
  const logit = z.reduce((s, v, j) => s + v * TOP[j][c], 0);
  const sq = TOP.map((row) => row[c] ** 2);
  const r = sq.map((v) => (v / sq.reduce((a, q) => a + q, 0)) * logit); // w² at the top
  const input = X.map(() => 0);
  let bias = 0;
  let stab = 0;
  if (rule === 'alpha-beta') {
    r.forEach((rj, j) => {
      for (const [f, weight, sign] of [[plus, ALPHA, 1], [minus, BETA, -1]] as const) {
        const zp = X.reduce((s, x, i) => s + x * f(W[i][j]), f(B[j]));
        const den = stabilized(zp);
        const sj = (weight * rj) / den;
        X.forEach((x, i) => (input[i] += sign * x * f(W[i][j]) * sj));
        bias += sign * sj * f(B[j]);
        stab += sign * sj * (den - zp);
      }
    });
    return { out: r.reduce((a, v) => a + v, 0), input, bias, stab };
  }
  z.forEach((zj, j) => {
    const up = zj >= 0;
    const part = (w: number): number => (up ? Math.max(w, 0) : Math.min(w, 0));
    const bj = B[j] + GAMMA * part(B[j]);
    const zg = X.reduce((s, x, i) => s + x * (W[i][j] + GAMMA * part(W[i][j])), bj);
    const eps = up ? STABILIZER : -STABILIZER;
    const s = r[j] / (zg + eps);
    X.forEach((x, i) => (input[i] += x * (W[i][j] + GAMMA * part(W[i][j])) * s));
    bias += s * bj;
    stab += s * eps;
  });
  return { out: r.reduce((a, v) => a + v, 0), input, bias, stab };
}

function rowOf(o: ExplainOutput) {
  const row = o.layers.find((l) => l.name === 'gamma');
  assert.ok(row, 'no row for the γ layer');
  return row;
}

for (const [conv, rule] of [[false, 'gamma'], [true, 'gamma'], [false, 'alpha-beta'], [true, 'alpha-beta']] as const) {
  test(`${rule} shares with z ~ 1e-5 in both branches (${conv ? '1×1 conv' : 'dense'}): wasm and onnx against float64`, async () => {
    await initBackend('wasm');
    const g = net(conv);
    const input = { shape: [1, 1, 4], data: Float32Array.from(X) };
    const opts = {
      method: 'lrp' as const, composite: 'epsilon', conservationDetail: true, targetClass: 0,
      rules: { gamma: rule === 'gamma' ? { rule, gamma: GAMMA } : { rule, alpha: ALPHA, beta: BETA }, top: { rule: 'w-square' as const } },
    };
    const want = oracle(0, rule);
    // the stabilizer's share is not negligible here: a wrong one shows
    assert.ok(Math.abs(want.stab) > 0.05 * Math.abs(want.out), `oracle stab share ${want.stab} of ${want.out}`);
    const w = new Explainer(g);
    const outs: [string, ExplainOutput][] = [['wasm', w.explain(input, opts, { keepLayers: ['relu'] })]];
    const onnx = ortStatus().available ? new OnnxExplainer(g) : undefined;
    assert.ok(onnx, ortStatus().reason);
    outs.push(['onnx', await onnx.explain(input, opts, { keepLayers: ['relu'] })]);
    for (const [name, o] of outs) {
      const row = rowOf(o);
      const close = (got: number | undefined, exp: number, what: string): void => {
        assert.ok(got !== undefined && Math.abs(got - exp) <= 1e-4 * Math.abs(want.out), `${name} ${what}: ${got} vs float64 ${exp}`);
      };
      close(row.outputRelevanceSum, want.out, 'R at output');
      close(row.inputRelevanceSum, want.input.reduce((a, v) => a + v, 0), 'R to input');
      close(row.biasLeak, want.bias, 'bias share');
      close(row.stabilizerLeak, want.stab, 'stabilizer share');
      const kept = o.layerRelevance?.relu;
      assert.ok(kept, `${name}: relevance at the γ layer's input not kept`);
      kept.data.forEach((v, i) => assert.ok(Math.abs(v - want.input[i]) <= 1e-4 * Math.abs(want.out), `${name} R_in[${i}] ${v} vs ${want.input[i]}`));
    }
    w.dispose();
    await onnx.dispose();
  });
}
