/**
 * A compile's Emitter (its graph writer, kernel layouts, initializer list and the model's bytes) is
 * garbage once the session is made: what a cached session keeps are the fed inputs' makers, which must not
 * reach it. The makers of the fed mixed kernels were arrows inside the transposed convolution's emitter,
 * whose closure context held the Emitter, so the universal explainer kept every compile of the extension
 * alive (a heap snapshot of ResNet-50's engine process: two Emitters). Counted with the inspector's
 * queryObjects after a collection.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as inspector from 'node:inspector';
import { initBackend } from '../../src/core/engine/backend';
import { sizeOf } from '../../src/core/graph/ir';
import { Emitter } from '../../src/core/onnx/emitter';
import { OnnxExplainer } from '../../src/core/onnx/onnxExplainer';
import { collectGarbage } from '../../src/core/onnx/oneRun';
import { makeNet } from './oracle/randomNets';
import { NET_SEEDS } from './oracle/cases';
import { Rand } from './helpers/methodNets';

/** Live objects whose prototype is Emitter.prototype. */
async function liveEmitters(): Promise<number> {
  collectGarbage();
  const s = new inspector.Session();
  s.connect();
  const post = <T>(method: string, params: object): Promise<T> =>
    new Promise((resolve, reject) => s.post(method, params, (err, res) => (err ? reject(err) : resolve(res as T))));
  const g = globalThis as unknown as { __emitterPrototype?: object };
  g.__emitterPrototype = Emitter.prototype;
  try {
    const proto = await post<{ result: { objectId: string } }>('Runtime.evaluate', { expression: 'globalThis.__emitterPrototype' });
    const found = await post<{ objects: { objectId: string } }>('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId });
    const n = await post<{ result: { value: number } }>('Runtime.callFunctionOn', {
      objectId: found.objects.objectId, functionDeclaration: 'function () { return this.length; }', returnByValue: true,
    });
    return n.result.value;
  } finally {
    delete g.__emitterPrototype;
    s.disconnect();
  }
}

test('the universal explainer keeps no compile alive: its own graph, the backward-only graph and a rule change', async () => {
  await initBackend('wasm');
  const g = (await makeNet('residual', NET_SEEDS.residual, {})).graph;
  const shape = g.nodes[g.input].shape;
  const input = { shape, data: new Rand(5).array(sizeOf(shape), 1, 0) };
  const o = new OnnxExplainer(g, { universal: true });
  try {
    const opts = { method: 'lrp' as const, composite: 'epsilon-gamma-box', params: { low: -1, high: 1 }, conservationDetail: true };
    await o.explain(input, opts);
    assert.ok(await o.prepareRuleChanges(), 'the rule changes\' build made nothing');
    const changed = await o.explain(input, { ...opts, composite: 'epsilon-alpha2-beta1' });
    assert.ok(changed.timings.backwardOnly, 'the rule change did not run on the backward-only graph');
    // the sessions are alive (the explainer is used below): their fed inputs' makers must not hold a compile
    assert.equal(await liveEmitters(), 0);
    const again = await o.explain(input, opts);
    assert.ok(again.relevance.data.some((v) => v !== 0));
  } finally {
    await o.dispose();
  }
});
