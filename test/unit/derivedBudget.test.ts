/**
 * The derived-kernel cache has a byte budget (large transformers under γ ran out of wasm heap with
 * four cached copies of every dense kernel). Past it, kernels are made per use: the relevances must
 * be those of the cached run, the cache must stay within its budget, and nothing may leak.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend, tf } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import { PreparedGraph } from '../../src/core/engine/prepared';
import { loadModel } from '../../src/core/loaders/registry';
import { canonize } from '../../src/core/graph/canonize';

const DIR = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'transformers');
const REF = JSON.parse(fs.readFileSync(path.join(DIR, 'reference.json'), 'utf8')) as Record<string, { input: number[]; inputShape: number[] }>;

for (const budget of [0, 20_000]) {
  test(`ViT under γ composites with a derived-kernel budget of ${budget} bytes: same relevance, cache within budget, no leaks`, async () => {
    await initBackend('wasm');
    const g = canonize(await loadModel(path.join(DIR, 'vit.onnx')));
    const input = { shape: REF.vit.inputShape, data: Float32Array.from(REF.vit.input) };
    const before = tf.memory().numTensors;
    const free = new Explainer(g);
    const prep = new PreparedGraph(g, { cacheBytes: budget });
    const tight = new Explainer(g, prep);
    try {
      for (const composite of ['attn-lrp-gamma', 'cp-lrp-gamma', 'epsilon-gamma-box', 'epsilon-alpha2-beta1']) {
        const opts = { method: 'lrp' as const, composite, params: { low: -3, high: 3 } };
        const want = free.explain(input, opts).relevance.data;
        const got = tight.explain(input, opts).relevance.data;
        let worst = 0;
        let scale = 0;
        for (let i = 0; i < want.length; i++) {
          worst = Math.max(worst, Math.abs(got[i] - want[i]));
          scale = Math.max(scale, Math.abs(want[i]));
        }
        assert.ok(scale > 0 && worst <= 1e-6 * scale, `${composite}: max |Δ| ${worst} of max |R| ${scale}`);
        assert.ok(prep.derivedBytes <= budget, `${composite}: cache holds ${prep.derivedBytes} bytes`);
      }
      const settled = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) tight.explain(input, { method: 'lrp', composite: 'attn-lrp-gamma', targetClass: i });
      assert.equal(tf.memory().numTensors, settled, 'tensor count after repeated over-budget explanations');
    } finally {
      free.dispose();
      tight.dispose();
      prep.dispose();
    }
    assert.equal(tf.memory().numTensors, before, 'everything freed by dispose()');
  });
}
