/**
 * The onnx backend (methods compiled to ONNX, run by onnxruntime-node) against the wasm engine, the
 * reference: every compiled method × composite on the unit suite's nets agrees to 1e-4 of max |R|, and
 * the conservation tables (sums and closed-form leaks) are the same.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer, ruleParamsFor, type ExplainOutput, type InputArray } from '../../src/core/methods/explain';
import { OnnxExplainer } from '../../src/core/onnx/onnxExplainer';
import { createSession, ortModule, ortStatus } from '../../src/core/onnx/runtime';
import { compileExplanation, compileForward } from '../../src/core/onnx/compile';
import { COMPOSITE_NAMES } from '../../src/core/composites/presets';
import type { Graph } from '../../src/core/graph/ir';
import { sizeOf } from '../../src/core/graph/ir';
import type { ExplainOptions } from '../../src/core/methods/types';
import type { RuleSpec } from '../../src/shared/ruleSpec';
import { Rand, reluNet, smoothNet } from './helpers/methodNets';
import { makeNet } from './oracle/randomNets';
import { NET_SEEDS, firstBounds, firstWeighted, ruleLayers } from './oracle/cases';

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Asserts two explanations agree: relevance, target, and every conservation row. */
export function assertSameExplanation(w: ExplainOutput, o: ExplainOutput, what: string, tol = 1e-4): void {
  assert.equal(o.target.class, w.target.class, `${what}: class`);
  // the composite used ('auto' and no composite name the model's default), as the table and panel show it
  assert.equal(o.composite, w.composite, `${what}: composite`);
  const scale = maxAbs(w.relevance.data);
  assert.ok(scale > 0, `${what}: zero relevance`);
  const d = maxDiff(w.relevance.data, o.relevance.data);
  assert.ok(d <= tol * scale, `${what}: max |diff| ${d.toExponential(2)} > ${tol} · ${scale.toExponential(2)}`);
  assert.deepEqual(o.layers.map((l) => [l.name, l.rule]), w.layers.map((l) => [l.name, l.rule]), `${what}: rows`);
  const total = Math.max(Math.abs(w.target.logit), ...w.layers.map((l) => Math.abs(l.outputRelevanceSum)), 1e-12);
  w.layers.forEach((l, i) => {
    const m = o.layers[i];
    for (const k of ['outputRelevanceSum', 'inputRelevanceSum', 'biasLeak', 'stabilizerLeak'] as const) {
      if (l[k] === undefined) {
        assert.equal(m[k], undefined, `${what}: ${l.name}.${k}`);
        continue;
      }
      assert.ok(Math.abs(l[k]! - m[k]!) <= 1e-4 * total, `${what}: ${l.name}.${k} wasm ${l[k]} onnx ${m[k]}`);
    }
  });
}

const METHODS: ExplainOptions[] = [
  ...[...COMPOSITE_NAMES, 'auto'].map((composite) => ({ method: 'lrp' as const, composite, conservationDetail: true })),
  { method: 'gradient' }, { method: 'gradient-x-input' }, { method: 'deconvnet' }, { method: 'guided-backprop' },
  // samples as batches: the same seeded noise / path points as the wasm path, batch size not a divisor
  { method: 'smoothgrad', samples: 7, sigma: 0.2, seed: 3, sampleBatch: 3 },
  { method: 'integrated-gradients', steps: 9, sampleBatch: 4 },
  { method: 'integrated-gradients', steps: 5, baseline: { kind: 'blur', sigma: 1 } },
  // Deep Taylor: z⁺ roots from max(0, logit), the root point image from the relevance at the first layer
  { method: 'deep-taylor' }, { method: 'deep-taylor', root: 'nearest' }, { method: 'deep-taylor-bounded', params: { low: -1, high: 1 } },
];

async function compare(g: Graph, seeds: number[], extra: Partial<ExplainOptions> = {}): Promise<number> {
  const w = new Explainer(g);
  const o = new OnnxExplainer(g);
  let n = 0;
  try {
    for (const seed of seeds) {
      const shape = g.nodes[g.input].shape;
      const input = { shape, data: new Rand(seed).array(sizeOf(shape), 1, 0) };
      for (const m of METHODS) {
        const opts = { ...m, ...extra };
        const a = w.explain(input, opts);
        const b = await o.explain(input, opts);
        assert.equal(b.backend, 'onnx', `${g.name} ${m.method}: ${b.backendReason}`);
        assertSameExplanation(a, b, `${g.name} ${m.method} ${m.composite ?? ''} seed ${seed}`);
        // the method's extras (noise std, completeness of IG, …) agree as well
        assert.deepEqual(Object.keys(b.extra ?? {}), Object.keys(a.extra ?? {}));
        for (const [group, v] of Object.entries(a.extra ?? {})) {
          for (const [key, x] of Object.entries(v as Record<string, unknown>)) {
            const y = (b.extra![group] as Record<string, unknown>)[key];
            if (typeof x === 'number') assert.ok(Math.abs(x - (y as number)) <= 1e-4 * Math.max(1, Math.abs(x)), `${group}.${key}: ${x} vs ${y}`);
            else if (Array.isArray(x) && typeof x[0] === 'number') {
              // an image (Deep Taylor's root point): to 1e-4 of its largest value
              const scale = Math.max(1e-12, maxAbs(x as number[]));
              assert.ok(maxDiff(x as number[], y as number[]) <= 1e-4 * scale, `${group}.${key}`);
            } else assert.deepEqual(y, x, `${group}.${key}`);
          }
        }
        n++;
      }
    }
  } finally {
    w.dispose();
    await o.dispose();
  }
  return n;
}

test('onnxruntime-node loads on this platform', () => {
  const s = ortStatus();
  assert.ok(s.available, s.reason);
});

test('onnx = wasm: every compiled method × composite on the ReLU net (conv, max pool, dense)', async () => {
  await initBackend('wasm');
  assert.equal(await compare(reluNet(), [1, 2]), 2 * METHODS.length);
});

test('onnx = wasm: every compiled method × composite on the smooth net (strided conv, depthwise, pad, avg pool, BN, add, concat, GAP, softmax)', async () => {
  await initBackend('wasm');
  assert.equal(await compare(smoothNet(1), [3], { targetClass: 1 }), METHODS.length);
});

/** The oracle suite's random conv nets with every composite and the per-layer rule configurations. */
test('onnx = wasm on the oracle nets: composites, flat, w², z⁺ without bias, std-scaled ε, z^B, and a 2nd class', async () => {
  await initBackend('wasm');
  const names: [string, number][] = ['strided', 'dilated', 'depthwise', 'residual', 'concat', 'mlp'].map((n) => [n, NET_SEEDS[n]]);
  let n = 0;
  for (const [name, seed] of names) {
    const net = await makeNet(name, seed, {});
    const ctx = { graph: net.graph, low: net.low, high: net.high, logits: [] };
    const every = (spec: RuleSpec): Record<string, RuleSpec> => Object.fromEntries(ruleLayers(net.graph).map((l) => [l, spec]));
    const configs: ExplainOptions[] = [
      ...COMPOSITE_NAMES.map((composite) => ({ method: 'lrp' as const, composite, params: firstBounds(ctx), conservationDetail: true })),
      { method: 'lrp', composite: 'epsilon', rules: every({ rule: 'flat' }), conservationDetail: true },
      { method: 'lrp', composite: 'epsilon', rules: every({ rule: 'w-square' }), conservationDetail: true },
      { method: 'lrp', composite: 'epsilon', rules: every({ rule: 'z-plus', bias: false }), conservationDetail: true },
      { method: 'lrp', composite: 'epsilon', rules: every({ rule: 'epsilon', epsilon: 0.1, stdScaled: true }), conservationDetail: true },
      { method: 'lrp', composite: 'epsilon', rules: { [firstWeighted(net.graph)]: { rule: 'z-box', ...firstBounds(ctx) } }, conservationDetail: true },
      { method: 'lrp', composite: 'alpha-beta', params: { alpha: 3, beta: 2 }, targetClass: 1 },
      { method: 'gradient' }, { method: 'guided-backprop', targetClass: 1 }, { method: 'deconvnet' },
    ];
    const w = new Explainer(net.graph);
    const o = new OnnxExplainer(net.graph);
    try {
      for (const opts of configs) {
        const input = { shape: net.inShape, data: net.input };
        const b = await o.explain(input, opts);
        assert.equal(b.backend, 'onnx', `${name}: ${b.backendReason}`);
        assertSameExplanation(w.explain(input, opts), b, `${name} ${opts.method} ${opts.composite ?? ''} ${JSON.stringify(opts.rules ?? {}).slice(0, 60)}`);
        n++;
      }
    } finally {
      w.dispose();
      await o.dispose();
    }
  }
  assert.equal(n, names.length * (COMPOSITE_NAMES.length + 9));
});

/**
 * Rule parameters are graph inputs: a change of ε, γ, α, β or the z^B bounds re-runs the cached session
 * (no compile) and gives what wasm gives with the new values, and what a session compiled afresh for them
 * gives.
 */
test('onnx: new rule parameters re-run the cached session and agree with wasm and with a fresh compile', async () => {
  await initBackend('wasm');
  let n = 0;
  for (const name of ['strided', 'residual', 'mlp']) {
    const net = await makeNet(name, NET_SEEDS[name], {});
    const ctx = { graph: net.graph, low: net.low, high: net.high, logits: [] };
    const b = firstBounds(ctx);
    const scale = (v: number | number[], k: number) => (Array.isArray(v) ? v.map((x) => x * k) : v * k);
    const layers = ruleLayers(net.graph);
    const every = (spec: RuleSpec): Record<string, RuleSpec> => Object.fromEntries(layers.map((l) => [l, spec]));
    // each series: the same rule kinds, parameters changing
    const series: ExplainOptions[][] = [
      [0.25, 0.5, 0.05].map((gamma, i) => ({
        method: 'lrp' as const, composite: 'epsilon-gamma-box', conservationDetail: true,
        params: { epsilon: [1e-6, 0.1, 0.01][i], gamma, low: scale(b.low, 1 + i), high: scale(b.high, 1 + i) },
      })),
      [[2, 1], [3, 2], [1.5, 0.5]].map(([alpha, beta]) => ({ method: 'lrp' as const, composite: 'alpha-beta', params: { alpha, beta }, conservationDetail: true })),
      [0.1, 0.5].map((epsilon) => ({ method: 'lrp' as const, composite: 'epsilon', rules: every({ rule: 'epsilon', epsilon, stdScaled: true }), conservationDetail: true })),
      [0.1, 1].map((gamma) => ({ method: 'lrp' as const, composite: 'epsilon', rules: { [layers[layers.length - 1]]: { rule: 'gamma', gamma } }, conservationDetail: true })),
    ];
    const w = new Explainer(net.graph);
    const o = new OnnxExplainer(net.graph);
    try {
      const input = { shape: net.inShape, data: net.input };
      for (const s of series) {
        for (const [i, opts] of s.entries()) {
          const got = await o.explain(input, opts);
          const what = `${name} ${opts.composite} ${JSON.stringify(opts.params ?? opts.rules).slice(0, 80)}`;
          assert.equal(got.backend, 'onnx', got.backendReason);
          // after the first of a series, no compile: the session is reused
          assert.equal(got.timings.sessionReused, i === 0 ? 0 : 1, `${what}: session reused`);
          assertSameExplanation(w.explain(input, opts), got, `${what} vs wasm`);
          if (i > 0) {
            const fresh = new OnnxExplainer(net.graph);
            try {
              const f = await fresh.explain(input, opts);
              assert.equal(f.timings.sessionReused, 0);
              assertSameExplanation(f, got, `${what} vs fresh compile`, 1e-5);
            } finally {
              await fresh.dispose();
            }
          }
          n++;
        }
      }
    } finally {
      w.dispose();
      await o.dispose();
    }
  }
  assert.equal(n, 3 * 10);
});

/**
 * The universal graph (each weighted layer's rule a graph input): composites and per-layer rules that
 * differ in rule kinds run on one session, compiled once, and agree with wasm; a rule outside its
 * choices (w² on an inner layer) compiles another.
 */
test('onnx universal graph: rule and composite changes re-run one session and agree with wasm', async () => {
  await initBackend('wasm');
  const composites = ['epsilon-gamma-box', 'epsilon-plus', 'epsilon-plus-flat', 'epsilon-alpha2-beta1', 'epsilon-alpha2-beta1-flat', 'lrp-0', 'epsilon', 'gamma', 'alpha-beta', 'z-plus'];
  let n = 0;
  for (const name of ['strided', 'dilated', 'depthwise', 'residual', 'concat', 'mlp']) {
    const net = await makeNet(name, NET_SEEDS[name], {});
    const ctx = { graph: net.graph, low: net.low, high: net.high, logits: [] };
    const layers = ruleLayers(net.graph);
    const configs: [ExplainOptions, number][] = [
      ...composites.map((composite, i): [ExplainOptions, number] => [{ method: 'lrp', composite, params: firstBounds(ctx), conservationDetail: true }, i === 0 ? 0 : 1]),
      [{ method: 'lrp', composite: 'epsilon', rules: { [layers[layers.length - 1]]: { rule: 'gamma', gamma: 0.5 } }, conservationDetail: true }, 1],
      [{ method: 'lrp', composite: 'epsilon', rules: { [firstWeighted(net.graph)]: { rule: 'z-box', ...firstBounds(ctx) } }, params: { epsilon: 0.1 }, conservationDetail: true }, 1],
      [{ method: 'lrp', composite: 'alpha-beta', params: { alpha: 3, beta: 2 }, targetClass: 1, conservationDetail: true }, 1],
      // bias-free composites and a layer of one set to a rule with bias: the bias is switched by an input
      [{ method: 'lrp', composite: 'epsilon-gamma-box-nobias', params: firstBounds(ctx), conservationDetail: true }, 1],
      [{ method: 'lrp', composite: 'epsilon-plus-nobias', rules: { [layers[0]]: { rule: 'gamma' } }, conservationDetail: true }, 1],
      [{ method: 'lrp', composite: 'epsilon', rules: { [layers[layers.length - 1]]: { rule: 'w-square' } }, conservationDetail: true }, layers.length > 1 ? 0 : 1],
    ];
    const w = new Explainer(net.graph);
    const o = new OnnxExplainer(net.graph, { universal: true });
    try {
      const input = { shape: net.inShape, data: net.input };
      for (const [opts, reused] of configs) {
        const got = await o.explain(input, opts);
        const what = `${name} ${opts.composite} ${JSON.stringify(opts.rules ?? {}).slice(0, 60)}`;
        assert.equal(got.backend, 'onnx', got.backendReason);
        assert.equal(got.timings.sessionReused, reused, `${what}: session reused`);
        assertSameExplanation(w.explain(input, opts), got, `${what} vs wasm`);
        n++;
      }
    } finally {
      w.dispose();
      await o.dispose();
    }
  }
  assert.equal(n, 6 * 16);
});

/**
 * The backward-only model (forward values as inputs, from compileForward's model) gives what the one-graph
 * model gives: relevance, logits and every conservation sum, on nets with max pooling, residual adds and
 * concatenation, under several rule assignments.
 */
test('onnx: a backward-only model fed with the forward model\'s values = the one-graph model', async () => {
  await initBackend('wasm');
  const ort = ortModule();
  const cases: [Graph, ExplainOptions, InputArray][] = [];
  const relu = reluNet();
  const rin = { shape: relu.nodes[relu.input].shape, data: new Rand(5).array(sizeOf(relu.nodes[relu.input].shape), 1, 0) };
  for (const composite of ['epsilon-gamma-box', 'epsilon-plus', 'alpha-beta']) cases.push([relu, { method: 'lrp', composite, params: { low: -1, high: 1 } }, rin]);
  for (const name of ['residual', 'concat']) {
    const net = await makeNet(name, NET_SEEDS[name], {});
    const ctx = { graph: net.graph, low: net.low, high: net.high, logits: [] };
    cases.push([net.graph, { method: 'lrp', composite: 'epsilon-gamma-box', params: firstBounds(ctx) }, { shape: net.inShape, data: net.input }]);
  }
  for (const [g, opts, input] of cases) {
    const o = new OnnxExplainer(g);
    const plan = o.plan(opts, ruleParamsFor(g, input, opts));
    assert.ok(!('reason' in plan));
    const fam = plan.family;
    const rules = fam.kind === 'lrp' ? fam.rules : new Map();
    const full = compileExplanation(g, { family: fam, leaks: true });
    const back = compileExplanation(g, { family: fam, leaks: true, actsAsInputs: true });
    const fwd = compileForward(g);
    const [sf, sb, sw] = [await createSession(full.proto.finish()), await createSession(back.proto.finish()), await createSession(fwd.proto.finish())];
    try {
      const x = new ort.Tensor('float32', input.data, [1, ...input.shape]);
      const k = g.nodes[g.output].shape[0];
      const common = { onehot: new ort.Tensor('float32', new Float32Array(k), [1, k]), top: new ort.Tensor('float32', new Float32Array([1]), [1]) };
      const params = (m: typeof full) => Object.fromEntries(m.params.map((p) => [p.name, new ort.Tensor('float32', p.read(rules), p.dims)]));
      const a = await sf.run({ x, ...common, ...params(full) });
      const acts = await sw.run({ x });
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = { ...common, ...params(back) };
      for (const name of sb.inputNames) if (acts[name]) feeds[name] = acts[name];
      const b = await sb.run(feeds);
      for (const out of ['relevance', 'logits', 'sums']) {
        const u = a[out].data as Float32Array;
        const v = b[out].data as Float32Array;
        assert.ok(maxAbs(u) > 0, `${g.name} ${out}: zero`);
        assert.ok(maxDiff(u, v) <= 1e-6 * maxAbs(u), `${g.name} ${opts.composite} ${out}: ${maxDiff(u, v)}`);
      }
    } finally {
      for (const s of [sf, sb, sw]) await s.release();
      await o.dispose();
    }
  }
});
