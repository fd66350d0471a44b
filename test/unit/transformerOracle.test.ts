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
import { GraphBuilder } from '../../src/core/graph/builder';
import type { Graph } from '../../src/core/graph/ir';
import type { RuleSpec } from '../../src/shared/ruleSpec';
import { blockForward, blockLrp, randomBlock, type BlockWeights, type Composite, type Mat, type TransformerFault } from './oracle/transformer';

const TOL = 1e-5;
const SEEDS = [3, 11, 29];

function f32(m: Mat | number[]): Float32Array {
  return Float32Array.from((m as (number | number[])[]).flat() as number[]);
}

export function blockGraph(w: BlockWeights): Graph {
  const b = new GraphBuilder('oracle-block');
  const { T, D, H, F, K } = w;
  const dh = D / H;
  const x = b.add({ name: 'input', op: 'input', inputs: [], shape: [1, T, D] });
  const tok = b.add({ name: 'tokens', op: 'reshape', inputs: [x], attrs: { targetShape: [T, D] } });
  const cls = b.add({ name: 'cls', op: 'constant', inputs: [x], params: { value: { shape: [1, D], data: f32(w.cls) } } });
  const cat = b.add({ name: 'concat', op: 'concat', inputs: [cls, tok], attrs: { axis: 1 } });
  const pos = b.add({ name: 'pos', op: 'constant', inputs: [x], params: { value: { shape: [T + 1, D], data: f32(w.pos) } } });
  const x1 = b.add({ name: 'embed', op: 'add', inputs: [cat, pos] });
  const ln = (name: string, i: number, p: { g: number[]; b: number[] }) => b.add({
    name, op: 'layerNorm', inputs: [i], attrs: { epsilon: w.lnEps },
    params: { gamma: { shape: [D], data: f32(p.g) }, beta: { shape: [D], data: f32(p.b) } },
  });
  const dense = (name: string, i: number, k: Mat, bias: number[]) => b.add({
    name, op: 'dense', inputs: [i], params: { kernel: { shape: [k.length, k[0].length], data: f32(k) }, bias: { shape: [bias.length], data: f32(bias) } },
  });
  const l1 = ln('ln1', x1, w.ln1);
  const heads = (name: string, i: number, perm: number[]) => b.add({
    name: `${name}/t`, op: 'transpose', inputs: [b.add({ name: `${name}/r`, op: 'reshape', inputs: [i], attrs: { targetShape: [T + 1, H, dh] } })], attrs: { perm },
  });
  const q = heads('q', dense('wq', l1, w.wq, w.bq), [1, 0, 2]);
  const k = heads('k', dense('wk', l1, w.wk, w.bk), [1, 2, 0]);
  const v = heads('v', dense('wv', l1, w.wv, w.bv), [1, 0, 2]);
  const s = b.add({ name: 'qk', op: 'matmul', inputs: [q, k] });
  const a = b.add({ name: 'softmax', op: 'softmax', inputs: [s] });
  const o = b.add({ name: 'av', op: 'matmul', inputs: [a, v] });
  const merged = b.add({ name: 'merge/r', op: 'reshape', inputs: [b.add({ name: 'merge/t', op: 'transpose', inputs: [o], attrs: { perm: [1, 0, 2] } })], attrs: { targetShape: [T + 1, D] } });
  const x2 = b.add({ name: 'res1', op: 'add', inputs: [x1, dense('wo', merged, w.wo, w.bo)] });
  const g = b.add({ name: 'gelu', op: 'activation', inputs: [dense('w1', ln('ln2', x2, w.ln2), w.w1, w.b1)], attrs: { activation: 'gelu' } });
  const x3 = b.add({ name: 'res2', op: 'add', inputs: [x2, dense('w2', g, w.w2, w.b2)] });
  const c = b.add({ name: 'cls-token', op: 'select', inputs: [ln('ln3', x3, w.ln3)], params: { index: { shape: [D], data: Float32Array.from({ length: D }, (_, i) => i) } } });
  const out = dense('head', c, w.wh, w.bh);
  void F; void K;
  return b.build('oracle-block', 'test', out);
}

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

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale };
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
