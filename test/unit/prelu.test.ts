/**
 * The prelu op (ONNX PRelu: a slope per channel for x < 0) against a dense re-implementation written
 * here: forward, gradient, guided backprop, deconvnet and LRP-0 of a tiny net with a prelu on an image
 * and one on a vector, on the wasm engine and compiled to ONNX. (The ONNX loader's PRelu is checked
 * against PyTorch by loaders_fixtures' small_prelu.)
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GraphBuilder } from '../../src/core/graph/builder';
import type { Graph } from '../../src/core/graph/ir';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import { OnnxExplainer } from '../../src/core/onnx/onnxExplainer';
import type { ExplainOptions } from '../../src/core/methods/types';
import { Rand } from './helpers/methodNets';

const SLOPE1 = [0.5, -0.25, 2];
const SLOPE2 = [0.1, -1, 0];
const H = 2, W = 2, C = 3, D = 3, K = 2;

function weights(): { w1: Float32Array; b1: Float32Array; w2: Float32Array; b2: Float32Array } {
  const r = new Rand(11);
  return { w1: r.array(H * W * C * D, 0.5), b1: r.array(D, 0.1), w2: r.array(D * K, 0.7), b2: r.array(K, 0.1) };
}

function net(): Graph {
  const { w1, b1, w2, b2 } = weights();
  const b = new GraphBuilder('prelu');
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [H, W, C] });
  x = b.add({ name: 'p1', op: 'prelu', inputs: [x], params: { slope: { shape: [C], data: Float32Array.from(SLOPE1) } } });
  x = b.add({ name: 'flat', op: 'flatten', inputs: [x] });
  x = b.add({ name: 'd1', op: 'dense', inputs: [x], params: { kernel: { shape: [H * W * C, D], data: w1 }, bias: { shape: [D], data: b1 } } });
  x = b.add({ name: 'p2', op: 'prelu', inputs: [x], params: { slope: { shape: [D], data: Float32Array.from(SLOPE2) } } });
  x = b.add({ name: 'd2', op: 'dense', inputs: [x], params: { kernel: { shape: [D, K], data: w2 }, bias: { shape: [K], data: b2 } } });
  return b.build('prelu', 'test', x);
}

type Rule = 'gradient' | 'guided' | 'deconvnet' | 'lrp0';

/** The oracle: loops over the flat NHWC input (channel = index mod C). */
function oracle(x: Float32Array, target: number, rule: Rule): { logits: number[]; out: number[] } {
  const { w1, b1, w2, b2 } = weights();
  const n = H * W * C;
  const a1 = Array.from(x, (v, i) => (v > 0 ? v : SLOPE1[i % C] * v));
  const z1 = Array.from({ length: D }, (_, j) => b1[j] + a1.reduce((s, a, i) => s + a * w1[i * D + j], 0));
  const a2 = z1.map((v, j) => (v > 0 ? v : SLOPE2[j] * v));
  const z2 = Array.from({ length: K }, (_, k) => b2[k] + a2.reduce((s, a, j) => s + a * w2[j * K + k], 0));
  // backward of one prelu unit under the rule (LRP passes relevance through)
  const back = (s: number, xin: number, slope: number): number => {
    if (rule === 'lrp0') return s;
    if (rule === 'deconvnet') return s > 0 ? s : slope * s;
    const g = xin > 0 ? s : slope * s;
    return rule === 'guided' ? Math.max(g, 0) : g;
  };
  let r2: number[];
  if (rule === 'lrp0') r2 = a2.map((a, j) => (a * w2[j * K + target] / z2[target]) * z2[target]);
  else r2 = a2.map((_, j) => w2[j * K + target]);
  const s1 = r2.map((s, j) => back(s, z1[j], SLOPE2[j]));
  const r1 = Array.from({ length: n }, (_, i) => {
    if (rule === 'lrp0') return a1[i] * s1.reduce((s, r, j) => s + (w1[i * D + j] / z1[j]) * r, 0);
    return s1.reduce((s, g, j) => s + w1[i * D + j] * g, 0);
  });
  return { logits: z2, out: r1.map((s, i) => back(s, x[i], SLOPE1[i % C])) };
}

const CASES: [Rule, ExplainOptions][] = [
  ['gradient', { method: 'gradient' }],
  ['guided', { method: 'guided-backprop' }],
  ['deconvnet', { method: 'deconvnet' }],
  ['lrp0', { method: 'lrp', composite: 'lrp-0' }],
];

test('prelu: forward, gradient, guided, deconvnet and LRP-0 as the dense oracle, on wasm and compiled to ONNX', async () => {
  await initBackend('wasm');
  const g = net();
  const w = new Explainer(g);
  const o = new OnnxExplainer(g);
  try {
    for (const seed of [1, 2, 3]) {
      const input = { shape: [H, W, C], data: new Rand(seed).array(H * W * C, 1) };
      // both signs reach both prelus, or the slopes are not exercised
      assert.ok(input.data.some((v) => v < 0) && input.data.some((v) => v > 0));
      for (const target of [0, 1]) {
        for (const [rule, opts] of CASES) {
          const want = oracle(input.data, target, rule);
          for (const [backend, r] of [['wasm', w.explain(input, { ...opts, targetClass: target })], ['onnx', await o.explain(input, { ...opts, targetClass: target })]] as const) {
            const what = `${backend} ${rule} seed ${seed} class ${target}`;
            if (backend === 'onnx') assert.equal(r.backend, 'onnx', `${what}: ${r.backendReason}`);
            assert.ok(Math.abs(r.target.logit - want.logits[target]) <= 1e-5 * Math.max(1, Math.abs(want.logits[target])), `${what}: logit`);
            const scale = Math.max(...want.out.map(Math.abs));
            assert.ok(scale > 0, what);
            want.out.forEach((v, i) => assert.ok(Math.abs(r.relevance.data[i] - v) <= 1e-4 * scale, `${what}: [${i}] ${r.relevance.data[i]} vs ${v}`));
          }
        }
      }
    }
  } finally {
    w.dispose();
    await o.dispose();
  }
});

test('prelu refuses a slope that is not one value per channel', () => {
  const b = new GraphBuilder('bad.onnx');
  const x = b.add({ name: 'input', op: 'input', inputs: [], shape: [2, 2, 3] });
  assert.throws(() => b.add({ name: 'p', op: 'prelu', inputs: [x], params: { slope: { shape: [2], data: new Float32Array(2) } } }),
    /slope \[2\] is not one value per channel of \[2, 2, 3\]/);
});
