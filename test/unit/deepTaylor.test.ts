import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import type { Graph, ParamArray } from '../../src/core/graph/ir';
import { sizeOf } from '../../src/core/graph/ir';
import { GraphBuilder } from '../../src/core/graph/builder';
import type { ExplainOptions } from '../../src/core/methods/types';
import { param, Rand, relErr, reluNet } from './helpers/methodNets';
import { oracleLrp } from './oracle/oracle';
import type { RuleSpec } from '../../src/shared/ruleSpec';

function explain(g: Graph, data: Float32Array, opts: ExplainOptions) {
  const e = new Explainer(g);
  try {
    return e.explain({ shape: g.nodes[g.input].shape, data }, opts);
  } finally {
    e.dispose();
  }
}

/** flatten → dense → relu → dense → relu → dense: small enough for a float64 matrix reference. */
function denseNet(seed: number, bias: boolean): { g: Graph; layers: { w: ParamArray; b?: ParamArray }[] } {
  const r = new Rand(seed);
  const b = new GraphBuilder('dense');
  const sizes = [12, 8, 6, 3];
  const layers: { w: ParamArray; b?: ParamArray }[] = [];
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [2, 2, 3] });
  x = b.add({ name: 'flat', op: 'flatten', inputs: [x] });
  for (let i = 0; i < 3; i++) {
    const w = param(r, [sizes[i], sizes[i + 1]], sizes[i]);
    const bb: ParamArray | undefined = bias ? { shape: [sizes[i + 1]], data: r.array(sizes[i + 1], 0.1) } : undefined;
    layers.push({ w, b: bb });
    x = b.add({ name: `d${i + 1}`, op: 'dense', inputs: [x], params: bb ? { kernel: w, bias: bb } : { kernel: w } });
    if (i < 2) x = b.add({ name: `r${i + 1}`, op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  }
  return { g: b.build('dense', 'test', x), layers };
}

/** Float64 reference: z^B on the first layer, z⁺ without bias elsewhere, from max(0, f_c). */
function referenceBounded(layers: { w: ParamArray; b?: ParamArray }[], x: Float32Array, target: number, low: number, high: number): { rel: number[]; logit: number } {
  const acts: number[][] = [Array.from(x)];
  for (let l = 0; l < layers.length; l++) {
    const [nin, nout] = layers[l].w.shape;
    const a = acts[l];
    const z = new Array<number>(nout).fill(0);
    for (let k = 0; k < nout; k++) {
      for (let j = 0; j < nin; j++) z[k] += a[j] * layers[l].w.data[j * nout + k];
      z[k] += layers[l].b?.data[k] ?? 0;
    }
    acts.push(l < layers.length - 1 ? z.map((v) => Math.max(0, v)) : z);
  }
  const logit = acts[layers.length][target];
  let r = new Array<number>(acts[layers.length].length).fill(0);
  r[target] = Math.max(0, logit);
  for (let l = layers.length - 1; l >= 0; l--) {
    const [nin, nout] = layers[l].w.shape;
    const a = acts[l];
    const w = (j: number, k: number): number => layers[l].w.data[j * nout + k];
    const out = new Array<number>(nin).fill(0);
    for (let k = 0; k < nout; k++) {
      if (r[k] === 0) continue;
      if (l === 0) {
        let z = 0;
        for (let j = 0; j < nin; j++) z += a[j] * w(j, k) - low * Math.max(w(j, k), 0) - high * Math.min(w(j, k), 0);
        for (let j = 0; j < nin; j++) out[j] += ((a[j] * w(j, k) - low * Math.max(w(j, k), 0) - high * Math.min(w(j, k), 0)) / z) * r[k];
      } else {
        let z = 0;
        for (let j = 0; j < nin; j++) z += Math.max(a[j] * w(j, k), 0);
        if (z === 0) continue; // positive only through its bias: the relevance is absorbed
        for (let j = 0; j < nin; j++) out[j] += (Math.max(a[j] * w(j, k), 0) / z) * r[k];
      }
    }
    r = out;
  }
  return { rel: r, logit };
}

test('deep-taylor on a bias-free ReLU net conserves the positive logit exactly', async () => {
  await initBackend('cpu');
  const g = reluNet(3, { bias: false });
  let checked = 0;
  for (const seed of [1, 2, 3, 4, 5]) {
    const x = new Rand(seed).array(sizeOf(g.nodes[g.input].shape));
    for (const c of [0, 1, 2]) {
      const r = explain(g, x, { method: 'deep-taylor', targetClass: c });
      if (r.target.logit <= 0) {
        assert.equal(r.inputRelevanceSum, 0, 'a negative logit explains nothing');
        assert.ok(r.relevance.data.every((v) => v === 0));
        continue;
      }
      const err = Math.abs(r.inputRelevanceSum - r.target.logit) / r.target.logit;
      assert.ok(err < 1e-5, `seed ${seed} class ${c}: Σ R = ${r.inputRelevanceSum}, logit ${r.target.logit}`);
      for (const l of r.layers) assert.ok(Math.abs(l.ratio - 1) < 1e-5 || l.outputRelevanceSum === 0, `${l.name} ratio ${l.ratio}`);
      // inputs of both signs: z⁺ counts a⁻w⁻ as positive evidence too, so no relevance is negative
      assert.ok(r.relevance.data.every((v) => v >= 0));
      checked++;
    }
  }
  assert.ok(checked >= 5, `${checked} positive logits`);
  const d = denseNet(7, false);
  const x = new Rand(8).uniform(12, 0, 1);
  const r = explain(d.g, x, { method: 'deep-taylor' });
  // exact up to the 1e-6 stabilizer of each layer's denominator (this logit is small: 0.036)
  assert.ok(Math.abs(r.inputRelevanceSum - r.target.logit) < 1e-5 * r.target.logit + 1e-5, `dense: Σ R = ${r.inputRelevanceSum}, logit ${r.target.logit}`);
  assert.ok(r.relevance.data.every((v) => v >= 0), 'non-negative input, positive logit: positive relevance');
});

test('deep-taylor-bounded equals LRP with z^B first and z⁺ elsewhere, and a float64 reference', async () => {
  await initBackend('cpu');
  // bias-free conv net: LRP's composite z-plus (bias in the denominator is moot) with z-box first
  const g = reluNet(4, { bias: false });
  const x = new Rand(11).uniform(sizeOf(g.nodes[g.input].shape), -1, 1);
  const params = { low: -1, high: 1 };
  const dtb = explain(g, x, { method: 'deep-taylor-bounded', targetClass: 0, params });
  const lrp = explain(g, x, { method: 'lrp', composite: 'z-plus', rules: { c1: { rule: 'z-box' } }, targetClass: 0, params });
  assert.ok(dtb.target.logit > 0);
  assert.ok(relErr(dtb.relevance.data, lrp.relevance.data) < 1e-6, `vs LRP ${relErr(dtb.relevance.data, lrp.relevance.data)}`);
  assert.ok(Math.abs(dtb.inputRelevanceSum - dtb.target.logit) < 1e-4 * dtb.target.logit, 'z^B is exactly conservative');
  assert.equal(dtb.rules.c1, 'deep-taylor:bounded');
  assert.equal(dtb.rules.c2, 'deep-taylor:lrp');
  // with biases: DTD's z⁺ ignores them, like LRP's z-plus:nobias
  const gb = reluNet(5, { bias: true });
  const a = explain(gb, x, { method: 'deep-taylor-bounded', targetClass: 1, params });
  const rules = { c1: { rule: 'z-box' as const }, c2: { rule: 'z-plus' as const, bias: false }, d1: { rule: 'z-plus' as const, bias: false }, logits: { rule: 'z-plus' as const, bias: false } };
  const b = explain(gb, x, { method: 'lrp', composite: 'z-plus', rules, targetClass: 1, params });
  if (a.target.logit > 0) assert.ok(relErr(a.relevance.data, b.relevance.data) < 1e-6);
  // float64 reference on a dense net with biases
  let compared = 0;
  for (const seed of [21, 22, 23, 24, 25]) {
    const d = denseNet(seed, true);
    const xin = new Rand(seed + 100).uniform(12, 0, 1);
    const r = explain(d.g, xin, { method: 'deep-taylor-bounded', params: { low: 0, high: 1 } });
    const ref = referenceBounded(d.layers, xin, r.target.class, 0, 1);
    assert.ok(Math.abs(ref.logit - r.target.logit) < 1e-5);
    if (r.target.logit <= 0) {
      assert.ok(r.relevance.data.every((v) => v === 0) && ref.rel.every((v) => v === 0));
      continue;
    }
    const e = relErr(r.relevance.data, ref.rel);
    assert.ok(e < 1e-5, `seed ${seed}: ${e}`);
    compared++;
  }
  assert.ok(compared >= 2, `${compared} positive logits compared`);
});

test('root choice per layer: nearest = w², origin = z-rule, lrp = z⁺ (all bias-free); --rule overrides one layer', async () => {
  await initBackend('cpu');
  const g = reluNet(6, { bias: true });
  const x = new Rand(12).uniform(sizeOf(g.nodes[g.input].shape), 0, 1);
  const t = 2;
  const pos = explain(g, x, { method: 'gradient', targetClass: t }).target.logit;
  assert.ok(pos > 0, 'a positive logit to explain');
  // each root against the float64 oracle's own rule formulas (test/unit/oracle), not the engine's rule table
  const layers = ['c1', 'c2', 'd1', 'logits'];
  const oracle = (rule: RuleSpec) => oracleLrp(g, x, { composite: 'z-plus', targetClass: t, rules: Object.fromEntries(layers.map((l) => [l, rule])) }).relevance;
  const roots: [ExplainOptions['root'], RuleSpec][] = [['nearest', { rule: 'w-square' }], ['origin', { rule: 'lrp-0', bias: false }], ['lrp', { rule: 'z-plus', bias: false }]];
  for (const [root, rule] of roots) {
    const e = relErr(explain(g, x, { method: 'deep-taylor', root, targetClass: t }).relevance.data, oracle(rule));
    assert.ok(e < 1e-4, `root ${root}: ${e} from the oracle's ${rule.rule}`);
  }
  const over = explain(g, x, { method: 'deep-taylor', targetClass: t, rules: { c1: { rule: 'deep-taylor', root: 'origin' } } });
  assert.equal(over.rules.c1, 'deep-taylor:origin');
  assert.equal(over.rules.c2, 'deep-taylor:lrp');
  assert.throws(() => explain(g, x, { method: 'deep-taylor', rules: { nope: { rule: 'flat' } } }), /no layer named 'nope'/);
  assert.throws(() => explain(g, x, { method: 'deep-taylor', root: 'bounded' as 'lrp' }), /--root/);
});

test('the root point at the input: each first-layer neuron\'s root is a zero of its bias-free z', async () => {
  await initBackend('cpu');
  // one neuron in the first layer: the reported root point is that neuron's root
  const r = new Rand(31);
  const b = new GraphBuilder('one');
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [1, 2, 3] });
  x = b.add({ name: 'flat', op: 'flatten', inputs: [x] });
  const w1 = { shape: [6, 1], data: Float32Array.from([0.9, -0.4, 0.3, 0.7, -0.8, 0.5]) };
  x = b.add({ name: 'd1', op: 'dense', inputs: [x], params: { kernel: w1 } });
  x = b.add({ name: 'r1', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  x = b.add({ name: 'd2', op: 'dense', inputs: [x], params: { kernel: { shape: [1, 2], data: Float32Array.from([1.5, -0.5]) } } });
  const g = b.build('one', 'test', x);
  const xin = r.uniform(6, 0.1, 1);
  const z = (v: ArrayLike<number>): number => Array.from(v).reduce((s, vi, i) => s + vi * w1.data[i], 0);
  assert.ok(z(xin) > 0);
  for (const [method, root, params] of [
    ['deep-taylor', 'lrp', {}], ['deep-taylor', 'nearest', {}], ['deep-taylor', 'origin', {}], ['deep-taylor-bounded', 'bounded', { low: 0, high: 1 }],
  ] as const) {
    const res = explain(g, xin, { method, root: method === 'deep-taylor' ? (root as 'lrp') : undefined, targetClass: 0, params });
    const rp = (res.extra as { rootPoint: { layer: string; root: string; data: number[] } }).rootPoint;
    assert.equal(rp.layer, 'd1');
    assert.equal(rp.root, root);
    assert.ok(Math.abs(z(rp.data)) < 1e-5, `${root}: z(root) = ${z(rp.data)}`);
    if (root === 'origin') assert.ok(rp.data.every((v) => Math.abs(v) < 1e-6));
    if (root === 'bounded') assert.ok(rp.data.every((v) => v >= -1e-6 && v <= 1 + 1e-6), 'the box root lies in the box');
    if (root === 'lrp') rp.data.forEach((v, i) => assert.ok(w1.data[i] > 0 || Math.abs(v - xin[i]) < 1e-6, 'only inputs with w > 0 move'));
  }
});

test('deep-taylor leaks no tensors', async () => {
  await initBackend('cpu');
  const g = reluNet(9, { bias: true });
  const x = new Rand(41).uniform(sizeOf(g.nodes[g.input].shape), 0, 1);
  explain(g, x, { method: 'deep-taylor-bounded', params: { low: 0, high: 1 } });
  const before = tf.memory().numTensors;
  for (const opts of [{ method: 'deep-taylor' }, { method: 'deep-taylor', root: 'nearest' }, { method: 'deep-taylor-bounded', params: { low: 0, high: 1 } }] as ExplainOptions[]) {
    explain(g, x, opts);
  }
  assert.equal(tf.memory().numTensors, before);
});
