/**
 * Convolution kernels from an ONNX file stay in the file's [O, I, kh, kw] layout until something reads the
 * IR's [kh, kw, I, O] (graph/oihwKernel.ts); the compiled path reads the file's layout directly. Checked
 * against index formulas written here, and end to end: an ONNX model explained by the onnx backend
 * (fed mixed kernels, flipped stride-1 transposes, the universal graph) without ever laying its kernels
 * out for the IR, against the wasm engine on a second load of the file.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { oihwKernel } from '../../src/core/graph/oihwKernel';
import type { Node } from '../../src/core/graph/ir';
import { mixedKernel } from '../../src/core/ops/conv2d';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import type { ExplainOptions } from '../../src/core/methods/types';
import { OnnxExplainer } from '../../src/core/onnx/onnxExplainer';
import { openModel } from '../../src/core/pipeline';
import { Rand } from './helpers/methodNets';

const ROOT = path.join(__dirname, '..', '..', '..');
const CNN = path.join(ROOT, 'test', 'fixtures', 'loaders', 'cnn.onnx');
const ref = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'loaders', 'cnn.reference.json'), 'utf8')) as { inputShapeNHWC: number[]; input: number[] };

const [KH, KW, CI, CO] = [3, 2, 4, 5];
const fileIndex = (o: number, i: number, y: number, x: number): number => ((o * CI + i) * KH + y) * KW + x;
const irIndex = (o: number, i: number, y: number, x: number): number => ((y * KW + x) * CI + i) * CO + o;

function fileKernel(): Float32Array {
  return new Rand(7).array(CO * CI * KH * KW, 1, 0);
}

test('an ONNX kernel is laid out for the IR on first read, once, and then held in that layout alone', () => {
  const file = fileKernel();
  const k = oihwKernel(file, KH, KW, CI, CO);
  assert.deepEqual(k.shape, [KH, KW, CI, CO]);
  assert.equal(k.oihw, file);
  const data = k.data;
  for (let o = 0; o < CO; o++) for (let i = 0; i < CI; i++) for (let y = 0; y < KH; y++) for (let x = 0; x < KW; x++) {
    assert.equal(data[irIndex(o, i, y, x)], file[fileIndex(o, i, y, x)], `o${o} i${i} y${y} x${x}`);
  }
  assert.equal(k.oihw, undefined, 'the file layout is dropped once laid out');
  assert.equal(k.data, data, 'laid out once');
  // a write replaces the kernel (canonization folds a BatchNorm into a copy) and drops the file layout
  const other = oihwKernel(fileKernel(), KH, KW, CI, CO);
  const mine = new Float32Array(file.length).fill(2);
  other.data = mine;
  assert.equal(other.data, mine);
  assert.equal(other.oihw, undefined);
});

test('a structured clone of an ONNX kernel (a worker\'s copy of the graph) carries the IR layout, not the file\'s', () => {
  const file = fileKernel();
  const clone = structuredClone({ kernel: oihwKernel(file, KH, KW, CI, CO) }).kernel;
  assert.equal(clone.oihw, undefined);
  assert.equal(clone.data[irIndex(4, 3, 2, 1)], file[fileIndex(4, 3, 2, 1)]);
  assert.equal(clone.data[irIndex(1, 2, 0, 1)], file[fileIndex(1, 2, 0, 1)]);
});

test('mixed kernels w + γw⁺ from the file layout: forward [o, i, y, x] and the flipped transpose [i, o, kh−1−y, kw−1−x]', () => {
  const gamma = 0.3;
  const expect = (v: number): number => Math.fround(v + Math.fround(gamma) * Math.max(v, 0));
  const file = fileKernel();
  const node = { op: 'conv2d', params: { kernel: oihwKernel(file, KH, KW, CI, CO) } } as unknown as Node;
  const fwd = mixedKernel(node, gamma, false);
  const flip = mixedKernel(node, gamma, true);
  assert.ok(node.params.kernel!.oihw, 'made without laying the kernel out for the IR');
  let negatives = 0;
  for (let o = 0; o < CO; o++) for (let i = 0; i < CI; i++) for (let y = 0; y < KH; y++) for (let x = 0; x < KW; x++) {
    const v = file[fileIndex(o, i, y, x)];
    if (v < 0) negatives++;
    assert.equal(fwd[fileIndex(o, i, y, x)], expect(v), `forward o${o} i${i} y${y} x${x}`);
    assert.equal(flip[((i * CO + o) * KH + (KH - 1 - y)) * KW + (KW - 1 - x)], expect(v), `flipped o${o} i${i} y${y} x${x}`);
  }
  assert.ok(negatives > 10 && negatives < file.length - 10, 'both signs of weights');
});

const OPTS: ExplainOptions[] = [
  { method: 'lrp', composite: 'epsilon-gamma-box', params: { low: -3, high: 3 }, conservationDetail: true },
  { method: 'lrp', composite: 'epsilon-alpha2-beta1', conservationDetail: true },
  { method: 'gradient' },
];

test('an ONNX model on the onnx backend reads its kernels in the file layout and agrees with the wasm engine', async () => {
  await initBackend('wasm');
  const input = { shape: ref.inputShapeNHWC.slice(1), data: Float32Array.from(ref.input) };
  const wasm = new Explainer((await openModel(CNN)).graph);
  for (const universal of [false, true]) {
    const g = (await openModel(CNN)).graph;
    const lazy = g.nodes.filter((n) => n.params.kernel?.oihw);
    assert.ok(lazy.length >= 2, 'the fixture has ONNX convolutions');
    const o = new OnnxExplainer(g, { universal });
    try {
      for (const opts of OPTS) {
        const got = await o.explain(input, opts);
        const want = wasm.explain(input, opts);
        assert.equal(got.backend, 'onnx', got.backendReason);
        const scale = Math.max(...want.relevance.data.map(Math.abs));
        const d = Math.max(...want.relevance.data.map((v, i) => Math.abs(v - got.relevance.data[i])));
        assert.ok(scale > 0 && d <= 1e-5 * scale, `${opts.composite ?? opts.method} universal=${universal}: max |diff| ${d} of ${scale}`);
      }
      assert.ok(lazy.every((n) => n.params.kernel!.oihw), 'no kernel was laid out for the IR');
    } finally {
      await o.dispose();
    }
  }
  wasm.dispose();
});
