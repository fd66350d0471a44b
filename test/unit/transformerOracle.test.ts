/**
 * Engine vs the independent float64 transformer oracle (test/unit/oracle/transformer.ts): a random block
 * with class token, position embedding, LayerNorms, two-head attention, residuals and a GELU MLP, built as
 * an IR graph of the engine's any-rank ops. AttnLRP and CP-LRP relevances at the input agree to 1e-5 of
 * their scale, the conservation table closes on every row, and a deliberate fault in each new rule of
 * the oracle is caught.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import type { RuleSpec } from '../../src/shared/ruleSpec';
import { blockForward, blockLrp, randomBlock, type Composite, type Mat, type TransformerFault } from './oracle/transformer';
import { blockGraph, f32, maxDiff } from './oracle/transformerGraph';

const TOL = 1e-5;
const SEEDS = [3, 11, 29];

const cases = SEEDS.map((seed) => {
  const w = randomBlock(seed);
  let s = seed * 7 + 1;
  const tokens: Mat = Array.from({ length: w.T }, () => Array.from({ length: w.D }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31) * 2 - 1;
  }));
  return { seed, w, tokens, ex: undefined as Explainer | undefined };
});

before(async () => {
  await initBackend('cpu');
  for (const c of cases) c.ex = new Explainer(blockGraph(c.w));
});
after(() => cases.forEach((c) => c.ex?.dispose()));

function engine(c: (typeof cases)[number], composite: Composite, rules: Record<string, RuleSpec> = {}) {
  return c.ex!.explain({ shape: [1, c.w.T, c.w.D], data: f32(c.tokens) }, { method: 'lrp', composite, targetClass: 'top', rules, conservationDetail: true });
}

test('transformer block: engine forward equals the float64 oracle', () => {
  for (const c of cases) {
    const f = blockForward(c.w, c.tokens);
    const r = engine(c, 'attn-lrp');
    const top = f.logits.indexOf(Math.max(...f.logits));
    assert.equal(r.target.class, top);
    assert.ok(Math.abs(r.target.logit - f.logits[top]) <= 1e-5 * Math.max(1, Math.abs(f.logits[top])), `seed ${c.seed}: logit ${r.target.logit} vs ${f.logits[top]}`);
  }
});

for (const composite of ['attn-lrp', 'cp-lrp'] as const) {
  test(`transformer block: ${composite} input relevance equals the oracle's to 1e-5`, () => {
    for (const c of cases) {
      const f = blockForward(c.w, c.tokens);
      const r = engine(c, composite);
      const o = blockLrp(c.w, f, r.target.class, composite);
      const { diff, scale } = maxDiff(r.relevance.data, o.input.flat());
      assert.ok(scale > 1e-3, `seed ${c.seed}: oracle relevance vanishes (${scale})`);
      assert.ok(diff <= TOL * scale, `seed ${c.seed} ${composite}: max |engine − oracle| ${diff.toExponential(2)} > ${TOL} × ${scale.toExponential(2)}`);
      // the constants' rows: class token and position embedding absorb what the oracle says
      const row = (name: string) => r.layers.find((l) => l.name === name)!;
      assert.ok(Math.abs(row('pos').outputRelevanceSum - o.pos) <= TOL * Math.max(1, Math.abs(o.pos)) * 10, `pos ${row('pos').outputRelevanceSum} vs ${o.pos}`);
      assert.ok(Math.abs(row('cls').outputRelevanceSum - o.cls) <= TOL * Math.max(1, Math.abs(o.cls)) * 10, `cls ${row('cls').outputRelevanceSum} vs ${o.cls}`);
    }
  });

  test(`transformer block: ${composite} conservation table closes on every row (out − in = bias + ε shares)`, () => {
    for (const c of cases) {
      const r = engine(c, composite);
      for (const l of r.layers) {
        const gap = l.outputRelevanceSum - l.inputRelevanceSum - (l.biasLeak ?? 0) - (l.stabilizerLeak ?? 0);
        const scale = Math.max(Math.abs(l.outputRelevanceSum), Math.abs(r.target.logit) * 1e-3);
        assert.ok(Math.abs(gap) <= 1e-4 * scale + 1e-7, `seed ${c.seed} ${composite} ${l.name} (${l.op}): out − in − shares = ${gap}`);
      }
    }
  });
}

const FAULTS: [TransformerFault, Composite][] = [
  ['ln-no-centering', 'attn-lrp'], ['softmax-no-taylor-term', 'attn-lrp'], ['matmul-unequal-split', 'attn-lrp'],
  ['value-rule-to-weights', 'cp-lrp'], ['gelu-scaled', 'attn-lrp'], ['ln-no-centering', 'cp-lrp'],
];

// held-constant under CP-LRP receives nothing (A·V sends all to V): test it where relevance reaches it,
// as a per-layer override of AttnLRP (the rule picker's case)
test('transformer block: softmax held-constant override equals the oracle, and its mutation is caught', () => {
  for (const c of cases) {
    const f = blockForward(c.w, c.tokens);
    const r = engine(c, 'attn-lrp', { softmax: { rule: 'held-constant' } });
    const good = maxDiff(r.relevance.data, blockLrp(c.w, f, r.target.class, 'attn-lrp', undefined, { softmaxHeld: true }).input.flat());
    assert.ok(good.diff <= TOL * good.scale, `seed ${c.seed}: ${good.diff} vs ${good.scale}`);
    const bad = maxDiff(r.relevance.data, blockLrp(c.w, f, r.target.class, 'attn-lrp', 'held-constant-passes', { softmaxHeld: true }).input.flat());
    assert.ok(bad.diff > TOL * bad.scale, `seed ${c.seed}: fault 'held-constant-passes' went unnoticed`);
  }
});

for (const [fault, composite] of FAULTS) {
  test(`transformer oracle mutation '${fault}' (${composite}) is caught`, () => {
    let caught = 0;
    for (const c of cases) {
      const f = blockForward(c.w, c.tokens);
      const r = engine(c, composite);
      const o = blockLrp(c.w, f, r.target.class, composite, fault);
      const { diff, scale } = maxDiff(r.relevance.data, o.input.flat());
      if (diff > TOL * scale) caught++;
    }
    assert.equal(caught, cases.length, `fault '${fault}' went unnoticed on ${cases.length - caught} of ${cases.length} blocks`);
  });
}
