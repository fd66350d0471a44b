/**
 * The universal explainer holds one image's forward values and products for its rule changes. A new image
 * lets them go when its run starts, and they are collected then (OnnxExplainer `dropActs`), not beside the
 * new image's values until V8 next collects: the engine process's peak over new images (ResNet-50: 1069 ->
 * 894 MB, measured).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/core/engine/backend';
import { OnnxExplainer } from '../../src/core/onnx/onnxExplainer';
import { ortStatus } from '../../src/core/onnx/runtime';
import { GraphBuilder } from '../../src/core/graph/builder';
import type { Graph } from '../../src/core/graph/ir';
import { param, Rand } from './helpers/methodNets';

const S = 128;
const C = 64;

/** 1×1 convolutions on a 128 × 128 × 64 map: 4 MB per value, ~38 MB of forward values. */
function wideNet(): Graph {
  const r = new Rand(3);
  const b = new GraphBuilder('wide');
  const conv = { conv: { strides: [1, 1] as [number, number], padding: 'same' as const, dilations: [1, 1] as [number, number] } };
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [S, S, C] });
  for (let i = 1; i <= 4; i++) {
    x = b.add({ name: `c${i}`, op: 'conv2d', inputs: [x], attrs: conv, params: { kernel: param(r, [1, 1, C, C], C), bias: { shape: [C], data: r.array(C, 0.05) } } });
    x = b.add({ name: `r${i}`, op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  }
  x = b.add({ name: 'gap', op: 'globalAvgPool', inputs: [x] });
  const out = b.add({ name: 'logits', op: 'dense', inputs: [x], params: { kernel: param(r, [C, 5], C), bias: { shape: [5], data: r.array(5, 0.05) } } });
  return b.build('wide', 'test', out);
}

interface HeldActs { acts?: { values: Record<string, { data: Float32Array }> } }

/** The bytes of the forward values o holds, and a weak reference to one of them (no strong one escapes). */
function heldValues(o: OnnxExplainer): { bytes: number; ref: WeakRef<ArrayBufferLike> } {
  const held = Object.values((o as unknown as HeldActs).acts!.values);
  let bytes = 0;
  for (const t of held) bytes += t.data.byteLength;
  return { bytes, ref: new WeakRef(held[0].data.buffer) };
}

test('onnx universal: a new image lets the previous image\'s forward values go while it runs', async () => {
  assert.ok(ortStatus().available, `onnxruntime-node: ${ortStatus().reason}`);
  await initBackend('cpu');
  const o = new OnnxExplainer(wideNet(), { universal: true });
  try {
    const image = (seed: number) => ({ data: new Rand(seed).array(S * S * C, 1, 0), shape: [S, S, C] });
    const opts = { method: 'lrp' as const, composite: 'epsilon-plus' };
    await o.explain(image(1), opts);
    const { bytes, ref } = heldValues(o);
    assert.ok(bytes >= 32 * 2 ** 20, `forward values ${bytes} bytes: the explainer collects from 32 MB`);
    // a new WeakRef keeps its target until the current job ends (V8's KeepDuringJob): the next image comes
    // in a later one, as it does in the extension. The test calls no collection itself
    await new Promise((r) => setImmediate(r));
    await o.explain(image(2), opts);
    assert.ok(ref.deref() === undefined, 'the first image\'s forward values are still alive after the next image\'s run');
    assert.ok((o as unknown as HeldActs).acts, 'the new image\'s values are held');
  } finally {
    await o.dispose();
  }
});
