/** Broken files of every format give one-line LensErrors that name the file and the problem. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadModel } from '../../src/core/loaders/registry';
import { isLensError } from '../../src/core/errors';
import { emotionModel, paddleOcrClsModel } from './helpers/realModels';

const FX = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'loaders');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-loader-errors-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, data: string | Buffer): string {
  const p = path.join(tmp, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
  return p;
}

function truncated(src: string, name: string, frac = 0.5): string {
  const b = fs.readFileSync(src);
  return write(name, b.subarray(0, Math.floor(b.length * frac)));
}

async function expectError(file: string, code: string, re: RegExp, opts = {}): Promise<string> {
  try {
    await loadModel(file, opts);
  } catch (e) {
    assert.ok(isLensError(e), `a LensError, got ${(e as Error).stack}`);
    const msg = (e as Error).message;
    assert.ok(!msg.includes('\n'), `one line: ${msg}`);
    assert.ok(msg.startsWith(file), `names the file: ${msg}`);
    assert.equal(e.code, code, msg);
    assert.match(msg, re);
    console.log(`  ${e.code}: ${msg.replace(tmp, '<tmp>').replace(FX, '<fixtures>')}`);
    return msg;
  }
  assert.fail(`${file} loaded without error`);
}

const emotion = JSON.parse(fs.readFileSync(emotionModel(), 'utf8'));
const emotionBin = fs.readFileSync(path.join(path.dirname(emotionModel()), 'emotion.bin'));

test('TF.js graph model: truncated JSON, missing shard, short shard, unsupported op, missing constant', async () => {
  const text = JSON.stringify(emotion);
  await expectError(write('g-trunc/model.json', text.slice(0, text.length / 2)), 'bad-model', /not valid JSON/);
  await expectError(write('g-noshard/model.json', text), 'missing-weights', /weight shard 'emotion\.bin' not found/);
  write('g-short/emotion.bin', emotionBin.subarray(0, 1000));
  await expectError(write('g-short/model.json', text), 'missing-weights', /shards are too short/);
  const bad = structuredClone(emotion);
  bad.modelTopology.node.find((n: { op: string }) => n.op === 'Relu').op = 'Selu';
  write('g-op/emotion.bin', emotionBin);
  await expectError(write('g-op/model.json', JSON.stringify(bad)), 'unsupported-op', /node '.*block3_sepconv1_act\/Relu' \(Selu\): op 'Selu' is not supported/);
  const noConst = structuredClone(emotion);
  noConst.weightsManifest[0].weights = noConst.weightsManifest[0].weights.filter((w: { name: string }) => w.name !== 'unknown_43');
  write('g-const/emotion.bin', emotionBin);
  await expectError(write('g-const/model.json', JSON.stringify(noConst)), 'missing-weights', /node 'unknown_43' \(Const\): constant is missing from the weights manifest/);
  const escape = structuredClone(emotion);
  escape.weightsManifest[0].paths = ['../../etc/passwd'];
  await expectError(write('g-escape/model.json', JSON.stringify(escape)), 'bad-model', /leaves the model's folder/);
});

test('TF.js layers model: not a model, unsupported layer', async () => {
  await expectError(write('l-magic/model.json', '{"modelTopology": 5}'), 'bad-model', /no Keras model topology/);
  const cfg = JSON.parse(fs.readFileSync(path.join(FX, 'cnn_tfjs', 'model.json'), 'utf8'));
  cfg.modelTopology.model_config.config.layers.find((l: { name: string }) => l.name === 'pool').class_name = 'UpSampling2D';
  write('l-op/weights.bin', fs.readFileSync(path.join(FX, 'cnn_tfjs', 'weights.bin')));
  await expectError(write('l-op/model.json', JSON.stringify(cfg)), 'unsupported-op', /layer 'pool': layer class 'UpSampling2D' is not supported/);
});

test('Keras .h5: truncated, wrong magic, missing weights, unsupported layer', async () => {
  await expectError(truncated(path.join(FX, 'cnn.h5'), 'trunc.h5'), 'bad-model', /truncated or corrupt/);
  await expectError(truncated(path.join(FX, 'cnn.h5'), 'trunc-small.h5', 0.02), 'bad-model', /truncated or corrupt/);
  await expectError(write('magic.h5', 'this is not an HDF5 file at all'), 'bad-model', /not HDF5 \(wrong magic bytes\)/);
  await expectError(path.join(FX, 'broken_missing_weights.h5'), 'missing-weights', /layer 'fc2': weight 'bias' is missing/);
  await expectError(path.join(FX, 'broken_unsupported.h5'), 'unsupported-op', /layer 'pool': layer class 'UpSampling2D' is not supported/);
});

test('Keras 3 .keras: truncated, wrong magic, no config, missing weights, unsupported layer', async () => {
  await expectError(truncated(path.join(FX, 'cnn.keras'), 'trunc.keras', 0.9), 'bad-model', /truncated/);
  await expectError(write('magic.keras', 'PK? no, plain text'), 'bad-model', /not a zip archive/);
  await expectError(path.join(FX, 'broken_no_config.keras'), 'bad-model', /config\.json is missing/);
  await expectError(path.join(FX, 'broken_missing_weights.keras'), 'missing-weights', /layer 'res_b': weight 'bias' \(variable 1\) is missing/);
  await expectError(path.join(FX, 'broken_unsupported.keras'), 'unsupported-op', /layer 'pool': layer class 'UpSampling2D' is not supported/);
});

test('ONNX: truncated, wrong magic, missing weights, unsupported op, dynamic input size', async () => {
  await expectError(truncated(path.join(FX, 'cnn.onnx'), 'trunc.onnx'), 'bad-model', /truncated or corrupt/);
  await expectError(write('magic.onnx', 'not protobuf'), 'bad-model', /not an ONNX model/);
  await expectError(path.join(FX, 'broken_missing_weights.onnx'), 'missing-weights', /node '\/conv\/Conv' \(Conv\): weights 'conv\.weight' missing/);
  await expectError(path.join(FX, 'broken_unsupported.onnx'), 'unsupported-op', /node '\/Resize' \(Resize\): operator 'Resize' is not supported/);
  await expectError(paddleOcrClsModel(), 'unsupported-op', /input 'x' has no fixed height and width.*model card/);
});

test('unknown formats and missing files', async () => {
  await expectError(write('model.txt', 'hello'), 'bad-model', /not a model format/);
  await expectError(path.join(tmp, 'nope.onnx'), 'bad-model', /not found/);
});
