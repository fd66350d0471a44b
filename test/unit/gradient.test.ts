import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
// registers tfjs-core's gradients (for the independent tf.grads reference below only)
import '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import type { Graph } from '../../src/core/graph/ir';
import { sizeOf } from '../../src/core/graph/ir';
import { PreparedGraph } from '../../src/core/engine/prepared';
import { forward, runNode } from '../../src/core/engine/forward';
import type { ExplainOptions } from '../../src/core/methods/types';
import { openModel, readInput } from '../../src/core/pipeline';
import * as fs from 'fs';
import * as path from 'path';
import { cosine, finiteDifferences, finiteDifferencesChecked, Rand, relErr, reluNet, smoothNet } from './helpers/methodNets';

function inputOf(g: Graph, seed: number, scale = 1, offset = 0): { shape: number[]; data: Float32Array } {
  const shape = g.nodes[g.input].shape;
  return { shape, data: new Rand(seed).array(sizeOf(shape), scale, offset) };
}

function explain(g: Graph, input: { shape: number[]; data: Float32Array }, opts: ExplainOptions, keepLayers?: string[]) {
  const e = new Explainer(g);
  try {
    return e.explain(input, opts, keepLayers ? { keepLayers } : {});
  } finally {
    e.dispose();
  }
}

test('gradient agrees with central finite differences (smooth net: conv s2, depthwise, pad, avg pool, BN, add, concat, GAP, softmax)', async () => {
  await initBackend('cpu');
  const g = smoothNet(1);
  for (const seed of [11, 12, 13]) {
    const input = inputOf(g, seed);
    for (const target of [0, 2]) {
      const r = explain(g, input, { method: 'gradient', targetClass: target });
      const fd = finiteDifferences(g, input.data, target, 1e-2);
      const e = relErr(r.relevance.data, fd);
      console.log(`smooth seed ${seed} class ${target}: ‖g − fd‖/‖fd‖ = ${e.toExponential(2)}`);
      assert.ok(e <= 1e-3, `relative error ${e}`);
    }
  }
});

test('gradient agrees with central finite differences (ReLU, ReLU6, max pooling tiled and overlapping)', async () => {
  await initBackend('cpu');
  const g = reluNet(2);
  let checked = 0;
  for (const seed of [21, 22, 23, 24, 25, 26]) {
    const input = inputOf(g, seed);
    for (const target of [0, 1, 2]) {
      const r = explain(g, input, { method: 'gradient', targetClass: target });
      const { fd, kinks } = finiteDifferencesChecked(g, input.data, target, 3e-3);
      const e = relErr(r.relevance.data, fd);
      if (kinks) {
        // a ReLU or max-pool switch lies inside the stencil: the difference is not a derivative there
        console.log(`relu seed ${seed} class ${target}: ${kinks} stencil(s) cross a kink, skipped (error ${e.toExponential(2)})`);
        continue;
      }
      console.log(`relu seed ${seed} class ${target}: ‖g − fd‖/‖fd‖ = ${e.toExponential(2)}`);
      assert.ok(e <= 1e-3, `relative error ${e}`);
      checked++;
    }
  }
  assert.ok(checked >= 12, `only ${checked} cases without kinks`);
});

test('gradient × input is the gradient times the input', async () => {
  await initBackend('cpu');
  const g = smoothNet(3);
  const input = inputOf(g, 5);
  const a = explain(g, input, { method: 'gradient', targetClass: 1 });
  const b = explain(g, input, { method: 'gradient-x-input', targetClass: 1 });
  for (let i = 0; i < input.data.length; i++) assert.equal(b.relevance.data[i], Math.fround(a.relevance.data[i] * input.data[i]));
});

/**
 * An independent reference: every non-activation node's vector–Jacobian product by tf.grads of the
 * forward op (cpu backend has those kernels), the activation masks written out per rule.
 */
function referenceBackward(g: Graph, x: Float32Array, target: number, rule: 'guided' | 'deconvnet'): Float32Array {
  const prep = new PreparedGraph(g);
  const shape = g.nodes[g.input].shape;
  const xt = tf.tensor4d(x, [1, shape[0], shape[1], shape[2]]);
  const acts = forward(prep, xt);
  const pending: (tf.Tensor | undefined)[] = [];
  pending[g.output] = tf.cast(tf.oneHot([target], g.nodes[g.output].shape[0]), 'float32');
  for (let id = g.output; id > g.input; id--) {
    const s = pending[id];
    if (!s) continue;
    const node = g.nodes[id];
    const ins = node.inputs.map((i) => acts[i]);
    let parts: tf.Tensor[];
    if (node.op === 'activation') {
      const a = ins[0];
      const open = node.attrs.activation === 'relu6' ? tf.logicalAnd(tf.greater(a, 0), tf.less(a, 6)) : tf.greater(a, 0);
      parts = rule === 'guided' ? [tf.mul(tf.mul(s, tf.cast(open, 'float32')), tf.cast(tf.greater(s, 0), 'float32'))] : [tf.relu(s)];
    } else {
      parts = tf.grads((...xs: tf.Tensor[]) => runNode(prep, node, xs))(ins, s);
    }
    node.inputs.forEach((i, k) => (pending[i] = pending[i] ? tf.add(pending[i]!, parts[k]) : parts[k]));
  }
  const out = pending[g.input]!.dataSync() as Float32Array;
  prep.dispose();
  return new Float32Array(out);
}

test('guided backprop and deconvnet match a reference built on tf.grads with the masks written out', async () => {
  await initBackend('cpu');
  const g = reluNet(4);
  for (const seed of [31, 32]) {
    const input = inputOf(g, seed);
    for (const [method, rule] of [['guided-backprop', 'guided'], ['deconvnet', 'deconvnet']] as const) {
      const r = explain(g, input, { method, targetClass: 1 });
      const ref = tf.tidy(() => referenceBackward(g, input.data, 1, rule));
      const e = relErr(r.relevance.data, ref);
      assert.ok(e < 1e-5, `${method}: relative error ${e}`);
    }
  }
});

test('guided backprop and deconvnet apply exactly their masks at every ReLU', async () => {
  await initBackend('cpu');
  const g = reluNet(5);
  const input = inputOf(g, 41);
  const pairs: [string, string][] = [['r1', 'c1'], ['r2', 'c2'], ['r3', 'd1']];
  const layers = pairs.flat();
  const prep = new PreparedGraph(g);
  const acts = forward(prep, tf.tensor4d(input.data, [1, 8, 8, 2]));
  const pre = (name: string): Float32Array => acts[g.nodes.find((n) => n.name === name)!.id].dataSync() as Float32Array;
  for (const method of ['guided-backprop', 'deconvnet', 'gradient'] as const) {
    const r = explain(g, input, { method, targetClass: 0 }, layers);
    let masked = 0;
    for (const [act, below] of pairs) {
      const s = r.layerRelevance![act].data; // signal arriving at the ReLU's output
      const out = r.layerRelevance![below].data; // what the ReLU passed to its input
      const x = pre(below);
      const hi = act === 'r2' ? 6 : Infinity;
      for (let i = 0; i < s.length; i++) {
        const open = x[i] > 0 && x[i] < hi;
        const want = method === 'gradient' ? (open ? s[i] : 0)
          : method === 'guided-backprop' ? (open && s[i] > 0 ? s[i] : 0)
            : Math.max(s[i], 0);
        assert.ok(out[i] === want, `${method} at ${act}[${i}]: ${out[i]} vs ${want}`);
        if (want === 0 && s[i] !== 0) masked++;
      }
    }
    assert.ok(masked > 0, `${method}: some signal was masked`);
  }
  acts.forEach((t) => t.dispose());
  prep.dispose();
});

test('SmoothGrad with σ = 0 equals the gradient; with σ > 0 it is reproducible and different', async () => {
  await initBackend('cpu');
  const g = reluNet(6);
  const input = inputOf(g, 51);
  const grad = explain(g, input, { method: 'gradient', targetClass: 2 });
  const sg0 = explain(g, input, { method: 'smoothgrad', targetClass: 2, sigma: 0, samples: 7, sampleBatch: 3 });
  const e0 = relErr(sg0.relevance.data, grad.relevance.data);
  assert.ok(e0 <= 1e-6, `σ=0: ${e0}`);
  const a = explain(g, input, { method: 'smoothgrad', targetClass: 2, sigma: 0.2, samples: 24 });
  const b = explain(g, input, { method: 'smoothgrad', targetClass: 2, sigma: 0.2, samples: 24 });
  assert.deepEqual(Array.from(a.relevance.data), Array.from(b.relevance.data), 'the default seed is fixed');
  const c = explain(g, input, { method: 'smoothgrad', targetClass: 2, sigma: 0.2, samples: 24, seed: 5 });
  assert.notDeepEqual(Array.from(a.relevance.data), Array.from(c.relevance.data));
  assert.ok(relErr(a.relevance.data, grad.relevance.data) > 1e-2);
  const tiny = explain(g, input, { method: 'smoothgrad', targetClass: 2, sigma: 1e-5, samples: 8 });
  assert.ok(cosine(tiny.relevance.data, grad.relevance.data) > 0.999, 'tiny noise: the gradient again');
});

const LENET = path.join(__dirname, '..', '..', '..', 'demo', 'lenet', 'model.json');

test('Integrated Gradients meets completeness within 1 % at 64 steps (demo LeNet on digits, every baseline kind; smooth net)', async (t) => {
  await initBackend('cpu');
  const s = smoothNet(8);
  for (const seed of [63, 64]) {
    const r = explain(s, inputOf(s, seed), { method: 'integrated-gradients', targetClass: 0, steps: 64 });
    const ig = (r.extra as { integratedGradients: { completenessError: number } }).integratedGradients;
    console.log(`IG smooth net seed ${seed}: completeness error ${(100 * ig.completenessError).toFixed(4)} %`);
    assert.ok(ig.completenessError <= 0.01, `smooth net completeness ${ig.completenessError}`);
  }
  if (!fs.existsSync(LENET)) {
    t.skip('demo/lenet/model.json not found');
    return;
  }
  const m = await openModel(LENET);
  const g = m.graph;
  const shape = g.nodes[g.input].shape;
  const other = readInput(path.join(path.dirname(LENET), '..', 'digits', 'digit-8.png'), m).input.data;
  const baselines: ExplainOptions['baseline'][] = [
    { kind: 'zeros' }, { kind: 'constant', value: 0.5 }, { kind: 'blur' }, { kind: 'array', shape, data: other },
  ];
  for (const d of [0, 3, 7]) {
    const input = readInput(path.join(path.dirname(LENET), '..', 'digits', `digit-${d}.png`), m).input;
    for (const baseline of baselines) {
      const r = explain(g, input, { method: 'integrated-gradients', steps: 64, baseline });
      const ig = (r.extra as { integratedGradients: { completenessError: number; outputAtBaseline: number } }).integratedGradients;
      const diff = r.target.logit - ig.outputAtBaseline;
      const err = Math.abs(r.inputRelevanceSum - diff) / Math.abs(diff);
      console.log(`IG LeNet digit ${d} ${baseline!.kind}: Σ = ${r.inputRelevanceSum.toFixed(4)}, f(x) − f(x') = ${diff.toFixed(4)}, error ${(100 * err).toFixed(3)} %`);
      assert.ok(err <= 0.01, `completeness error ${err}`);
      assert.ok(Math.abs(ig.completenessError - err) < 1e-4);
    }
  }
});

test('blurred baseline is a normalised Gaussian blur (constant image stays constant)', async () => {
  await initBackend('cpu');
  const { gaussianBlur } = await import('../../src/core/methods/integratedGradients');
  const c = tf.fill([1, 6, 5, 2], 0.3) as tf.Tensor4D;
  const b = gaussianBlur(c, 2);
  const d = b.dataSync();
  for (const v of d) assert.ok(Math.abs(v - 0.3) < 1e-6);
  tf.dispose([c, b]);
});

test('gradient-family methods leak no tensors', async () => {
  await initBackend('cpu');
  const g = reluNet(9);
  const input = inputOf(g, 71);
  const e = new Explainer(g);
  e.explain(input, { method: 'gradient' }); // warm caches
  const before = tf.memory().numTensors;
  e.dispose();
  const methods: ExplainOptions[] = [
    { method: 'gradient' }, { method: 'gradient-x-input' }, { method: 'deconvnet' }, { method: 'guided-backprop' },
    { method: 'smoothgrad', samples: 5, sampleBatch: 2 }, { method: 'integrated-gradients', steps: 9, sampleBatch: 4, baseline: { kind: 'blur' } },
  ];
  const start = tf.memory().numTensors;
  for (const m of methods) {
    const x = new Explainer(g);
    x.explain(input, m, { keepLayers: ['r1'] });
    x.dispose();
  }
  assert.equal(tf.memory().numTensors, start, `tensors before ${start}, after ${tf.memory().numTensors} (warm ${before})`);
});

test('bad options are usage errors', async () => {
  await initBackend('cpu');
  const g = reluNet(10);
  const input = inputOf(g, 81);
  assert.throws(() => explain(g, input, { method: 'smoothgrad', samples: 0 }), /--samples/);
  assert.throws(() => explain(g, input, { method: 'smoothgrad', sigma: -1 }), /--sigma/);
  assert.throws(() => explain(g, input, { method: 'integrated-gradients', steps: 1.5 }), /--steps/);
  assert.throws(() => explain(g, input, { method: 'integrated-gradients', baseline: { kind: 'array', shape: [2, 2, 2], data: new Float32Array(8) } }), /baseline has shape/);
});
