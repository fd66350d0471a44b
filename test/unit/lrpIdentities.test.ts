/**
 * Identities every LRP implementation must satisfy, on random nets and on the demo LeNet:
 *  - LRP-0 on a bias-free ReLU net conserves: the input relevance sums to the logit;
 *  - LRP-ε with ε → 0 equals gradient × input (gradient by tf.grad of the original tfjs-layers model,
 *    or by the oracle's matrix chain for an IR-only bias-free copy);
 *  - α1β0 equals z⁺, the latter computed here from its own definition (oracleLrp's 'z-plus': the positive
 *    parts of a_j·w_jk), not through the engine's rule table, where z⁺ is α1β0 by construction;
 *  - z^B at the first layer is exactly conservative;
 *  - canonization (BN folding with the model's own ε, dropout removal, softmax stripping) keeps the output.
 * Each identity also has a control that must break it, so the check is known to be able to fail.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import { loadModel } from '../../src/core/loaders/registry';
import { canonize } from '../../src/core/graph/canonize';
import type { Graph } from '../../src/core/graph/ir';
import type { ExplainOptions } from '../../src/core/methods/types';
import { diff, Tally } from './oracle/compare';
import { oracleGradient, oracleForward, oracleLrp } from './oracle/oracle';
import { makeNet, loadLinearCopy, NET_NAMES } from './oracle/randomNets';
import { firstWeighted } from './oracle/cases';
import { demoInput, DEMO_MODEL } from './oracle/demo';

const tally = new Tally();
const SEED = 7001;

before(async () => {
  await initBackend('cpu');
});
after(() => console.log(`identities, largest deviations:\n${tally.report()}`));

function argmax(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[m]) m = i;
  return m;
}
function argmin(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 1; i < a.length; i++) if (a[i] < a[m]) m = i;
  return m;
}
/**
 * The two classes with the largest |logit|, the second only if |logit| ≥ 0.05: the stabilizer's own leak
 * (1e-6 per denominator) is not small relative to a logit near 0.
 */
function largestTwo(a: ArrayLike<number>): number[] {
  const idx = Array.from(a, (_, i) => i).sort((x, y) => Math.abs(a[y]) - Math.abs(a[x]));
  return Math.abs(a[idx[1]]) >= 0.05 ? idx.slice(0, 2) : idx.slice(0, 1);
}

function explain(ex: Explainer, g: Graph, x: Float32Array, opts: Omit<ExplainOptions, 'method'>) {
  return ex.explain({ shape: g.nodes[g.input].shape, data: x }, { method: 'lrp', ...opts });
}

/** |Σ R_input − logit| / |logit| and the worst per-layer |in − out| / |logit| of an explanation. */
function conservation(r: ReturnType<typeof explain>): { input: number; layer: number; where: string } {
  const logit = r.target.logit;
  let layer = 0;
  let where = '';
  for (const l of r.layers) {
    const e = Math.abs(l.inputRelevanceSum - l.outputRelevanceSum) / Math.abs(logit);
    if (e > layer) {
      layer = e;
      where = l.name;
    }
  }
  return { input: Math.abs(r.inputRelevanceSum - logit) / Math.abs(logit), layer, where };
}

/** ∂logit_c/∂x ⊙ x by tf.grad of a tfjs-layers model (cpu backend), independent of the engine. */
function gradTimesInput(model: tfl.LayersModel, x: Float32Array, shape: number[], c: number): Float32Array {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, [1, shape[0], shape[1], shape[2]]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(model.apply(t, { training: false }) as tf.Tensor, [c], 1)))(xt);
    return tf.mul(g, xt).dataSync() as Float32Array;
  });
}

// ---------------------------------------------------------------- LRP-0 conservation

for (const name of NET_NAMES) {
  test(`LRP-0 on a bias-free ReLU net sums to the logit: '${name}'`, async (t) => {
    const net = await makeNet(name, SEED, { biasFree: true });
    const ex = new Explainer(net.graph);
    try {
      const logits = ex.predict({ shape: net.inShape, data: net.input }).logits;
      for (const c of largestTwo(logits)) {
        await t.test(`class ${c} (logit ${logits[c].toFixed(4)})`, () => {
          const r = explain(ex, net.graph, net.input, { composite: 'lrp-0', targetClass: c });
          const k = conservation(r);
          tally.add('LRP-0 bias-free: |ΣR − logit|/|logit|', k.input, `${name} class ${c}`);
          tally.add('LRP-0 bias-free: per-layer |in − out|/|logit|', k.layer, `${name} ${k.where}`);
          assert.ok(k.input <= 1e-4, `input sum ${r.inputRelevanceSum} vs logit ${r.target.logit}`);
          assert.ok(k.layer <= 1e-4, `layer ${k.where} leaks ${k.layer}`);
        });
      }
    } finally {
      ex.dispose();
    }
  });
}

test('control: LRP-0 with biases does not sum to the logit (the conservation check can fail)', async () => {
  const net = await makeNet('strided', SEED, {});
  const ex = new Explainer(net.graph);
  const r = explain(ex, net.graph, net.input, { composite: 'lrp-0' });
  ex.dispose();
  assert.ok(conservation(r).input > 1e-2, `biases absorb relevance: ${r.inputRelevanceSum} vs ${r.target.logit}`);
});

// ---------------------------------------------------------------- ε → 0 is gradient × input

/** tfjs has no gradient for dilated conv2d: there the oracle's matrix chain gives the gradient. */
const NO_TF_GRAD = new Set(['dilated']);
/**
 * The identity is exact up to the fixed 1e-6 stabilizer of average pooling / GAP / Add (it is not ε), which
 * bends the result by ~1e-6/|z| where a pooled value z is small: even the float64 oracle deviates from
 * g⊙x by up to 6e-4 on some random nets. These seeds keep that below 1.1e-5 (oracle, float64).
 */
const GRAD_SEEDS: Record<string, number> = { strided: 7002, dilated: 7022, depthwise: 7002, residual: 7012, concat: 7012, mlp: 7002 };

for (const name of NET_NAMES) {
  test(`LRP-ε (ε = 1e-9) equals gradient × input: '${name}'`, async (t) => {
    const net = await makeNet(name, GRAD_SEEDS[name], { softmax: true });
    const linear = await loadLinearCopy(net.file);
    const ex = new Explainer(net.graph);
    try {
      const logits = ex.predict({ shape: net.inShape, data: net.input }).logits;
      for (const c of [argmax(logits), argmin(logits)]) {
        await t.test(`class ${c} (gradient by ${NO_TF_GRAD.has(name) ? 'the oracle matrix chain' : 'tf.grad'})`, () => {
          const chain = oracleGradient(net.graph, net.input, c).gradient.map((v, i) => v * net.input[i]);
          let gx: ArrayLike<number> = chain;
          if (!NO_TF_GRAD.has(name)) {
            gx = gradTimesInput(linear, net.input, net.inShape, c);
            // the matrix-chain gradient (used for the demo's bias-free copy) agrees with tf.grad
            const dc = diff(chain, gx);
            tally.add('oracle matrix-chain g⊙x vs tf.grad g⊙x', dc.rel, `${name} class ${c}`);
            assert.ok(dc.rel <= 1e-5, `oracle gradient vs tf.grad: ${JSON.stringify(dc)}`);
          }
          const r = explain(ex, net.graph, net.input, { composite: 'epsilon', params: { epsilon: 1e-9 }, targetClass: c });
          const d = diff(r.relevance.data, gx);
          tally.add('LRP-ε(1e-9) vs gradient×input', d.rel, `${name} class ${c}`);
          assert.ok(d.rel <= 1e-4, `max |R − g⊙x| ${d.maxAbs} at ${d.at}, max |g⊙x| ${d.scale}`);
          // and the control: a large ε is no longer the gradient
          const big = explain(ex, net.graph, net.input, { composite: 'epsilon', params: { epsilon: 0.5 }, targetClass: c });
          assert.ok(diff(big.relevance.data, gx).rel > 1e-3, 'ε = 0.5 must differ from gradient × input');
        });
      }
    } finally {
      ex.dispose();
      linear.dispose();
    }
  });
}

// ---------------------------------------------------------------- α1β0 = z⁺

for (const name of NET_NAMES) {
  test(`α1β0 equals z⁺: '${name}'`, async () => {
    const net = await makeNet(name, SEED + 2, {});
    const ex = new Explainer(net.graph);
    try {
      const ab = explain(ex, net.graph, net.input, { composite: 'alpha-beta', params: { alpha: 1, beta: 0 } });
      const zp = oracleLrp(net.graph, net.input, { composite: 'z-plus', targetClass: ab.target.class }).relevance;
      const d = diff(ab.relevance.data, zp);
      tally.add('α1β0 vs naive z⁺', d.rel, name);
      assert.ok(d.rel <= 1e-4, `α1β0 vs z⁺: ${JSON.stringify(d)}`);
      // per-layer spec form too: {alpha-beta 1,0} on one layer = z⁺ there (ε elsewhere)
      const layer = firstWeighted(net.graph);
      const a = explain(ex, net.graph, net.input, { composite: 'epsilon', rules: { [layer]: { rule: 'alpha-beta', alpha: 1, beta: 0 } } });
      const b = oracleLrp(net.graph, net.input, { composite: 'epsilon', rules: { [layer]: { rule: 'z-plus' } }, targetClass: a.target.class }).relevance;
      assert.ok(diff(a.relevance.data, b).rel <= 1e-4, JSON.stringify(diff(a.relevance.data, b)));
      // control: α2β1 is not z⁺
      const ab21 = explain(ex, net.graph, net.input, { composite: 'alpha-beta' });
      assert.ok(diff(ab21.relevance.data, zp).rel > 1e-3, 'α2β1 must differ from z⁺');
    } finally {
      ex.dispose();
    }
  });
}

// ---------------------------------------------------------------- z^B conserves at the first layer

function zBoxConservation(r: ReturnType<typeof explain>, first: string): { layer: number; input: number } {
  const l = r.layers.find((x) => x.name === first)!;
  return {
    layer: Math.abs(l.inputRelevanceSum - l.outputRelevanceSum) / Math.abs(l.outputRelevanceSum),
    input: Math.abs(r.inputRelevanceSum - l.outputRelevanceSum) / Math.abs(l.outputRelevanceSum),
  };
}

/** True when `layer` is the only weighted layer that reads the input (through structural ops). */
function onlyReaderOfInput(g: Graph, layer: string): boolean {
  const reaches = new Array(g.nodes.length).fill(false);
  reaches[g.input] = true;
  const readers: string[] = [];
  for (const n of g.nodes) {
    if (n.id === g.input || !n.inputs.some((i) => reaches[i])) continue;
    if (['conv2d', 'depthwiseConv2d', 'dense', 'batchNorm'].includes(n.op)) readers.push(n.name);
    else reaches[n.id] = true;
  }
  return readers.length === 1 && readers[0] === layer;
}

for (const name of NET_NAMES) {
  test(`z^B at the first layer is exactly conservative: '${name}'`, async () => {
    const net = await makeNet(name, SEED + 3, {});
    const ex = new Explainer(net.graph);
    try {
      const first = firstWeighted(net.graph);
      const isDense = net.graph.nodes.find((n) => n.name === first)!.op === 'dense';
      // bounds the input lies in (per channel; one scalar pair for a dense first layer)
      const low = isDense ? Math.min(...net.low) : net.low;
      const high = isDense ? Math.max(...net.high) : net.high;
      const r = explain(ex, net.graph, net.input, { composite: 'epsilon', rules: { [first]: { rule: 'z-box', low, high } } });
      const k = zBoxConservation(r, first);
      tally.add('z^B first layer |in − out|/|out|', k.layer, name);
      assert.ok(k.layer <= 1e-5, `first layer ${first} passes ${k.layer} less/more than it gets`);
      // all of the input's relevance comes through the first layer (unless another branch reads the input too)
      if (onlyReaderOfInput(net.graph, first)) {
        tally.add('z^B first layer: |Σ R_input − R at the layer|/|R|', k.input, name);
        assert.ok(k.input <= 1e-5, `input sum differs from the relevance at ${first} by ${k.input}`);
      }
      // control: ε at the first layer (with a bias) is not conservative
      const e = explain(ex, net.graph, net.input, { composite: 'epsilon', params: { epsilon: 0.05 } });
      assert.ok(zBoxConservation(e, first).layer > 1e-5, 'ε with a bias must leak at the first layer');
    } finally {
      ex.dispose();
    }
  });
}

// ---------------------------------------------------------------- canonization keeps the output

/** BN folded into dense / depthwise ×2 (own ε 0.01) / conv; a stand-alone BN; dropout; final softmax. */
const CANON_NETS: { name: string; keptBatchNorms: number }[] = [
  { name: 'strided', keptBatchNorms: 0 },
  { name: 'depthwise', keptBatchNorms: 0 },
  { name: 'residual', keptBatchNorms: 1 },
  { name: 'concat', keptBatchNorms: 0 },
];

for (const { name, keptBatchNorms } of CANON_NETS) {
  test(`canonization keeps the model's output: '${name}'`, async () => {
    const net = await makeNet(name, SEED + 4, { softmax: true });
    const g = net.graph;
    // structure: no identity, foldable BNs gone, softmax stripped
    assert.equal(g.nodes.filter((n) => n.op === 'identity').length, 0, 'dropout removed');
    assert.equal(g.nodes.filter((n) => n.op === 'batchNorm').length, keptBatchNorms, 'BatchNorms folded');
    const out = g.nodes[g.output];
    assert.ok(!(out.op === 'activation' && out.attrs.activation === 'softmax'), 'final softmax stripped');
    assert.equal(g.outputSoftmax, true);

    const linear = await loadLinearCopy(net.file);
    const xt = tf.tensor4d(net.input, [1, ...net.inShape]);
    const want = (linear.predict(xt) as tf.Tensor).dataSync() as Float32Array;
    const probs = (net.model.predict(xt) as tf.Tensor).dataSync() as Float32Array;
    xt.dispose();
    linear.dispose();
    const tolOf = (ref: ArrayLike<number>): number => 1e-5 * Math.max(1, ...Array.from(ref, Math.abs));

    const ex = new Explainer(g);
    const p = ex.predict({ shape: net.inShape, data: net.input });
    ex.dispose();
    const d = diff(p.logits, want);
    tally.add('canonized logits vs tfjs-layers (linear copy)', d.maxAbs, name);
    assert.ok(d.maxAbs <= tolOf(want), `logits differ by ${d.maxAbs}: ${Array.from(p.logits)} vs ${Array.from(want)}`);
    // the softmax scores reported for the stripped softmax are the model's own outputs
    for (const s of p.prediction) assert.ok(Math.abs(s.score - probs[s.class]) <= 1e-5, 'reported softmax scores');
    // the oracle's forward of the canonized graph agrees too
    const o = oracleForward(g, net.input).acts[g.output];
    assert.ok(diff(o, want).maxAbs <= tolOf(want), 'oracle forward of the canonized graph');

    // control: folding with another ε (PyTorch's 1e-5 instead of the model's) changes the output
    const wrong = canonize({ ...net.raw, nodes: net.raw.nodes.map((n) => (n.op === 'batchNorm' ? { ...n, attrs: { ...n.attrs, epsilon: 1e-5 } } : n)) });
    if (net.raw.nodes.some((n) => n.op === 'batchNorm')) {
      const exw = new Explainer(wrong);
      const pw = exw.predict({ shape: net.inShape, data: net.input });
      exw.dispose();
      assert.ok(diff(pw.logits, want).maxAbs > tolOf(want), 'a fold with the wrong ε must be detected');
    }
  });
}

// ---------------------------------------------------------------- the demo model

const demoFile = path.resolve(__dirname, '../../..', DEMO_MODEL);
const demoSkip = fs.existsSync(demoFile) ? false : `${DEMO_MODEL} not found`;

/** A bias-free copy of a graph: every bias set to zero in the IR (and a stand-alone BN's shift). */
function biasFree(g: Graph): Graph {
  return {
    ...g,
    nodes: g.nodes.map((n) => {
      const p = { ...n.params };
      if (p.bias) p.bias = { shape: p.bias.shape, data: new Float32Array(p.bias.data.length) };
      if (n.op === 'batchNorm') {
        if (p.beta) p.beta = { shape: p.beta.shape, data: new Float32Array(p.beta.data.length) };
        if (p.mean) p.mean = { shape: p.mean.shape, data: new Float32Array(p.mean.data.length) };
      }
      return { ...n, params: p };
    }),
  };
}

test('demo model: identities on a bias-free copy and gradient × input on the original', { skip: demoSkip }, async (t) => {
  const graph = canonize(await loadModel(demoFile));
  const free = biasFree(graph);
  const { input, low, high } = demoInput(demoFile, graph);
  const shape = graph.nodes[graph.input].shape;
  const ex = new Explainer(free);
  const exOrig = new Explainer(graph);
  try {
    const logits = ex.predict({ shape, data: input }).logits;
    const classes = [argmax(logits), argmin(logits)];
    await t.test('LRP-0 sums to the logit', () => {
      for (const c of classes) {
        const r = explain(ex, free, input, { composite: 'lrp-0', targetClass: c });
        const k = conservation(r);
        tally.add('demo LRP-0 bias-free: |ΣR − logit|/|logit|', k.input, `class ${c}`);
        assert.ok(k.input <= 1e-4 && k.layer <= 1e-4, `class ${c}: input ${k.input}, layer ${k.where} ${k.layer}`);
      }
    });
    await t.test('LRP-ε (1e-9) equals gradient × input (oracle matrix chain)', () => {
      for (const c of classes) {
        const { gradient } = oracleGradient(free, input, c);
        const gx = gradient.map((v, i) => v * input[i]);
        const r = explain(ex, free, input, { composite: 'epsilon', params: { epsilon: 1e-9 }, targetClass: c });
        const d = diff(r.relevance.data, gx);
        tally.add('demo bias-free LRP-ε vs g⊙x', d.rel, `class ${c}`);
        assert.ok(d.rel <= 1e-4, `class ${c}: ${JSON.stringify(d)}`);
      }
    });
    await t.test('LRP-ε (1e-9) equals gradient × input on the original model (tf.grad)', async () => {
      const linear = await loadLinearCopy(demoFile);
      try {
        for (const c of classes) {
          const gx = gradTimesInput(linear, input, shape, c);
          const r = explain(exOrig, graph, input, { composite: 'epsilon', params: { epsilon: 1e-9 }, targetClass: c });
          const d = diff(r.relevance.data, gx);
          tally.add('demo LRP-ε vs tf.grad g⊙x', d.rel, `class ${c}`);
          assert.ok(d.rel <= 1e-4, `class ${c}: ${JSON.stringify(d)}`);
        }
      } finally {
        linear.dispose();
      }
    });
    await t.test('α1β0 equals z⁺ (computed from its definition)', () => {
      for (const [e, g] of [[ex, free], [exOrig, graph]] as const) {
        const ab = explain(e, g, input, { composite: 'alpha-beta', params: { alpha: 1, beta: 0 } });
        const zp = oracleLrp(g, input, { composite: 'z-plus', targetClass: ab.target.class }).relevance;
        const d = diff(ab.relevance.data, zp);
        tally.add('demo α1β0 vs naive z⁺', d.rel, g === free ? 'bias-free' : 'original');
        assert.ok(d.rel <= 1e-4, JSON.stringify(d));
      }
    });
    await t.test('z^B at the first layer conserves (bounds from the model card)', () => {
      const first = firstWeighted(graph);
      for (const [e, g] of [[ex, free], [exOrig, graph]] as const) {
        const r = explain(e, g, input, { composite: 'epsilon-gamma-box', params: { low, high } });
        const k = zBoxConservation(r, first);
        tally.add('demo z^B first layer |in − out|/|out|', Math.max(k.layer, k.input), g === free ? 'bias-free' : 'original');
        assert.ok(k.layer <= 1e-5 && k.input <= 1e-5, JSON.stringify(k));
      }
    });
    await t.test('control: the original (with biases) does not sum to the logit under LRP-0', () => {
      const r = explain(exOrig, graph, input, { composite: 'lrp-0' });
      assert.ok(conservation(r).input > 1e-4, `${r.inputRelevanceSum} vs ${r.target.logit}`);
    });
  } finally {
    ex.dispose();
    exOrig.dispose();
  }
});
