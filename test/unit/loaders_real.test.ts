/**
 * Real third-party models (../shared/DATA.md) load through the loaders and predict what an independent
 * runtime predicts: tfjs-layers' own loadLayersModel and tfjs-converter's loadGraphModel for the TF.js
 * models, stored onnxruntime outputs for the ONNX one. Every LRP preset runs on each; a bias-free copy
 * conserves under LRP-0.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfc from '@tensorflow/tfjs-converter';
import { initBackend, tf } from '../../src/core/engine/backend';
import { loadModel } from '../../src/core/loaders/registry';
import { canonize } from '../../src/core/graph/canonize';
import type { Graph } from '../../src/core/graph/ir';
import { assertSupported, summarizeGraph } from '../../src/core/graph/summary';
import { Explainer } from '../../src/core/methods/explain';
import { emotionModel, nsfwjsModel, paddleOcrClsModel, seededUniform } from './helpers/realModels';
import { biasFreeConservation, canonizedOutput, maxAbsDiff, modelOutput, runAllPresets } from './helpers/lensCheck';
import { COMPOSITE_NAMES } from '../../src/core/composites/presets';

const TOL = 1e-4;
const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'loaders');

function artifacts(file: string): tf.io.ModelArtifacts {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const dir = path.dirname(file);
  const specs = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights);
  const data = Buffer.concat(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
  return {
    modelTopology: json.modelTopology, weightSpecs: specs,
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer,
    format: json.format, userDefinedMetadata: json.userDefinedMetadata,
  };
}

const loaded = new Map<string, { graph: Graph; ms: number }>();
async function load(file: string, opts = {}): Promise<{ graph: Graph; ms: number }> {
  let v = loaded.get(file);
  if (!v) {
    const t0 = performance.now();
    const graph = await loadModel(file, opts);
    v = { graph, ms: performance.now() - t0 };
    loaded.set(file, v);
  }
  return v;
}

let backend = '';
test.before(async () => {
  backend = await initBackend('wasm');
});

const MODELS = [
  { name: 'nsfwjs MobileNetV2 (TF.js layers)', file: () => nsfwjsModel('mobilenet_v2'), kind: 'layers', shape: [224, 224, 3], lo: 0, hi: 1 },
  { name: 'nsfwjs MobileNetV2 (TF.js graph)', file: () => nsfwjsModel('mobilenet_v2_mid'), kind: 'graph', shape: [224, 224, 3], lo: 0, hi: 1 },
  { name: 'human mini-Xception emotion (TF.js graph)', file: () => emotionModel(), kind: 'graph', shape: [64, 64, 1], lo: -1, hi: 1 },
] as const;

for (const m of MODELS) {
  test(`${m.name}: loads and predicts as tfjs does (≤ ${TOL})`, async () => {
    const file = m.file();
    const { graph, ms } = await load(file);
    assert.deepEqual(graph.nodes[graph.input].shape, m.shape);
    assertSupported(graph, file);
    const data = seededUniform(m.shape[0] * m.shape[1] * m.shape[2], 7, m.lo, m.hi);
    const x = tf.tensor4d(data, [1, ...m.shape] as [number, number, number, number]);
    let want: Float32Array;
    if (m.kind === 'layers') {
      const model = await tfl.loadLayersModel(tf.io.fromMemory(artifacts(file)));
      want = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
      model.dispose();
    } else {
      const model = await tfc.loadGraphModel(tf.io.fromMemory(artifacts(file)));
      want = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
      model.dispose();
    }
    x.dispose();
    const input = { shape: [...m.shape], data };
    const got = modelOutput(graph, input);
    const d = maxAbsDiff(got, want);
    // canonized graph: the logits, whose softmax is the model's output
    const canon = new Explainer(canonize(graph));
    const p = canon.predict(input);
    canon.dispose();
    const dc = maxAbsDiff(p.prediction.map((q) => q.score), p.prediction.map((q) => want[q.class]));
    console.log(`${m.name} [${backend}]: load ${ms.toFixed(0)} ms, ${graph.nodes.length} nodes, ${summarizeGraph(graph).params} params; max |diff| vs tfjs ${d.toExponential(2)} (canonized ${dc.toExponential(2)})`);
    assert.ok(d <= TOL, `max |diff| ${d}`);
    assert.ok(dc <= TOL, `canonized max |diff| ${dc}`);
  });

  test(`${m.name}: every LRP preset runs; bias-free LRP-0 conserves`, async () => {
    const { graph } = await load(m.file());
    const data = seededUniform(m.shape[0] * m.shape[1] * m.shape[2], 7, m.lo, m.hi);
    const input = { shape: [...m.shape], data };
    const runs = runAllPresets(graph, input, true);
    // the ten presets and their bias-free variants
    assert.equal(runs.length, COMPOSITE_NAMES.length);
    assert.ok(runs.length >= 19);
    const c = biasFreeConservation(graph, input);
    console.log(`${m.name}: bias-free LRP-0 input sum ${c.sum.toPrecision(6)} vs logit ${c.logit.toPrecision(6)} (rel ${c.rel.toExponential(2)})`);
    assert.ok(c.rel <= 1e-3, `relative conservation error ${c.rel}`);
  });
}

const ppocr = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'ppocr_cls.reference.json'), 'utf8')) as {
  cases: { seed: number; lo: number; hi: number; inputShapeHWC: number[]; output: number[] }[];
};
test('PaddleOCR direction classifier (ONNX): loads; its gating nodes (mul) are supported', async () => {
  const file = paddleOcrClsModel();
  const { graph, ms } = await load(file, { inputSize: [48, 192] });
  assert.deepEqual(graph.nodes[graph.input].shape, [48, 192, 3]);
  assert.deepEqual(graph.nodes[graph.output].shape, [2]);
  const s = summarizeGraph(graph);
  console.log(`PaddleOCR cls: load ${ms.toFixed(0)} ms, ${graph.nodes.length} nodes, ${s.params} params`);
  assert.ok(graph.nodes.some((n) => n.op === 'depthwiseConv2d'));
  const gates = s.rows.filter((r) => r.op === 'mul');
  assert.ok(gates.some((r) => r.name === 'p2o.Mul.0'), `mul nodes: ${gates.map((r) => r.name).join(', ')}`);
  assert.deepEqual(s.unsupported, []);
  assert.doesNotThrow(() => assertSupported(graph, file));
});

test('PaddleOCR direction classifier (ONNX): predicts as onnxruntime did (≤ 1e-4)', async () => {
  const { graph } = await load(paddleOcrClsModel(), { inputSize: [48, 192] });
  for (const c of ppocr.cases) {
    const data = seededUniform(48 * 192 * 3, c.seed, c.lo, c.hi);
    const got = modelOutput(graph, { shape: c.inputShapeHWC, data });
    const d = maxAbsDiff(got, c.output);
    const dc = maxAbsDiff(canonizedOutput(graph, { shape: c.inputShapeHWC, data }), c.output);
    console.log(`PaddleOCR cls seed ${c.seed}: max |diff| vs onnxruntime ${d.toExponential(2)} (canonized ${dc.toExponential(2)})`);
    assert.ok(d <= TOL, `max |diff| ${d}`);
    assert.ok(dc <= TOL, `canonized: max |diff| ${dc}`);
  }
});

test('PaddleOCR direction classifier (ONNX): every LRP preset runs; bias-free LRP-0 conserves', async () => {
  const { graph } = await load(paddleOcrClsModel(), { inputSize: [48, 192] });
  const input = { shape: [48, 192, 3], data: seededUniform(48 * 192 * 3, 1, -1, 1) };
  runAllPresets(graph, input, true);
  const c = biasFreeConservation(graph, input);
  console.log(`PaddleOCR cls: bias-free LRP-0 input sum ${c.sum.toPrecision(6)} vs logit ${c.logit.toPrecision(6)} (rel ${c.rel.toExponential(2)})`);
  assert.ok(c.rel <= 1e-3, `relative conservation error ${c.rel}`);
});
