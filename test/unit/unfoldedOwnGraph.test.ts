/**
 * The engine process's own graphs (OnnxExplainer `universal` with `idleBuild`) of nets without layer norms
 * are unfolded: the session derives every kernel it reads (relayouts, w⁺, the γ rule's mixed kernels, z^B's
 * bound products) from the weight arrays in each run and holds no copy of its own. Probed as onnxBorrowedWeights.test.ts
 * probes the no-copy property: the weights are changed in place after the first explanation, and the next
 * one must equal wasm's on the changed net. A session holding folded or JS-made kernels mixes the old
 * weights in (the previous basic-optimised session: max |diff| far above the tolerance). Once the idle
 * build has made the rule changes' kernel arrays, new images run on an own graph over those instead.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import { OnnxExplainer } from '../../src/core/onnx/onnxExplainer';
import { ortStatus } from '../../src/core/onnx/runtime';
import { GraphBuilder } from '../../src/core/graph/builder';
import type { Graph } from '../../src/core/graph/ir';
import type { ExplainOptions } from '../../src/core/methods/types';
import { param, Rand } from './helpers/methodNets';
import { assertSameExplanation } from './helpers/sameExplanation';

const conv = (s: number) => ({ conv: { strides: [s, s] as [number, number], padding: 'same' as const, dilations: [1, 1] as [number, number] } });

/** Kernels of ≥ 64 KB (external data, read in place: onnxGraph.ts): a stride-1 3×3, a strided 3×3, a 1×1, a dense; and the small logits layer. */
function net(): Graph {
  const r = new Rand(23);
  const b = new GraphBuilder('unfolded');
  const bias = (n: number) => ({ shape: [n], data: r.array(n, 0.05) });
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [8, 8, 32] });
  x = b.add({ name: 'c1', op: 'conv2d', inputs: [x], attrs: conv(1), params: { kernel: param(r, [3, 3, 32, 64], 288), bias: bias(64) } });
  x = b.add({ name: 'r1', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  x = b.add({ name: 'c2', op: 'conv2d', inputs: [x], attrs: conv(2), params: { kernel: param(r, [3, 3, 64, 64], 576), bias: bias(64) } });
  x = b.add({ name: 'r2', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  x = b.add({ name: 'c3', op: 'conv2d', inputs: [x], attrs: conv(1), params: { kernel: param(r, [1, 1, 64, 256], 64), bias: bias(256) } });
  x = b.add({ name: 'r3', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  x = b.add({ name: 'gap', op: 'globalAvgPool', inputs: [x] });
  x = b.add({ name: 'd1', op: 'dense', inputs: [x], params: { kernel: param(r, [256, 64], 256), bias: bias(64) } });
  x = b.add({ name: 'r4', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  const out = b.add({ name: 'logits', op: 'dense', inputs: [x], params: { kernel: param(r, [64, 10], 64), bias: bias(10) } });
  return b.build('unfolded', 'test', out);
}

test('engine process (universal, idle build): the own graph holds no kernel of its own (weights changed in place show in the next run)', async () => {
  assert.ok(ortStatus().available, `onnxruntime-node: ${ortStatus().reason}`);
  await initBackend('cpu');
  const g = net();
  const input = { data: new Rand(5).array(8 * 8 * 32, 1, 0), shape: [8, 8, 32] };
  // γ (mixed kernels), z^B at the input (bound products), α-β (w⁺, w⁻), ε at the dense layers
  const runs: ExplainOptions[] = [
    { method: 'lrp', composite: 'epsilon-gamma-box', params: { low: -3, high: 3 } },
    { method: 'lrp', composite: 'epsilon-alpha2-beta1' },
  ];
  const o = new OnnxExplainer(g, { universal: true, idleBuild: true });
  try {
    for (const opts of runs) {
      const w = new Explainer(g);
      try {
        assertSameExplanation(w.explain(input, opts), await o.explain(input, opts), `${opts.composite} before the change`);
      } finally {
        w.dispose();
      }
    }
    // a probe of the no-copy property only: the engine never writes a graph's kernels. The kernels under
    // 64 KB are written into the model's bytes, a copy by design (the logits' layer here)
    const changed: string[] = [];
    for (const n of g.nodes) {
      const k = n.params.kernel;
      if (!k || k.data.byteLength < 2 ** 16) continue;
      for (let i = 0; i < k.data.length; i += 3) k.data[i] = -k.data[i];
      changed.push(n.name);
    }
    assert.deepEqual(changed, ['c1', 'c2', 'c3', 'd1']);
    for (const [i, opts] of runs.entries()) {
      // a new image, which the own graph explains (a rule change of the same image runs the backward-only
      // graph on the held forward values and its kernel arrays, made from the weights as they were)
      const next = { data: new Rand(6 + i).array(8 * 8 * 32, 1, 0), shape: [8, 8, 32] };
      // the wasm explainer made now reads the changed kernels
      const w = new Explainer(g);
      try {
        const got = await o.explain(next, opts);
        assert.equal(got.timings.backwardOnly, 0, 'the own graph explained the new image');
        assertSameExplanation(w.explain(next, opts), got, `${opts.composite} after the change`);
      } finally {
        w.dispose();
      }
    }
  } finally {
    await o.dispose();
  }
});

test('engine process (universal, idle build): after the build, new images run on the own graph over the rule changes\' arrays', async () => {
  assert.ok(ortStatus().available, `onnxruntime-node: ${ortStatus().reason}`);
  await initBackend('cpu');
  const g = net();
  const image = (seed: number) => ({ data: new Rand(seed).array(8 * 8 * 32, 1, 0), shape: [8, 8, 32] });
  const opts: ExplainOptions = { method: 'lrp', composite: 'epsilon-gamma-box', params: { low: -3, high: 3 }, conservationDetail: true };
  const change: ExplainOptions = { ...opts, composite: 'epsilon-alpha2-beta1' };
  const w = new Explainer(g);
  const o = new OnnxExplainer(g, { universal: true, idleBuild: true });
  try {
    const first = await o.explain(image(1), opts);
    assert.equal(first.timings.ownArrays, 0, 'the first explanation: the unfolded own graph');
    assert.equal(await o.prepareRuleChanges(), true);
    assert.equal(await o.prepareNewImages(), true, 'the own graph over the arrays');
    assert.equal(await o.prepareNewImages(), false, 'built once');
    for (const seed of [2, 3]) {
      const r = await o.explain(image(seed), opts);
      assert.equal(r.timings.ownArrays, 1, `image ${seed}: the own graph over the arrays`);
      assertSameExplanation(w.explain(image(seed), opts), r, `image ${seed}`);
      // and a rule change on its forward values
      const c = await o.explain(image(seed), change);
      assert.equal(c.timings.backwardOnly, 1);
      assertSameExplanation(w.explain(image(seed), change), c, `image ${seed}, α-β`);
    }
  } finally {
    w.dispose();
    await o.dispose();
  }
});
