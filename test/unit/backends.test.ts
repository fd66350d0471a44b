/**
 * wasm and cpu give the same relevances for every composite (and the per-layer rules) on random conv
 * nets, in one process: each backend is activated in turn and the Explainers are created after the switch.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend, tf } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import { COMPOSITE_NAMES } from '../../src/core/composites/presets';
import type { ExplainOptions } from '../../src/core/methods/types';
import { diff, Tally } from './oracle/compare';
import { makeNet, type RandomNet } from './oracle/randomNets';
import { oracleForward, oracleLrp } from './oracle/oracle';
import { NET_SEEDS, firstBounds, firstWeighted, ruleLayers, type CaseContext } from './oracle/cases';

const TOL = 1e-4;
const tally = new Tally();
/** The conv nets (and seeds) of the oracle suite: conv s1/s2, dilation, depthwise ×1/×2, pooling, Add, Concatenate, pad. */
const NETS: [string, number][] = ['strided', 'dilated', 'depthwise', 'residual', 'concat'].map((n) => [n, NET_SEEDS[n]]);

interface Config {
  name: string;
  opts: (net: RandomNet) => Omit<ExplainOptions, 'method'>;
}

function ctxOf(net: RandomNet): CaseContext {
  return { graph: net.graph, low: net.low, high: net.high, logits: [] };
}

const CONFIGS: Config[] = [
  ...COMPOSITE_NAMES.map((composite) => ({
    name: `composite ${composite}`,
    opts: (net: RandomNet) => ({ composite, params: firstBounds(ctxOf(net)) }),
  })),
  { name: 'flat everywhere', opts: (net) => ({ composite: 'epsilon', rules: Object.fromEntries(ruleLayers(net.graph).map((n) => [n, { rule: 'flat' }])) }) },
  { name: 'w-square everywhere', opts: (net) => ({ composite: 'epsilon', rules: Object.fromEntries(ruleLayers(net.graph).map((n) => [n, { rule: 'w-square' }])) }) },
  { name: 'z-plus without bias', opts: (net) => ({ composite: 'epsilon', rules: Object.fromEntries(ruleLayers(net.graph).map((n) => [n, { rule: 'z-plus', bias: false }])) }) },
  { name: 'epsilon 0.1 std-scaled', opts: (net) => ({ composite: 'epsilon', rules: Object.fromEntries(ruleLayers(net.graph).map((n) => [n, { rule: 'epsilon', epsilon: 0.1, stdScaled: true }])) }) },
  { name: 'z-box first layer', opts: (net) => ({ composite: 'epsilon', rules: { [firstWeighted(net.graph)]: { rule: 'z-box', ...firstBounds(ctxOf(net)) } } }) },
];

type Results = Map<string, Map<string, { data: Float32Array; layers: Map<string, number>; cls: number }>>;

const nets: RandomNet[] = [];
/** explained class per net: the top class (by the oracle's forward, so both backends explain the same one) */
const targets = new Map<string, number>();
const results: Record<'cpu' | 'wasm', Results> = { cpu: new Map(), wasm: new Map() };
/** the wasm run of the control: γ = 0.3 instead of 0.25 on the first net */
let control: Float32Array | undefined;

async function runAll(backend: 'cpu' | 'wasm'): Promise<void> {
  const got = await initBackend(backend);
  assert.equal(got, backend);
  assert.equal(tf.getBackend(), backend);
  for (const net of nets) {
    const ex = new Explainer(net.graph);
    const perNet = new Map<string, { data: Float32Array; layers: Map<string, number>; cls: number }>();
    for (const c of CONFIGS) {
      const r = ex.explain({ shape: net.inShape, data: net.input }, { method: 'lrp', targetClass: targets.get(net.name)!, ...c.opts(net) });
      perNet.set(c.name, {
        data: new Float32Array(r.relevance.data),
        layers: new Map(r.layers.map((l) => [l.name, l.outputRelevanceSum])),
        cls: r.target.class,
      });
    }
    if (backend === 'wasm' && net === nets[0]) {
      control = ex.explain({ shape: net.inShape, data: net.input }, { method: 'lrp', composite: 'gamma', params: { gamma: 0.3 }, targetClass: targets.get(net.name)! }).relevance.data;
    }
    ex.dispose();
    results[backend].set(net.name, perNet);
  }
}

before(async () => {
  await initBackend('cpu');
  for (const [name, seed] of NETS) {
    const net = await makeNet(name, seed, {});
    const logits = oracleForward(net.graph, net.input).acts[net.graph.output];
    targets.set(name, logits.indexOf(Math.max(...logits)));
    nets.push(net);
  }
  await runAll('wasm');
  await runAll('cpu');
});

after(async () => {
  console.log(`wasm vs cpu, largest differences:\n${tally.report()}`);
  await initBackend('cpu');
});

for (const [name] of NETS) {
  test(`wasm and cpu agree on '${name}'`, async (t) => {
    const cpu = results.cpu.get(name)!;
    const wasm = results.wasm.get(name)!;
    for (const c of CONFIGS) {
      await t.test(c.name, () => {
        const a = wasm.get(c.name)!;
        const b = cpu.get(c.name)!;
        const d = diff(a.data, b.data);
        tally.add('input relevance', d.rel, `${name} / ${c.name}`);
        assert.ok(d.scale > 0, 'relevance is not all zero');
        assert.ok(d.rel <= TOL, `wasm vs cpu: max abs ${d.maxAbs} at ${d.at}, max |R| ${d.scale}`);
        let scale = 0;
        for (const v of b.layers.values()) scale = Math.max(scale, Math.abs(v));
        for (const [layer, v] of b.layers) {
          const w = a.layers.get(layer)!;
          assert.ok(Math.abs(w - v) <= TOL * scale, `layer ${layer}: wasm ${w} cpu ${v}`);
        }
      });
    }
  });
}

test('wasm agrees with the oracle too (every composite, first net)', () => {
  const net = nets[0];
  const wasm = results.wasm.get(net.name)!;
  for (const composite of COMPOSITE_NAMES) {
    const params = firstBounds(ctxOf(net));
    const o = oracleLrp(net.graph, net.input, { composite, params, targetClass: targets.get(net.name)! });
    const d = diff(wasm.get(`composite ${composite}`)!.data, o.relevance);
    tally.add('wasm vs oracle', d.rel, `${net.name} / ${composite}`);
    assert.ok(d.rel <= TOL, `${composite}: ${JSON.stringify(d)}`);
  }
});

test('control: a different γ on wasm is caught by the comparison', () => {
  const cpu = results.cpu.get(nets[0].name)!.get('composite gamma')!;
  assert.ok(diff(control!, cpu.data).rel > 10 * TOL);
});
