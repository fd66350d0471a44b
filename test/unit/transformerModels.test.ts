/**
 * torchvision families that need the any-rank IR (scripts/fixtures/make_transformer_fixtures.py writes
 * them with PyTorch's logits): ViT (class token, attention, LayerNorm, GELU), ConvNeXt (LayerNorm after
 * a permute, token-wise linear layers, layer scale), ShuffleNetV2 (5-D channel shuffle). Each loads,
 * predicts within 1e-4 of PyTorch, runs every composite and the gradient family, and its conservation
 * table closes on every row. Swin (window partition, cyclic shift, masks) and a CNN with GoogLeNet's
 * ceil-mode max pooling and count_include_pad=0 average pooling, and one with GroupNorm, InstanceNorm,
 * SiLU, tanh-GELU and HardSwish as PyTorch exports them, too.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import { COMPOSITE_NAMES, defaultCompositeFor } from '../../src/core/composites/presets';
import { loadModel } from '../../src/core/loaders/registry';
import { canonize } from '../../src/core/graph/canonize';
import { patchTokens, tokenMapToImage, tokenRelevance, tokenStage } from '../../src/core/image/tokenMap';
import { fitPatterns } from '../../src/core/patterns/fit';
import { formatInfo, infoReport } from '../../src/cli/commands/info';
import { openModel } from '../../src/core/pipeline';
import { toPatternSet } from '../../src/core/patterns/stats';
import { memorySource, Rand } from './helpers/methodNets';

const DIR = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'transformers');
const REF = JSON.parse(fs.readFileSync(path.join(DIR, 'reference.json'), 'utf8')) as Record<string, { input: number[]; inputShape: number[]; logits: number[] }>;
const MODELS = ['vit', 'swin', 'convnext', 'shufflenet', 'ceilpool', 'norms'];

before(async () => {
  await initBackend('wasm');
});

for (const name of MODELS) {
  test(`${name}: loads, predicts within 1e-4 of PyTorch, every composite and gradient method runs, the table closes`, async () => {
    const g = canonize(await loadModel(path.join(DIR, `${name}.onnx`)));
    const ref = REF[name];
    const ex = new Explainer(g);
    try {
      const input = { shape: ref.inputShape, data: Float32Array.from(ref.input) };
      const top = ref.logits.indexOf(Math.max(...ref.logits));
      // the full list on the CNNs; on the transformers (slower) the transformer composites and three CNN ones
      // (npm run zoo runs them all on the real models)
      const composites = defaultCompositeFor(g) === 'attn-lrp'
        ? COMPOSITE_NAMES.filter((c) => /lrp/.test(c) || c === 'epsilon-gamma-box' || c === 'epsilon-alpha2-beta1')
        : COMPOSITE_NAMES;
      for (const composite of composites) {
        const r = ex.explain(input, { method: 'lrp', composite, targetClass: top, conservationDetail: true, params: { low: -3, high: 3 } });
        assert.ok(Math.abs(r.target.logit - ref.logits[top]) <= 1e-4 * Math.max(1, Math.abs(ref.logits[top])), `${name}: logit ${r.target.logit} vs PyTorch ${ref.logits[top]}`);
        for (const p of r.prediction) assert.ok(Math.abs(p.score - ref.logits[p.class]) <= 1e-4, `${name}: logit ${p.class} ${p.score} vs PyTorch ${ref.logits[p.class]}`);
        for (const l of r.layers) {
          const gap = l.outputRelevanceSum - l.inputRelevanceSum - (l.biasLeak ?? 0) - (l.stabilizerLeak ?? 0);
          assert.ok(Math.abs(gap) <= 1e-4 * Math.max(Math.abs(l.outputRelevanceSum), Math.abs(r.target.logit)), `${name} ${composite} ${l.name}: out − in − shares = ${gap}`);
        }
        assert.ok(r.relevance.data.every(Number.isFinite));
      }
      for (const method of ['gradient', 'gradient-x-input', 'deconvnet', 'guided-backprop'] as const) {
        const r = ex.explain(input, { method, targetClass: top });
        assert.ok(r.relevance.data.some((v) => v !== 0) && r.relevance.data.every(Number.isFinite), `${name} ${method}`);
      }
      if (!['shufflenet', 'ceilpool', 'norms'].includes(name)) assert.match(defaultCompositeFor(g), /^attn-lrp$/);
    } finally {
      ex.dispose();
    }
  });
}

test('vit: the gradient equals a finite difference of the logit (attention, LayerNorm, GELU backward)', async () => {
  const g = canonize(await loadModel(path.join(DIR, 'vit.onnx')));
  const ref = REF.vit;
  const ex = new Explainer(g);
  try {
    const top = ref.logits.indexOf(Math.max(...ref.logits));
    const base = Float32Array.from(ref.input);
    const grad = ex.explain({ shape: ref.inputShape, data: base }, { method: 'gradient', targetClass: top }).relevance.data;
    const logitAt = (d: Float32Array): number => ex.explain({ shape: ref.inputShape, data: d }, { method: 'gradient', targetClass: top }).target.logit;
    // three pixels with the largest gradient; central differences in float32
    const idx = Array.from(grad.keys()).sort((a, b) => Math.abs(grad[b]) - Math.abs(grad[a])).slice(0, 3);
    for (const i of idx) {
      const h = 1e-2;
      const up = base.slice(); up[i] += h;
      const dn = base.slice(); dn[i] -= h;
      const fd = (logitAt(up) - logitAt(dn)) / (2 * h);
      assert.ok(Math.abs(fd - grad[i]) <= 0.02 * Math.abs(grad[i]) + 1e-4, `pixel ${i}: gradient ${grad[i]} vs finite difference ${fd}`);
    }
  } finally {
    ex.dispose();
  }
});

test('vit: deep-taylor refuses, naming the first node without a ReLU root point; the pattern methods explain it', async () => {
  const g = canonize(await loadModel(path.join(DIR, 'vit.onnx')));
  const ref = REF.vit;
  const ex = new Explainer(g);
  try {
    const input = { shape: ref.inputShape, data: Float32Array.from(ref.input) };
    for (const method of ['deep-taylor', 'deep-taylor-bounded'] as const) {
      assert.throws(() => ex.explain(input, { method }), /defined for ReLU networks; node '.*ln_1\/Div' \(layerNorm\) has no Taylor root point \(and 12 more/);
    }
    // patterns fitted on noisy copies of the input: every token of every image is a row of the token layers
    const r = new Rand(4);
    const data = Float32Array.from({ length: 12 * input.data.length }, (_, i) => input.data[i % input.data.length] + 0.3 * r.normal());
    const ps = toPatternSet(fitPatterns(g, memorySource(data, ref.inputShape), { batchSize: 4, holdout: 0 }));
    const mlp = ps.layers.filter((l) => /mlp\.0\//.test(l.name));
    assert.ok(mlp.length === 2 && mlp.every((l) => l.regime === 'relu' && l.relu), 'the MLP layers before GELU get two-regime patterns');
    // info says the same: Deep Taylor alone refuses the transformer's nodes
    const m = await openModel(path.join(DIR, 'vit.onnx'));
    const report = infoReport(m);
    const ln = report.nodes.find((n) => n.op === 'layerNorm')!;
    assert.deepEqual([ln.methods['deep-taylor'], ln.methods['pattern-net'], ln.methods['pattern-attribution']], [false, true, true]);
    assert.match(formatInfo(report), /the gradient family and pattern-net \/ pattern-attribution; deep-taylor needs a ReLU network and refuses 13 nodes \(first: '.*ln_1\/Div', layerNorm\)/);
    for (const method of ['pattern-net', 'pattern-attribution'] as const) {
      const res = ex.explain(input, { method, patterns: ps });
      const v = res.relevance.data;
      assert.ok(v.every(Number.isFinite) && v.some((x) => x !== 0), `${method}: a finite, non-zero signal`);
      assert.equal(res.target.class, ref.logits.indexOf(Math.max(...ref.logits)));
    }
  } finally {
    ex.dispose();
  }
});

test('vit: per-patch-token relevance sums to what reaches the patch embedding, on the patch grid', async () => {
  const g = canonize(await loadModel(path.join(DIR, 'vit.onnx')));
  const tokens = patchTokens(g)!;
  assert.deepEqual(tokens.grid, [4, 4]);
  const ref = REF.vit;
  const ex = new Explainer(g);
  try {
    const r = ex.explain({ shape: ref.inputShape, data: Float32Array.from(ref.input) }, { method: 'lrp', composite: 'attn-lrp', conservationDetail: true }, { keepLayers: [tokens.name] });
    const t = tokenRelevance(r.layerRelevance![tokens.name]);
    assert.equal(t.length, 16);
    const conv = r.layers.find((l) => l.op === 'conv2d')!;
    const sum = t.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - conv.outputRelevanceSum) <= 1e-5 * Math.max(1, Math.abs(sum)), `tokens ${sum} vs patch embedding ${conv.outputRelevanceSum}`);
    // the map spreads each token over its 8×8 patch
    const img = tokenMapToImage(t, tokens.grid, [32, 32]);
    assert.equal(img.data[0], t[0]);
    assert.equal(img.data[31 * 32 + 31], t[15]);
    assert.equal(img.data[8], t[1]);
    // the panel's stage: the same patches, and the class token = the joined sequence's relevance at the
    // class token's row = what its constant keeps (the table's 'absorbs' row of the class token)
    const k = ex.explain({ shape: ref.inputShape, data: Float32Array.from(ref.input) }, { method: 'lrp', composite: 'attn-lrp', conservationDetail: true }, { keepLayers: [tokens.name, tokens.joined] });
    const stage = tokenStage(tokens, k.layerRelevance)!;
    assert.deepEqual(Array.from(stage.values), Array.from(t));
    const joined = g.nodes.find((n) => n.name === tokens.joined)!;
    const cls = g.nodes[joined.inputs.find((i) => g.nodes[i].op === 'constant')!];
    const absorbed = k.layers.find((l) => l.name === cls.name)!.outputRelevanceSum;
    assert.ok(Math.abs(stage.classToken! - absorbed) <= 1e-6 * Math.max(1e-3, Math.abs(absorbed)), `class token ${stage.classToken} vs its constant's row ${absorbed}`);
  } finally {
    ex.dispose();
  }
  assert.equal(patchTokens(canonize(await loadModel(path.join(DIR, 'convnext.onnx')))), undefined);
});
