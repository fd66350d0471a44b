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

test('assertSupported names the first unsupported node before any computation', async () => {
  const g = await loadModel(path.join(FX, 'small_hardswish_se.onnx'));
  const s = summarizeGraph(g);
  if (s.unsupported.length === 0) return; // the engine learned the gating op
  assert.throws(() => assertSupported(g, 'se.onnx'), (e: unknown) => {
    assert.ok(isLensError(e));
    assert.equal(e.code, 'unsupported-op');
    assert.match(e.message, /^se\.onnx: node '\/HardSwish' \(HardSwish, op mul\) is not supported: elementwise gate.* \(and 1 more unsupported node\)$/);
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
