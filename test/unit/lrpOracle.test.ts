/**
 * Engine vs independent oracle (test/unit/oracle): every LRP rule and every composite on small random
 * nets covering each geometry, elementwise at the input and per layer. Mutation tests switch one
 * deliberate fault into the oracle and require the comparison to fail, so a pass means something.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import { COMPOSITE_NAMES } from '../../src/core/composites/presets';
import { loadModel } from '../../src/core/loaders/registry';
import { canonize } from '../../src/core/graph/canonize';
import type { Graph } from '../../src/core/graph/ir';
import type { ExplainOptions } from '../../src/core/methods/types';
import { oracleLrp, oracleForward, ORACLE_COMPOSITE_NAMES, type Fault, type OracleResult } from './oracle/oracle';
import { diff, Tally } from './oracle/compare';
import { makeNet, NET_NAMES, type RandomNet } from './oracle/randomNets';
import { NET_SEEDS as SEEDS, RULE_CASES, compositeCases, type CaseContext, type RuleCase } from './oracle/cases';
import { demoInput, DEMO_MODEL } from './oracle/demo';

/** max |engine − oracle| ≤ TOL · max |oracle| at the input; per-layer sums within TOL of the run's scale */
const TOL = 1e-4;

const tally = new Tally();
const nets = new Map<string, { net: RandomNet; ex: Explainer }>();

before(async () => {
  await initBackend('cpu');
  for (const name of NET_NAMES) {
    const net = await makeNet(name, SEEDS[name], { softmax: name === 'concat' || name === 'residual' });
    nets.set(name, { net, ex: new Explainer(net.graph) });
  }
});

after(() => {
  for (const { ex } of nets.values()) ex.dispose();
  console.log(`engine vs oracle, largest differences:\n${tally.report()}`);
});

interface Run {
  opts: ExplainOptions;
  targetClass: number;
}

function optionsFor(c: RuleCase, ctx: CaseContext): Run {
  const logits = ctx.logits;
  let top = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[top]) top = i;
  const targetClass = c.target ? c.target(ctx) : top;
  const opts: ExplainOptions = {
    method: 'lrp', composite: c.composite, targetClass: c.target ? targetClass : 'top',
    ...(c.rules ? { rules: c.rules(ctx) } : {}),
    ...(c.params ? { params: c.params(ctx) } : {}),
  };
  return { opts, targetClass };
}

/** Runs the engine and the oracle on one case; returns the input and per-layer differences. */
function compareOnce(
  graph: Graph, ex: Explainer, input: Float32Array, c: RuleCase, ctx: CaseContext, fault?: Fault,
): { rel: number; sumRel: number; oracle: OracleResult; detail: string } {
  const { opts, targetClass } = optionsFor(c, ctx);
  const shape = graph.nodes[graph.input].shape;
  const r = ex.explain({ shape, data: input }, opts);
  const o = oracleLrp(graph, input, {
    composite: c.composite, rules: opts.rules, params: opts.params, targetClass, fault,
  });
  assert.equal(r.target.class, o.target, 'explained class');
  const d = diff(r.relevance.data, o.relevance);
  // per-layer sums: same layers reached, each sum within TOL of the run's largest sum
  const names = r.layers.map((l) => l.name).sort();
  assert.deepEqual(names, [...o.sums.keys()].sort(), 'layers in the conservation table');
  let scale = Math.abs(o.logits[o.target]);
  for (const s of o.sums.values()) scale = Math.max(scale, Math.abs(s.out), Math.abs(s.in));
  let worst = 0;
  let worstAt = '';
  for (const l of r.layers) {
    const s = o.sums.get(l.name)!;
    const e = Math.max(Math.abs(l.outputRelevanceSum - s.out), Math.abs(l.inputRelevanceSum - s.in)) / scale;
    const ratio = l.outputRelevanceSum === 0 ? (l.inputRelevanceSum === 0 ? 1 : Infinity) : l.inputRelevanceSum / l.outputRelevanceSum;
    assert.ok(Object.is(l.ratio, ratio) || Math.abs(l.ratio - ratio) <= 1e-6 * Math.abs(ratio), `ratio of ${l.name}`);
    if (e > worst) {
      worst = e;
      worstAt = `${l.name}: engine out ${l.outputRelevanceSum} in ${l.inputRelevanceSum}, oracle out ${s.out} in ${s.in}`;
    }
  }
  const detail = `input: max abs diff ${d.maxAbs.toExponential(3)} at ${d.at} (engine ${r.relevance.data[d.at]}, oracle ${o.relevance[d.at]}), `
    + `max |R| ${d.scale.toExponential(3)}; layers: rel ${worst.toExponential(3)} ${worstAt}`;
  return { rel: d.rel, sumRel: worst, oracle: o, detail };
}

function contextOf(net: RandomNet): CaseContext {
  return { graph: net.graph, low: net.low, high: net.high, logits: oracleForward(net.graph, net.input).acts[net.graph.output] };
}

test('the oracle defines every engine composite and no other', () => {
  assert.deepEqual([...COMPOSITE_NAMES].sort(), [...ORACLE_COMPOSITE_NAMES].sort());
});

const ALL_CASES = [...RULE_CASES, ...compositeCases(ORACLE_COMPOSITE_NAMES)];

for (const netName of NET_NAMES) {
  test(`oracle agreement on random net '${netName}'`, async (t) => {
    const { net, ex } = nets.get(netName)!;
    const ctx = contextOf(net);
    await t.test('forward: engine logits = oracle logits', () => {
      const p = ex.predict({ shape: net.inShape, data: net.input });
      const d = diff(p.logits, ctx.logits);
      tally.add('forward logits', d.rel, netName);
      assert.ok(d.rel <= 1e-5, `logits differ: ${JSON.stringify(d)}`);
    });
    for (const c of ALL_CASES) {
      await t.test(c.name, () => {
        const res = compareOnce(net.graph, ex, net.input, c, ctx);
        const failing = res.rel > TOL || res.sumRel > TOL ? ' (FAILING cases)' : '';
        tally.add(`input relevance${failing}`, res.rel, `${netName} / ${c.name}`);
        tally.add(`per-layer sums${failing}`, res.sumRel, `${netName} / ${c.name}`);
        assert.ok(res.rel <= TOL, `relevance at the input differs: ${res.detail}`);
        assert.ok(res.sumRel <= TOL, `per-layer sums differ: ${res.detail}`);
      });
    }
  });
}

/**
 * Each fault changes one convention in the oracle; on a net and rule where that convention matters the
 * engine must then disagree with the oracle by far more than TOL. Shows every comparison can fail.
 */
const MUTATIONS: { fault: Fault; net: string; rule: string }[] = [
  { fault: 'epsilon-without-sign', net: 'strided', rule: 'epsilon 0.25, lowest (negative) logit' },
  { fault: 'gamma-without-bias', net: 'strided', rule: 'gamma 1.0' },
  { fault: 'alpha-beta-bias-swapped', net: 'strided', rule: 'alpha2-beta1' },
  { fault: 'alpha-beta-drops-negative-inputs', net: 'strided', rule: 'alpha2-beta1' },
  { fault: 'flat-counts-padding', net: 'strided', rule: 'flat' },
  { fault: 'w-square-uses-abs', net: 'dilated', rule: 'w-square' },
  { fault: 'z-box-bounds-swapped', net: 'strided', rule: 'z-box first layer (per-channel bounds), epsilon elsewhere' },
  { fault: 'sign-ignores-mu', net: 'strided', rule: 'sign-mu 0.3 first layer without bias, lrp-0 elsewhere' },
  { fault: 'sign-ignores-mu', net: 'mlp', rule: 'sign-mu 0.3 first layer without bias, lrp-0 elsewhere' },
  { fault: 'max-pool-last-winner', net: 'depthwise', rule: 'w-square' },
  { fault: 'max-pool-last-winner', net: 'strided', rule: 'w-square' },
  { fault: 'same-padding-ceil', net: 'dilated', rule: 'epsilon (default 1e-6)' },
  { fault: 'avg-pool-full-count', net: 'dilated', rule: 'lrp-0' },
  { fault: 'add-equal-split', net: 'residual', rule: 'lrp-0' },
  { fault: 'depthwise-channel-order', net: 'depthwise', rule: 'epsilon (default 1e-6)' },
  { fault: 'concat-reversed', net: 'concat', rule: 'gamma 0.25' },
];

test('mutation: a deliberately wrong oracle is caught', async (t) => {
  for (const m of MUTATIONS) {
    await t.test(`${m.fault} (${m.net}, ${m.rule})`, () => {
      const { net, ex } = nets.get(m.net)!;
      const c = ALL_CASES.find((x) => x.name === m.rule)!;
      const ctx = contextOf(net);
      const good = compareOnce(net.graph, ex, net.input, c, ctx);
      assert.ok(good.rel <= TOL, `the correct oracle agrees first: ${good.detail}`);
      const bad = compareOnce(net.graph, ex, net.input, c, ctx, m.fault);
      tally.add('mutations (must be far above TOL)', bad.rel, m.fault, 'min');
      assert.ok(bad.rel > 100 * TOL, `fault ${m.fault} went unnoticed: ${bad.detail}`);
    });
  }
});

test('z^B on a dense first layer (flattened image) takes the per-channel image bounds of a model card', () => {
  // DESIGN.md: z^B bounds are per image channel (l = (0−mean)/std, h = (1−mean)/std). A dense first layer
  // after Flatten sees input j in channel j mod C. The default composite must work on such a model.
  const { net, ex } = nets.get('mlp')!;
  const c: RuleCase = { name: 'card bounds', composite: 'epsilon-gamma-box', params: () => ({ low: net.low, high: net.high }) };
  const res = compareOnce(net.graph, ex, net.input, c, contextOf(net));
  assert.ok(res.rel <= TOL, `relevance at the input differs: ${res.detail}`);
  assert.ok(res.sumRel <= TOL, `per-layer sums differ: ${res.detail}`);
});

const demoFile = path.resolve(__dirname, '../../..', DEMO_MODEL);

test('oracle agreement on the demo model (every composite)', { skip: fs.existsSync(demoFile) ? false : `${DEMO_MODEL} not found` }, async (t) => {
  const graph = canonize(await loadModel(demoFile));
  const { input, low, high } = demoInput(demoFile, graph);
  const ex = new Explainer(graph);
  try {
    const ctx: CaseContext = { graph, low, high, logits: oracleForward(graph, input).acts[graph.output] };
    const cases = [...compositeCases(COMPOSITE_NAMES), ...RULE_CASES.filter((c) => ['flat', 'w-square', 'z-plus without bias'].includes(c.name))];
    for (const c of cases) {
      await t.test(c.name, () => {
        const res = compareOnce(graph, ex, input, c, ctx);
        tally.add('demo input relevance', res.rel, c.name);
        tally.add('demo per-layer sums', res.sumRel, c.name);
        assert.ok(res.rel <= TOL, `relevance at the input differs: ${res.detail}`);
        assert.ok(res.sumRel <= TOL, `per-layer sums differ: ${res.detail}`);
      });
    }
  } finally {
    ex.dispose();
  }
});
