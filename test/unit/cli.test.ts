/** The CLI contract of DESIGN.md: outputs, JSON schema, exit codes, one-line errors, no half-written files. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertExit2, DEMO_DIGIT, DEMO_MODEL, runCli } from './helpers/cli';
import { readNpy, writeNpy } from '../../src/core/io/npy';
import { decodeImage } from '../../src/core/image/decode';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-cli-'));
const out = (name: string): string => path.join(tmp, name);

function assertBadInput(args: string[], mentions: string, outputs: string[] = []): void {
  assertExit2(args, mentions, tmp, outputs);
}

/** Copies the demo model into a temp folder so it can be damaged. */
function demoCopy(name: string): string {
  const dir = out(name);
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(path.dirname(DEMO_MODEL))) fs.copyFileSync(path.join(path.dirname(DEMO_MODEL), f), path.join(dir, f));
  return path.join(dir, 'model.json');
}

test('explain writes JSON per the contract, .npy and PNG that agree', () => {
  const json = out('r.json');
  const npy = out('r.npy');
  const png = out('r.png');
  const r = runCli(['explain', DEMO_MODEL, DEMO_DIGIT(7), '--json', json, '--npy', npy, '--png', png, '--backend', 'cpu']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(fs.readFileSync(json, 'utf8'));
  for (const k of ['method', 'composite', 'rules', 'target', 'prediction', 'relevance', 'layers', 'inputRelevanceSum', 'timings']) assert.ok(k in j, k);
  assert.equal(j.method, 'lrp');
  assert.equal(j.composite, 'epsilon-gamma-box');
  assert.equal(j.target.class, 7);
  assert.equal(j.target.label, '7');
  assert.equal(j.prediction.length, 5);
  assert.deepEqual(j.relevance.shape, [28, 28, 1]);
  assert.equal(j.relevance.data.length, 784);
  assert.deepEqual(Object.keys(j.rules), ['conv1', 'conv2', 'fc1', 'fc2', 'fc3']);
  assert.match(j.rules.conv1, /^z-box:/);
  assert.equal(j.rules.conv2, 'gamma:0.25');
  // the layer rows carry the model's own names and chain: a layer's input sum is its predecessor's output sum
  const names = j.layers.map((l: { name: string }) => l.name);
  assert.ok(names.includes('pool1') && names.includes('fc3'));
  const sum = j.relevance.data.reduce((a: number, b: number) => a + b, 0);
  assert.ok(Math.abs(sum - j.inputRelevanceSum) < 1e-4 * Math.abs(sum) + 1e-6);
  const conv1 = j.layers.find((l: { name: string }) => l.name === 'conv1');
  assert.ok(Math.abs(conv1.inputRelevanceSum - j.inputRelevanceSum) < 1e-4 * Math.abs(j.inputRelevanceSum));
  const a = readNpy(fs.readFileSync(npy), npy);
  assert.deepEqual(a.shape, [28, 28, 1]);
  for (let i = 0; i < 784; i++) assert.ok(Math.abs(a.data[i] - j.relevance.data[i]) <= 1e-6 * Math.max(1, Math.abs(a.data[i])));
  const img = decodeImage(fs.readFileSync(png), png);
  // the digit is 28×28: the PNG is enlarged by the smallest integer factor reaching 224 px
  assert.equal(img.width, 224);
  assert.equal(img.height, 224);
  assert.match(r.stdout, /conv1\s+conv2d\s+z-box/);
});

test('--class, --rule overrides and .npy input are honoured', () => {
  const json = out('c.json');
  const r = runCli(['explain', DEMO_MODEL, DEMO_DIGIT(3), '--class', '5', '--composite', 'epsilon', '--rule', 'conv1=flat',
    '--rule', 'fc3=epsilon:0.25', '--json', json, '--backend', 'cpu', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(j.target.class, 5);
  assert.equal(j.rules.conv1, 'flat');
  assert.equal(j.rules.fc3, 'epsilon:0.25');
  assert.equal(j.rules.conv2, 'epsilon:0.000001');
  // the same image as an already-preprocessed .npy gives the same relevance
  const x = new Float32Array(784);
  const img = decodeImage(fs.readFileSync(DEMO_DIGIT(3)), 'd');
  for (let i = 0; i < 784; i++) x[i] = (0.299 * img.data[i * 4] + 0.587 * img.data[i * 4 + 1] + 0.114 * img.data[i * 4 + 2]) / 255;
  const npyIn = out('x.npy');
  fs.writeFileSync(npyIn, writeNpy([1, 28, 28, 1], x));
  const json2 = out('c2.json');
  const r2 = runCli(['explain', DEMO_MODEL, npyIn, '--class', '5', '--composite', 'epsilon', '--rule', 'conv1=flat',
    '--rule', 'fc3=epsilon:0.25', '--json', json2, '--backend', 'cpu', '-q']);
  assert.equal(r2.code, 0, r2.stderr);
  const j2 = JSON.parse(fs.readFileSync(json2, 'utf8'));
  for (let i = 0; i < 784; i++) assert.ok(Math.abs(j2.relevance.data[i] - j.relevance.data[i]) < 1e-5);
});

test('info lists layers with shapes, params and default rules', () => {
  const r = runCli(['info', DEMO_MODEL]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /conv1\s+conv2d\s+Conv2D\s+28×28×6\s+156\s+z-box:0,1/);
  assert.match(r.stdout, /fc3\s+dense\s+Dense\s+10\s+850\s+epsilon/);
  assert.doesNotMatch(r.stdout, /\bbn2\b/, 'BatchNorm is folded into conv2');
});

test('bad usage exits 2 with one line', () => {
  assertBadInput(['explain', DEMO_MODEL], 'usage');
  assertBadInput(['explain', DEMO_MODEL, DEMO_DIGIT(1), '--composite', 'nope'], "unknown composite 'nope'");
  assertBadInput(['explain', DEMO_MODEL, DEMO_DIGIT(1), '--rule', 'nolayer=flat'], "no layer named 'nolayer'");
  assertBadInput(['explain', DEMO_MODEL, DEMO_DIGIT(1), '--rule', 'conv1=alpha-beta:2,2'], 'alpha - beta = 1');
  assertBadInput(['explain', DEMO_MODEL, DEMO_DIGIT(1), '--class', '12'], 'out of range');
  assertBadInput(['frobnicate'], "unknown command 'frobnicate'");
});

test('a file that is not an image: exit 2, names the file, writes nothing', () => {
  const bogus = out('not-an-image.png');
  fs.writeFileSync(bogus, 'hello, I am text');
  const png = out('never.png');
  assertBadInput(['explain', DEMO_MODEL, bogus, '--png', png, '--json', out('never.json')], bogus, [png, out('never.json')]);
});

test('.npy of wrong shape or dtype: exit 2 naming the file', () => {
  const wrongShape = out('shape.npy');
  fs.writeFileSync(wrongShape, writeNpy([32, 32, 1], new Float32Array(1024)));
  assertBadInput(['explain', DEMO_MODEL, wrongShape, '--npy', out('n1.npy')], wrongShape, [out('n1.npy')]);
  const f8 = out('f8.npy');
  const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (28, 28, 1), }";
  const pad = 64 - ((10 + header.length + 1) % 64);
  const h = header + ' '.repeat(pad) + '\n';
  const buf = Buffer.alloc(10 + h.length + 784 * 8);
  buf.write('\x93NUMPY', 0, 'latin1');
  buf[6] = 1;
  buf.writeUInt16LE(h.length, 8);
  buf.write(h, 10, 'latin1');
  fs.writeFileSync(f8, buf);
  assertBadInput(['explain', DEMO_MODEL, f8], f8);
  const nan = out('nan.npy');
  const x = new Float32Array(784);
  x[10] = NaN;
  fs.writeFileSync(nan, writeNpy([28, 28, 1], x));
  assertBadInput(['explain', DEMO_MODEL, nan], 'NaN');
});

test('missing or short weight shard, weight shape mismatch, unknown layer class: exit 2 naming the model', () => {
  const missing = demoCopy('missing');
  fs.unlinkSync(path.join(path.dirname(missing), 'group1-shard1of1.bin'));
  assertBadInput(['explain', missing, DEMO_DIGIT(1), '--png', out('m.png')], missing, [out('m.png')]);
  assertBadInput(['info', missing], 'group1-shard1of1.bin');

  const short = demoCopy('short');
  const shard = path.join(path.dirname(short), 'group1-shard1of1.bin');
  fs.truncateSync(shard, fs.statSync(shard).size - 100);
  assertBadInput(['explain', short, DEMO_DIGIT(1)], 'too short');

  const mismatch = demoCopy('mismatch');
  const mj = JSON.parse(fs.readFileSync(mismatch, 'utf8'));
  const layers = mj.modelTopology.model_config?.config?.layers ?? mj.modelTopology.config.layers;
  layers.find((l: { config: { name: string } }) => l.config.name === 'fc1').config.units = 100;
  fs.writeFileSync(mismatch, JSON.stringify(mj));
  assertBadInput(['info', mismatch], "layer 'fc1'");

  const unknown = demoCopy('unknown');
  const uj = JSON.parse(fs.readFileSync(unknown, 'utf8'));
  const ul = uj.modelTopology.model_config?.config?.layers ?? uj.modelTopology.config.layers;
  ul.find((l: { config: { name: string } }) => l.config.name === 'relu2').class_name = 'FancyAttention';
  fs.writeFileSync(unknown, JSON.stringify(uj));
  assertBadInput(['explain', unknown, DEMO_DIGIT(1)], "layer 'relu2': layer class 'FancyAttention' is not supported");

  const escape = demoCopy('escape');
  const ej = JSON.parse(fs.readFileSync(escape, 'utf8'));
  ej.weightsManifest[0].paths = ['../../etc/passwd'];
  fs.writeFileSync(escape, JSON.stringify(ej));
  assertBadInput(['info', escape], "leaves the model's folder");

  const broken = out('broken.json');
  fs.writeFileSync(broken, '{"modelTopology": {');
  assertBadInput(['info', broken], broken);
});

test('an output that cannot be written leaves nothing behind', () => {
  const dir = out('ro');
  fs.mkdirSync(dir);
  const target = path.join(dir, 'sub', 'missing-dir', 'r.json');
  assertBadInput(['explain', DEMO_MODEL, DEMO_DIGIT(2), '--json', target], target, [target]);
});
