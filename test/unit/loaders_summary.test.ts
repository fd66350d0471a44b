/** `info` rows, the unsupported-node check, and `card init` defaults guessed from a model. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadModel } from '../../src/core/loaders/registry';
import { assertSupported, summarizeGraph } from '../../src/core/graph/summary';
import { cardInit, cardPathFor } from '../../src/core/card/cardInit';
import { findCardPath, readCard } from '../../src/core/card/modelCard';
import { isLensError } from '../../src/core/errors';
import { paddleOcrClsModel } from './helpers/realModels';
import { GraphBuilder } from '../../src/core/graph/builder';
import type { ActivationFn } from '../../src/core/graph/ir';

const FX = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'loaders');

test('summarizeGraph lists every node with op, shape, params and support', async () => {
  const g = await loadModel(path.join(FX, 'cnn.h5'));
  const s = summarizeGraph(g);
  assert.equal(s.rows.length, g.nodes.length);
  assert.deepEqual(s.input, [16, 16, 3]);
  assert.deepEqual(s.output, [5]);
  const stem = s.rows.find((r) => r.name === 'stem')!;
  assert.deepEqual(stem, { name: 'stem', op: 'conv2d', sourceClass: 'Conv2D', shape: [8, 8, 8], params: 216, supported: true });
  const bn = s.rows.find((r) => r.name === 'pool_bn')!;
  assert.match(bn.note!, /follows no linear layer/);
  assert.match(s.rows.find((r) => r.name === 'stem_bn')!.note!, /folded/);
  assert.equal(s.rows.find((r) => r.name === 'branch2_relu6')!.op, 'activation:relu6');
  assert.equal(s.params, s.rows.reduce((a, r) => a + r.params, 0));
  assert.equal(s.unsupported.length, 0);
  assert.doesNotThrow(() => assertSupported(g, 'cnn.h5'));
});

test('gating products (HardSwish, squeeze-excite) are supported: their mul nodes pass the check', async () => {
  const g = await loadModel(path.join(FX, 'small_hardswish_se.onnx'));
  const s = summarizeGraph(g);
  const gates = s.rows.filter((r) => r.op === 'mul');
  assert.ok(gates.some((r) => r.sourceClass === 'HardSwish'), JSON.stringify(gates));
  assert.ok(gates.every((r) => r.supported && r.note === undefined));
  assert.deepEqual(s.unsupported, []);
  assert.doesNotThrow(() => assertSupported(g, 'se.onnx'));
});

test('assertSupported names the first unsupported node, and how many more, before any computation', () => {
  // an activation the engine lacks, then average pooling with explicit padding (both loadable into the IR)
  const b = new GraphBuilder('unsupported');
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [6, 6, 2] });
  x = b.add({ name: 'c1', op: 'conv2d', inputs: [x], attrs: { conv: { strides: [1, 1], padding: 'same', dilations: [1, 1] } }, params: { kernel: { shape: [3, 3, 2, 3], data: new Float32Array(54).fill(0.1) } } });
  x = b.add({ name: 'soft', op: 'activation', inputs: [x], attrs: { activation: 'softsign' as ActivationFn }, sourceClass: 'Softsign' });
  x = b.add({ name: 'pool', op: 'avgPool', inputs: [x], attrs: { pool: { poolSize: [2, 2], strides: [2, 2], padding: [[1, 1], [1, 1]] } } });
  x = b.add({ name: 'flat', op: 'flatten', inputs: [x] });
  const out = b.add({ name: 'logits', op: 'dense', inputs: [x], params: { kernel: { shape: [48, 2], data: new Float32Array(96).fill(0.1) } } });
  const g = b.build('unsupported', 'test', out);
  assert.deepEqual(summarizeGraph(g).unsupported.map((r) => r.name), ['soft', 'pool']);
  assert.throws(() => assertSupported(g, 'x.onnx'), (e: unknown) => {
    assert.ok(isLensError(e));
    assert.equal(e.code, 'unsupported-op');
    assert.equal(e.message, "x.onnx: node 'soft' (Softsign, op activation:softsign) is not supported: activation 'softsign' is not implemented by the engine (and 1 more unsupported node)");
    return true;
  });
});

test('card init writes <stem>.lens.json with the model input; refuses to overwrite; dynamic sizes', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-card-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const model = path.join(dir, 'emotion.onnx');
  fs.copyFileSync(path.join(FX, 'small_pad_pool.onnx'), model);
  const g = await loadModel(model);
  const { cardPath, card } = cardInit(model, g);
  assert.equal(cardPath, path.join(dir, 'emotion.lens.json'));
  assert.equal(findCardPath(model), cardPath);
  assert.deepEqual(card.input, { height: 9, width: 8, channels: 3, channelOrder: 'rgb', resize: 'bilinear', scaling: '[0,1]' });
  assert.deepEqual(readCard(cardPath).input, card.input);
  assert.throws(() => cardInit(model, g), /already exists/);
  assert.doesNotThrow(() => cardInit(model, g, { force: true, labels: ['a', 'b', 'c'] }));
  assert.deepEqual(readCard(cardPath).labels, ['a', 'b', 'c']);
  assert.throws(() => cardInit(model, g, { force: true, labels: ['a'] }), /1 labels given, the model has 3 classes/);

  // a model with a dynamic input size reads its size from the card next to it
  const ocr = path.join(dir, 'cls.onnx');
  fs.copyFileSync(paddleOcrClsModel(), ocr);
  await assert.rejects(loadModel(ocr), /no fixed height and width/);
  const g2 = await loadModel(ocr, { inputSize: [48, 192] });
  cardInit(ocr, g2);
  assert.equal(cardPathFor(ocr), path.join(dir, 'cls.lens.json'));
  const g3 = await loadModel(ocr);
  assert.deepEqual(g3.nodes[g3.input].shape, [48, 192, 3]);
});
