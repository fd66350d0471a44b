/**
 * The project's own fixtures (scripts/fixtures/make_torch_fixtures.py): a PyTorch CNN with BatchNorm, a
 * residual block, a concat, depthwise conv, ReLU6, LeakyReLU and a stand-alone BatchNorm, exported to
 * ONNX and written with h5py as Keras .h5 / .keras and as a TF.js layers twin of the same weights.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../../src/core/engine/backend';
import { loadModel } from '../../src/core/loaders/registry';
import type { Graph } from '../../src/core/graph/ir';
import { assertSupported, summarizeGraph } from '../../src/core/graph/summary';
import { biasFreeConservation, canonizedOutput, maxAbsDiff, modelOutput, runAllPresets } from './helpers/lensCheck';

const DIR = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'loaders');
const TOL = 1e-4;
const fx = (f: string): string => path.join(DIR, f);

interface Ref { inputShapeNHWC: number[]; input: number[]; output: number[] }
const cnnRef = JSON.parse(fs.readFileSync(fx('cnn.reference.json'), 'utf8')) as Ref;
const smallRef = JSON.parse(fs.readFileSync(fx('small.reference.json'), 'utf8')) as Record<string, Ref>;
const inputOf = (r: Ref) => ({ shape: r.inputShapeNHWC.slice(1), data: Float32Array.from(r.input) });

const graphs = new Map<string, Graph>();
async function load(f: string): Promise<Graph> {
  let g = graphs.get(f);
  if (!g) {
    g = await loadModel(fx(f));
    graphs.set(f, g);
  }
  return g;
}

test.before(async () => {
  await initBackend('wasm');
});

test('torch CNN: tfjs-layers runs the TF.js twin as PyTorch does (fixture sanity)', async () => {
  const file = fx('cnn_tfjs/model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const data = fs.readFileSync(fx('cnn_tfjs/weights.bin'));
  const model = await tfl.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights,
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer,
  }));
  const x = tf.tensor4d(cnnRef.input, cnnRef.inputShapeNHWC as [number, number, number, number]);
  const y = (model.predict(x) as tf.Tensor).dataSync();
  x.dispose();
  model.dispose();
  const d = maxAbsDiff(y, cnnRef.output);
  console.log(`TF.js twin (tfjs-layers) vs PyTorch: max |diff| ${d.toExponential(2)}`);
  assert.ok(d <= TOL);
});

for (const [file, format] of [['cnn.onnx', 'onnx'], ['cnn.h5', 'keras-h5'], ['cnn.keras', 'keras3'], ['cnn_tfjs/model.json', 'tfjs-layers']] as const) {
  test(`torch CNN as ${format}: predicts as PyTorch (≤ ${TOL}); every LRP preset; bias-free LRP-0 conserves`, async () => {
    const t0 = performance.now();
    const g = await load(file);
    const ms = performance.now() - t0;
    assert.equal(g.format, format);
    assertSupported(g, file);
    const ops = new Set(g.nodes.map((n) => n.op));
    for (const op of ['conv2d', 'depthwiseConv2d', 'add', 'concat', 'maxPool', 'avgPool', 'batchNorm', 'dense']) assert.ok(ops.has(op as never), `${format} graph has ${op}`);
    const got = modelOutput(g, inputOf(cnnRef));
    const d = maxAbsDiff(got, cnnRef.output);
    const dc = maxAbsDiff(canonizedOutput(g, inputOf(cnnRef)), cnnRef.output);
    assert.ok(dc <= TOL, `canonized: max |diff| ${dc}`);
    const runs = runAllPresets(g, inputOf(cnnRef));
    const c = biasFreeConservation(g, inputOf(cnnRef));
    console.log(`${format}: load ${ms.toFixed(1)} ms, max |diff| vs PyTorch ${d.toExponential(2)}, presets ${runs.map((r) => r.ms).join('/')} ms, bias-free LRP-0 rel ${c.rel.toExponential(2)}`);
    assert.ok(d <= TOL, `max |diff| ${d}`);
    assert.ok(c.rel <= 1e-3, `relative conservation error ${c.rel}`);
  });
}

test('Keras .h5 and .keras give the same predictions as their TF.js twin', async () => {
  const twin = modelOutput(await load('cnn_tfjs/model.json'), inputOf(cnnRef));
  for (const f of ['cnn.h5', 'cnn.keras']) {
    const d = maxAbsDiff(modelOutput(await load(f), inputOf(cnnRef)), twin);
    assert.ok(d <= 1e-6, `${f}: max |diff| vs twin ${d}`);
  }
});

for (const name of Object.keys(smallRef)) {
  test(`ONNX ${name}: predicts as PyTorch (≤ ${TOL}); LRP presets run; bias-free LRP-0 conserves`, async () => {
    const g = await load(`${name}.onnx`);
    assertSupported(g, name);
    const ref = smallRef[name];
    const d = maxAbsDiff(modelOutput(g, inputOf(ref)), ref.output);
    const dc = maxAbsDiff(canonizedOutput(g, inputOf(ref)), ref.output);
    assert.ok(dc <= TOL, `canonized: max |diff| ${dc}`);
    runAllPresets(g, inputOf(ref));
    const c = biasFreeConservation(g, inputOf(ref));
    console.log(`${name}: max |diff| vs PyTorch ${d.toExponential(2)}, bias-free LRP-0 rel ${c.rel.toExponential(2)}`);
    assert.ok(d <= TOL, `max |diff| ${d}`);
    assert.ok(c.rel <= 1e-3, `relative conservation error ${c.rel}`);
  });
}

test('ONNX patterns map onto the IR as intended', async () => {
  const grouped = await load('small_grouped.onnx');
  const g1 = grouped.nodes.find((n) => n.name === '/g/Conv')!;
  assert.equal(g1.op, 'conv2d');
  assert.equal(g1.sourceClass, 'Conv(group=2)');
  assert.equal(grouped.nodes.find((n) => n.name === '/dw/Conv')!.op, 'depthwiseConv2d');
  const se = await load('small_hardswish_se.onnx');
  const rows = summarizeGraph(se).rows;
  assert.ok(rows.some((r) => r.op === 'mul' && r.sourceClass === 'HardSwish'));
  assert.ok(rows.some((r) => r.op === 'mul' && r.sourceClass === 'Mul'));
  const pad = await load('small_pad_pool.onnx');
  const mp = pad.nodes.find((n) => n.op === 'maxPool')!;
  assert.deepEqual(mp.attrs.pool!.padding, [[1, 1], [1, 1]]);
  assert.deepEqual(pad.nodes.find((n) => n.op === 'pad')!.attrs.pads, [[0, 1], [1, 2]]);
});

test('ONNX: the graph keeps no view of the file\'s bytes (initializers are read in place, kept ones copied once)', async () => {
  const { loadOnnx, ownParams } = await import('../../src/core/loaders/onnx');
  for (const f of fs.readdirSync(DIR).filter((n) => n.endsWith('.onnx') && !n.startsWith('broken'))) {
    const g = loadOnnx(fx(f));
    const ps = g.nodes.flatMap((node) => Object.values(node.params).filter((p) => p !== undefined));
    assert.ok(ps.length > 0, `${f}: parameters`);
    for (const p of ps) assert.equal(p.data.byteLength, p.data.buffer.byteLength, `${f}: a parameter views a larger buffer`);
  }
  // the copy step itself: views of one file buffer copied (a shared one once), own arrays left as they are
  const file = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const shared = file.subarray(2, 4);
  const own = new Float32Array([9, 9]);
  const g = ownParams({
    nodes: [
      { id: 0, name: 'a', op: 'dense', inputs: [], shape: [2], params: { kernel: { shape: [2], data: shared }, bias: { shape: [2], data: own } }, attrs: {} },
      { id: 1, name: 'b', op: 'dense', inputs: [0], shape: [2], params: { kernel: { shape: [2], data: shared } }, attrs: {} },
    ],
  } as unknown as Graph);
  const [a, b] = g.nodes;
  assert.deepEqual(Array.from(a.params.kernel!.data), [3, 4]);
  assert.equal(a.params.kernel!.data.buffer.byteLength, 8);
  assert.equal(a.params.kernel!.data, b.params.kernel!.data, 'one copy for a shared view');
  assert.equal(a.params.bias!.data, own);
  file.fill(0);
  assert.deepEqual(Array.from(b.params.kernel!.data), [3, 4], 'independent of the file buffer');
});
