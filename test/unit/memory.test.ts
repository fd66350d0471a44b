/** A long session must not grow: repeated explanations leave the tensor count where it was. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend, tf } from '../../src/core/engine/backend';
import { openModel, readInput } from '../../src/core/pipeline';
import { Explainer } from '../../src/core/methods/explain';
import { COMPOSITE_NAMES } from '../../src/core/composites/presets';
import { DEMO_DIGIT, DEMO_MODEL } from './helpers/cli';

for (const backend of ['cpu', 'wasm'] as const) {
  test(`no tensor leaks over many explanations (${backend})`, async () => {
    await initBackend(backend);
    const m = await openModel(DEMO_MODEL);
    const before = tf.memory().numTensors;
    const e = new Explainer(m.graph);
    const inputs = [1, 4, 8].map((d) => readInput(DEMO_DIGIT(d), m).input);
    // first round fills the derived-kernel cache; the count must not move after it
    for (const c of COMPOSITE_NAMES) e.explain(inputs[0], { method: 'lrp', composite: c, params: { low: 0, high: 1 } });
    const settled = tf.memory().numTensors;
    for (let round = 0; round < 3; round++) {
      for (const input of inputs) {
        for (const c of COMPOSITE_NAMES) e.explain(input, { method: 'lrp', composite: c, params: { low: 0, high: 1 }, targetClass: round });
      }
    }
    assert.equal(tf.memory().numTensors, settled, 'tensor count after 90 more explanations');
    e.dispose();
    assert.equal(tf.memory().numTensors, before, 'everything freed by dispose()');
  });
}

test('a failing explanation frees what it allocated', async () => {
  await initBackend('cpu');
  const m = await openModel(DEMO_MODEL);
  const e = new Explainer(m.graph);
  const input = readInput(DEMO_DIGIT(2), m).input;
  e.explain(input, { method: 'lrp' });
  const settled = tf.memory().numTensors;
  let calls = 0;
  assert.throws(() => e.explain(input, { method: 'lrp', composite: 'epsilon-plus' }, {
    checkpoint: () => {
      if (++calls === 4) throw new Error('cancelled');
    },
  }), /cancelled/);
  // the epsilon-plus kernels derived before the cancel stay cached; run it fully once and compare
  e.explain(input, { method: 'lrp', composite: 'epsilon-plus' });
  const afterCache = tf.memory().numTensors;
  assert.throws(() => e.explain(input, { method: 'lrp', composite: 'epsilon-plus' }, {
    checkpoint: () => {
      throw new Error('cancelled');
    },
  }));
  assert.equal(tf.memory().numTensors, afterCache);
  assert.ok(afterCache >= settled);
  e.dispose();
});

test('no tensor leaks on a residual block (an input shared by a conv and an add)', async () => {
  const { GraphBuilder } = await import('../../src/core/graph/builder');
  const { randomParam } = await import('../../bench/models');
  await initBackend('cpu');
  const b = new GraphBuilder('res');
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [6, 6, 2] });
  const conv = (name: string, inp: number, seed: number): number => b.add({
    name, op: 'conv2d', inputs: [inp], attrs: { conv: { strides: [1, 1], padding: 'same', dilations: [1, 1] } },
    params: { kernel: randomParam([3, 3, b.nodes[inp].shape[2], 3], 18, seed), bias: randomParam([3], 1, seed + 1) },
  });
  x = conv('c1', x, 1);
  const r1 = b.add({ name: 'r1', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  const c2 = conv('c2', r1, 3);
  const add = b.add({ name: 'add', op: 'add', inputs: [r1, c2] });
  const f = b.add({ name: 'f', op: 'flatten', inputs: [add] });
  const out = b.add({ name: 'fc', op: 'dense', inputs: [f], params: { kernel: randomParam([108, 4], 108, 5), bias: randomParam([4], 1, 6) } });
  const e = new Explainer(b.build('res', 'test', out));
  const input = { shape: [6, 6, 2], data: new Float32Array(72).map((_, i) => ((i * 37) % 11) / 11) };
  for (const c of COMPOSITE_NAMES) e.explain(input, { method: 'lrp', composite: c, params: { low: 0, high: 1 }, conservationDetail: true });
  const settled = tf.memory().numTensors;
  for (const c of COMPOSITE_NAMES) e.explain(input, { method: 'lrp', composite: c, params: { low: 0, high: 1 }, conservationDetail: true });
  for (const c of COMPOSITE_NAMES) e.explain(input, { method: 'lrp', composite: c, params: { low: 0, high: 1 } });
  assert.equal(tf.memory().numTensors, settled);
  e.dispose();
});

test('values a user sweeps (γ, z^B bounds of each input) do not pile up cached kernels', async () => {
  await initBackend('cpu');
  const m = await openModel(DEMO_MODEL);
  const e = new Explainer(m.graph);
  const input = readInput(DEMO_DIGIT(6), m).input;
  const run = (i: number): void => {
    e.explain(input, { method: 'lrp', composite: 'epsilon-gamma-box', params: { gamma: 0.25 + 0.01 * i, low: -0.1 * i, high: 1 + 0.1 * i } });
  };
  run(0);
  const settled = tf.memory().numTensors;
  // each new γ derives w+γw⁺ (and its transposes) per layer, each new bound pair the z^B bound images:
  // only the latest of each is kept
  for (let i = 1; i <= 25; i++) run(i);
  assert.equal(tf.memory().numTensors, settled, 'tensor count after 25 new γ values and bounds');
  e.dispose();
});
