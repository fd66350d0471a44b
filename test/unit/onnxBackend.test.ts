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
import { fedVariantsOf } from '../../src/core/onnx/emitter';
import { createSession, ortModule, ortStatus } from '../../src/core/onnx/runtime';
import { compileExplanation, compileForward, readSums } from '../../src/core/onnx/compile';
import { COMPOSITE_NAMES } from '../../src/core/composites/presets';
import type { Graph } from '../../src/core/graph/ir';
import { sizeOf } from '../../src/core/graph/ir';
import type { ExplainOptions } from '../../src/core/methods/types';
import type { RuleSpec } from '../../src/shared/ruleSpec';
import { quickPatterns, Rand, reluNet, smoothNet } from './helpers/methodNets';
import { assertSameExplanation, maxAbs, maxDiff } from './helpers/sameExplanation';
import { makeNet } from './oracle/randomNets';
import { NET_SEEDS, firstBounds, firstWeighted, ruleLayers } from './oracle/cases';
import { modelFingerprint } from '../../src/core/patterns/fingerprint';
import type { PatternSet } from '../../src/core/patterns/patternSet';
import { GraphBuilder } from '../../src/core/graph/builder';
import { evaluateMethods, evaluateMethodsAsync } from '../../src/core/metrics/evaluate';
import type { CurveJobSpec } from '../../src/core/metrics/pixelFlipping';
import { onnxEvaluationEngine } from '../../src/core/onnx/evaluationEngine';
import { compiledForward, compiledMethods } from '../../src/core/onnx/engineBackend';
import { METHOD_NAMES as ALL_METHODS } from '../../src/shared/methodParams';
import { randomBlock } from './oracle/transformer';
import { blockGraph } from './oracle/transformerGraph';
import { loadModel } from '../../src/core/loaders/registry';
import { canonize } from '../../src/core/graph/canonize';
import * as fs from 'fs';
import * as path from 'path';

const TRANSFORMERS = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'transformers');
const TRANSFORMER_REF = JSON.parse(fs.readFileSync(path.join(TRANSFORMERS, 'reference.json'), 'utf8')) as Record<string, { input: number[]; inputShape: number[] }>;

/** A wasm explainer (the reference) and the extension's universal onnx explainer on g, disposed after `body`. */
async function withUniversal(g: Graph, body: (w: Explainer, o: OnnxExplainer) => Promise<void>): Promise<void> {
  const w = new Explainer(g);
  const o = new OnnxExplainer(g, { universal: true });
  try {
    await body(w, o);
  } finally {
    w.dispose();
    await o.dispose();
  }
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

/** Patterns fitted on 24 seeded random images (enough to run the methods; what they show does not matter here). */
/** PatternNet and PatternAttribution, both pattern types. */
function patternMethods(ps: PatternSet): ExplainOptions[] {
  return (['pattern-net', 'pattern-attribution'] as const).flatMap((method) => (['relu', 'linear'] as const).map((patternType) => ({ method, patterns: ps, patternType })));
}

async function compare(g: Graph, seeds: number[], extra: Partial<ExplainOptions> = {}, more: ExplainOptions[] = []): Promise<number> {
  const w = new Explainer(g);
  const o = new OnnxExplainer(g);
  let n = 0;
  try {
    for (const seed of seeds) {
      const shape = g.nodes[g.input].shape;
      const input = { shape, data: new Rand(seed).array(sizeOf(shape), 1, 0) };
      for (const m of [...METHODS, ...more]) {
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
  const g = reluNet();
  const more = patternMethods(quickPatterns(g));
  assert.equal(await compare(g, [1, 2], {}, more), 2 * (METHODS.length + more.length));
});

test('onnx = wasm: every compiled method × composite on the smooth net (strided conv, depthwise, pad, avg pool, BN, add, concat, GAP, softmax)', async () => {
  await initBackend('wasm');
  assert.equal(await compare(smoothNet(1), [3], { targetClass: 1 }), METHODS.length);
});

/** The oracle suite's random conv nets with every composite and the per-layer rule configurations. */
test('onnx = wasm on the oracle nets: composites, flat, w², z⁺ without bias, std-scaled ε, z^B, SIGN / SIGN-μ, and a 2nd class', async () => {
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
      { method: 'lrp', composite: 'epsilon', rules: { [firstWeighted(net.graph)]: { rule: 'sign' } }, conservationDetail: true },
      { method: 'lrp', composite: 'lrp-0', rules: { [firstWeighted(net.graph)]: { rule: 'sign', mu: 0.3, bias: false } }, targetClass: 1 },
      { method: 'gradient' }, { method: 'guided-backprop', targetClass: 1 }, { method: 'deconvnet' },
      ...patternMethods(quickPatterns(net.graph)),
    ];
    const w = new Explainer(net.graph);
    const o = new OnnxExplainer(net.graph);
    // compiled for one run (the CLI's): transposed convolutions as ConvTranspose instead of flipped Convs
    const once = new OnnxExplainer(net.graph, { oneRun: true });
    try {
      for (const opts of configs) {
        const input = { shape: net.inShape, data: net.input };
        const b = await o.explain(input, opts);
        const what = `${name} ${opts.method} ${opts.composite ?? ''} ${JSON.stringify(opts.rules ?? {}).slice(0, 60)}`;
        assert.equal(b.backend, 'onnx', `${name}: ${b.backendReason}`);
        const ref = w.explain(input, opts);
        assertSameExplanation(ref, b, what);
        if (opts.method === 'lrp' || opts.method === 'gradient') {
          assertSameExplanation(ref, await once.explain(input, opts), `${what} (one run)`);
          n++;
        }
        n++;
      }
    } finally {
      w.dispose();
      await o.dispose();
      await once.dispose();
    }
  }
  assert.equal(n, names.length * (2 * COMPOSITE_NAMES.length + 13 + 7 + 4));
});

/**
 * PatternNet's signal grows by the patterns' scale per layer: both backends rescale it by 2^-64 after a
 * weighted layer where it passes 2^64, report the same exponents, and give the float64 back-projection.
 */
test('onnx = wasm: PatternNet on a deep chain rescales its signal as wasm does', async () => {
  await initBackend('wasm');
  const r = new Rand(21);
  const b = new GraphBuilder('deep');
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [1, 1, 4] });
  x = b.add({ name: 'flat', op: 'flatten', inputs: [x] });
  const depth = 8;
  const patterns: Float32Array[] = [];
  for (let l = 0; l < depth; l++) {
    x = b.add({ name: `d${l}`, op: 'dense', inputs: [x], params: { kernel: { shape: [4, 4], data: r.array(16, 0.5) } } });
    patterns.push(r.array(16, 1e6));
  }
  const g = b.build('deep', 'test', x);
  const ps: PatternSet = {
    id: 'deep-onnx', fingerprint: modelFingerprint(g), modelName: 'deep', images: { fit: 1, heldOut: 0 },
    layers: patterns.map((a, l) => ({ name: `d${l}`, op: 'dense' as const, kernelShape: [4, 4], regime: 'linear' as const, linear: a })),
  };
  const input = { shape: [1, 1, 4], data: Float32Array.from([0.3, -0.2, 0.5, 0.1]) };
  const w = new Explainer(g);
  const o = new OnnxExplainer(g);
  try {
    const opts: ExplainOptions = { method: 'pattern-net', patterns: ps, targetClass: 1 };
    const a = w.explain(input, opts, { keepLayers: ['d3'] });
    const got = await o.explain(input, opts, { keepLayers: ['d3'] });
    assert.equal(got.backend, 'onnx', got.backendReason);
    assertSameExplanation(a, got, 'deep chain');
    const log2 = (got.extra as { patterns: { log2Scale: number } }).patterns.log2Scale;
    assert.ok(log2 > 0, 'rescaled');
    assert.deepEqual(got.extra, a.extra);
    // float64 reference: s ← A s from the logit down
    let s = [0, 0, 0, 0];
    s[1] = got.target.logit;
    for (let l = depth - 1; l >= 0; l--) s = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].reduce((acc, k) => acc + patterns[l][i * 4 + k] * s[k], 0));
    const scale = Math.max(...s.map(Math.abs));
    got.relevance.data.forEach((v, i) => assert.ok(Math.abs(v * 2 ** log2 - s[i]) <= 1e-5 * scale, `${i}: ${v * 2 ** log2} vs ${s[i]}`));
  } finally {
    w.dispose();
    await o.dispose();
  }
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
      // SIGN-μ's threshold is a graph input too
      [0, 0.3, -0.2].map((mu) => ({ method: 'lrp' as const, composite: 'epsilon', rules: { [layers[0]]: { rule: 'sign', mu } }, conservationDetail: true })),
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
  assert.equal(n, 3 * 13);
});

/**
 * The universal backward-only graph (each weighted layer's rule a graph input, the forward values of the
 * image inputs, built on the first rule change after the first explanation, which runs on its own graph
 * and returns them): composites and per-layer rules that differ in rule kinds re-run it without a compile
 * and agree with wasm; a rule outside its choices (w² on an inner layer) compiles another. A new image
 * runs the own graph of a rule set that has one, after which a rule change re-runs the backward-only
 * session on the new image's values.
 */
test('onnx universal backward-only graph: rule and composite changes re-run one session and agree with wasm', async () => {
  await initBackend('wasm');
  const composites = ['epsilon-gamma-box', 'epsilon-plus', 'epsilon-plus-flat', 'epsilon-alpha2-beta1', 'epsilon-alpha2-beta1-flat', 'lrp-0', 'epsilon', 'gamma', 'alpha-beta', 'z-plus'];
  let n = 0;
  for (const name of ['strided', 'dilated', 'depthwise', 'residual', 'concat', 'mlp']) {
    const net = await makeNet(name, NET_SEEDS[name], {});
    const ctx = { graph: net.graph, low: net.low, high: net.high, logits: [] };
    const layers = ruleLayers(net.graph);
    const configs: [ExplainOptions, number][] = [
      // the first explanation and the first change compile (own graph, then the backward-only one)
      ...composites.map((composite, i): [ExplainOptions, number] => [{ method: 'lrp', composite, params: firstBounds(ctx), conservationDetail: true }, i < 2 ? 0 : 1]),
      [{ method: 'lrp', composite: 'epsilon', rules: { [layers[layers.length - 1]]: { rule: 'gamma', gamma: 0.5 } }, conservationDetail: true }, 1],
      [{ method: 'lrp', composite: 'epsilon', rules: { [firstWeighted(net.graph)]: { rule: 'z-box', ...firstBounds(ctx) } }, params: { epsilon: 0.1 }, conservationDetail: true }, 1],
      [{ method: 'lrp', composite: 'alpha-beta', params: { alpha: 3, beta: 2 }, targetClass: 1, conservationDetail: true }, 1],
      // bias-free composites and a layer of one set to a rule with bias: the bias is switched by an input
      [{ method: 'lrp', composite: 'epsilon-gamma-box-nobias', params: firstBounds(ctx), conservationDetail: true }, 1],
      [{ method: 'lrp', composite: 'epsilon-plus-nobias', rules: { [layers[0]]: { rule: 'gamma' } }, conservationDetail: true }, 1],
      [{ method: 'lrp', composite: 'epsilon', rules: { [layers[layers.length - 1]]: { rule: 'w-square' } }, conservationDetail: true }, layers.length > 1 ? 0 : 1],
      // back to the first rule set: its own graph is cached, the backward-only one runs
      [{ method: 'lrp', composite: composites[0], params: firstBounds(ctx), conservationDetail: true }, 1],
    ];
    await withUniversal(net.graph, async (w, o) => {
    const input = { shape: net.inShape, data: net.input };
    // the first runs its own graph; every later one the backward-only graph, a rule set of the first's
    // rule kinds too (its own graph is cached, but the backward-only run is the faster one)
    for (const [i, [opts, reused]] of configs.entries()) {
      const got = await o.explain(input, opts);
      const what = `${name} ${opts.composite} ${JSON.stringify(opts.rules ?? {}).slice(0, 60)}`;
      assert.equal(got.backend, 'onnx', got.backendReason);
      assert.equal(got.timings.sessionReused, reused, `${what}: session reused`);
      assert.equal(got.timings.backwardOnly, i === 0 ? 0 : 1, `${what}: backward only`);
      assertSameExplanation(w.explain(input, opts), got, `${what} vs wasm`);
      n++;
    }
    // a new image: the first composite's own graph (cached) runs and returns its forward values, which
    // the next rule change's backward-only run (cached session) takes
    const other = { shape: net.inShape, data: net.input.map((v, i) => v * 0.5 + ((i % 7) - 3) * 0.05) };
    for (const [j, opts] of [configs[0][0], configs[3][0]].entries()) {
      const got = await o.explain(other, opts);
      const what = `${name} new image ${opts.composite}`;
      assert.equal(got.timings.sessionReused, 1, `${what}: session reused`);
      assert.equal(got.timings.backwardOnly, j, `${what}: backward only`);
      assertSameExplanation(w.explain(other, opts), got, `${what} vs wasm`);
      n++;
    }
    });
  }
  assert.equal(n, 6 * 19);
});

/**
 * The universal graph takes a γ layer's negative outputs as silent (its up branch alone) only where that
 * holds for every choice of the layers after it: on the depthwise net, dw2 (γ, ReLU after it) feeds dw3,
 * a depthwise layer whose choices include w², which sends relevance to dead units — switching dw3 to w²
 * re-runs the same session and must still agree with wasm. Where all later choices scale by the input
 * (residual, concat nets), γ with and without bias stay two choices of one session.
 */
test('onnx universal: silent negative outputs only where every later choice scales by the input', async () => {
  await initBackend('wasm');
  let n = 0;
  for (const name of ['depthwise', 'residual', 'concat']) {
    const net = await makeNet(name, NET_SEEDS[name], {});
    const bounds = firstBounds({ graph: net.graph, low: net.low, high: net.high, logits: [] });
    const layers = ruleLayers(net.graph);
    const egb: ExplainOptions = { method: 'lrp', composite: 'epsilon-gamma-box', params: bounds, conservationDetail: true };
    const last = layers[layers.length - 1];
    const inner = net.graph.nodes.find((x) => x.op === 'depthwiseConv2d' && x.name === 'dw3')?.name ?? layers[1];
    const steps: [ExplainOptions, number][] = [
      [egb, 0],
      [{ ...egb, composite: 'epsilon-plus' }, 0],
      [{ ...egb, rules: name === 'depthwise' ? { [inner]: { rule: 'w-square' } } : { [last]: { rule: 'epsilon' }, [inner]: { rule: 'z-plus' } } }, 1],
      [{ ...egb, composite: 'epsilon-gamma-box-nobias' }, 1],
      [{ ...egb, composite: 'gamma', params: { gamma: 0.5 } }, 1],
    ];
    await withUniversal(net.graph, async (w, o) => {
    const input = { shape: net.inShape, data: net.input };
    for (const [i, [opts, reused]] of steps.entries()) {
      const got = await o.explain(input, opts);
      const what = `${name} step ${i} ${opts.composite} ${JSON.stringify(opts.rules ?? {})}`;
      assertSameExplanation(w.explain(input, opts), got, `${what} vs wasm`);
      if (i > 0) assert.equal(got.timings.backwardOnly, 1, `${what}: backward only`);
      assert.equal(got.timings.sessionReused, reused, `${what}: session reused`);
      n++;
    }
    });
  }
  assert.equal(n, 3 * 5);
});

/**
 * The universal backward-only graph's products by w⁺ / w⁻ (products.ts) are the image's own: the first
 * rule change on an image computes them (only those its rules read: by w⁻ only for α-β with β ≠ 0, none
 * for a layer under ε), the next re-use them, and a new image's first change computes its own — a rule
 * change after a new image that took the last image's products would not agree with a fresh wasm
 * explanation of the new one.
 */
test('onnx universal: cached products follow the image shown (computed on its first rule change, re-used, renewed by a new image)', async () => {
  await initBackend('wasm');
  let n = 0;
  for (const name of ['residual', 'strided', 'concat']) {
    const net = await makeNet(name, NET_SEEDS[name], {});
    const bounds = firstBounds({ graph: net.graph, low: net.low, high: net.high, logits: [] });
    const lrp = (composite: string): ExplainOptions => ({ method: 'lrp', composite, params: bounds, conservationDetail: true });
    const a = { shape: net.inShape, data: net.input };
    const b = { shape: net.inShape, data: net.input.map((v, i) => 0.7 * v + ((i % 5) - 2) * 0.08) };
    // [image, rules, backward only, products computed in this run]
    const steps: [InputArray, ExplainOptions, number, number][] = [
      [a, lrp('epsilon-gamma-box'), 0, 0],
      [a, lrp('epsilon-alpha2-beta1'), 1, 1],
      [a, lrp('epsilon-plus'), 1, 0],
      [a, { ...lrp('epsilon-gamma-box'), rules: { [ruleLayers(net.graph)[0]]: { rule: 'epsilon' } } }, 1, 0],
      [b, lrp('epsilon-gamma-box'), 0, 0],
      // the new image's products by w⁺, then (α-β) its products by w⁻
      [b, lrp('epsilon-plus'), 1, 1],
      [b, lrp('epsilon-alpha2-beta1'), 1, 1],
      // α-β on the dense layers too, whose ε never read theirs: made now (choiceReads.ts)
      [b, { ...lrp('alpha-beta'), params: { alpha: 3, beta: 2 } }, 1, 1],
      [b, { ...lrp('alpha-beta'), params: { alpha: 2, beta: 1 } }, 1, 0],
      [a, lrp('epsilon-gamma-box'), 0, 0],
      [a, lrp('epsilon-alpha2-beta1'), 1, 1],
    ];
    await withUniversal(net.graph, async (w, o) => {
    for (const [i, [input, opts, backwardOnly, computed]] of steps.entries()) {
      const got = await o.explain(input, opts);
      const what = `${name} step ${i} ${opts.composite}`;
      assertSameExplanation(w.explain(input, opts), got, `${what} vs wasm`);
      assert.equal(got.timings.backwardOnly, backwardOnly, `${what}: backward only`);
      assert.equal(got.timings.productsComputed, computed, `${what}: products computed`);
      n++;
    }
    });
  }
  assert.equal(n, 3 * 11);
});

/**
 * The universal backward-only graph makes a layer's kernel variants only once a rule reads them
 * (choiceReads.ts): under composites with ε on the dense layers those have none, also after the rule
 * changes are built ahead; α-β there makes W⁺ and W⁻ of each (one layout: no flip), and every step equals a
 * fresh wasm explanation.
 */
test('onnx universal: kernel variants are made for the layers whose rule reads them, and only then', async () => {
  await initBackend('wasm');
  for (const name of ['residual', 'strided']) {
    const net = await makeNet(name, NET_SEEDS[name], {});
    const g = net.graph;
    const dense = g.nodes.filter((n) => n.op === 'dense');
    const convs = g.nodes.filter((n) => n.op === 'conv2d');
    assert.ok(dense.length && convs.length, name);
    const bounds = firstBounds({ graph: g, low: net.low, high: net.high, logits: [] });
    const lrp = (composite: string): ExplainOptions => ({ method: 'lrp', composite, params: bounds, conservationDetail: true });
    const input = { shape: net.inShape, data: net.input };
    const made = (layer: string): number => fedVariantsOf(g).filter((v) => v.layer === layer).reduce((a, v) => a + v.bytes, 0);
    await withUniversal(g, async (w, o) => {
      const step = async (opts: ExplainOptions, what: string): Promise<void> => {
        assertSameExplanation(w.explain(input, opts), await o.explain(input, opts), `${name} ${what}`);
      };
      await step(lrp('epsilon-gamma-box'), 'own graph');
      assert.equal(fedVariantsOf(g).length, 0, `${name}: the own graph feeds no variant`);
      assert.equal(await o.prepareRuleChanges(), true, `${name}: built ahead`);
      for (const c of convs) assert.ok(made(c.name) > 0, `${name}: ${c.name} under γ has its variants ahead`);
      for (const d of dense) assert.equal(made(d.name), 0, `${name}: ${d.name} under ε has none`);
      for (const composite of ['epsilon-plus', 'epsilon-alpha2-beta1']) {
        await step(lrp(composite), composite);
        for (const d of dense) assert.equal(made(d.name), 0, `${name} ${composite}: ${d.name} under ε has none`);
      }
      await step(lrp('alpha-beta'), 'alpha-beta');
      for (const d of dense) assert.equal(made(d.name), 2 * d.params.kernel!.data.byteLength, `${name} alpha-beta: ${d.name} has W⁺ and W⁻`);
      await step(lrp('epsilon-plus'), 'back to epsilon-plus');
    });
  }
});

/**
 * A 1×1 stride-1 conv's transpose in the universal graphs is Gemm over the kernel as a [co, ci] matrix:
 * its variants are made in one layout (no flipped copy, as a 3×3 conv's have), and every step equals wasm.
 * ResNet-50's engine process: its flipped kernels 201 → ~100 MB, peak RSS after the rule changes −160 MB.
 */
test('onnx universal: 1×1 convolutions read their variants as matrices, with no flipped copy', async () => {
  await initBackend('wasm');
  const net = await makeNet('concat', NET_SEEDS.concat, {});
  const g = net.graph;
  const oneByOne = g.nodes.filter((n) => n.op === 'conv2d' && n.params.kernel!.shape[0] === 1 && n.params.kernel!.shape[1] === 1);
  const wider = g.nodes.filter((n) => n.op === 'conv2d' && n.params.kernel!.shape[0] > 1);
  assert.ok(oneByOne.length >= 2 && wider.length >= 1, `concat net: ${oneByOne.length} 1×1 and ${wider.length} wider convs`);
  const bounds = firstBounds({ graph: g, low: net.low, high: net.high, logits: [] });
  const lrp = (composite: string): ExplainOptions => ({ method: 'lrp', composite, params: bounds, conservationDetail: true });
  const input = { shape: net.inShape, data: net.input };
  const fed = (layer: string) => fedVariantsOf(g).filter((v) => v.layer === layer);
  await withUniversal(g, async (w, o) => {
    for (const composite of ['epsilon-gamma-box', 'alpha-beta', 'epsilon-plus']) {
      assertSameExplanation(w.explain(input, lrp(composite)), await o.explain(input, lrp(composite)), `concat ${composite}`);
      if (composite === 'epsilon-gamma-box') assert.equal(await o.prepareRuleChanges(), true, 'built ahead');
    }
    for (const n of oneByOne) {
      const names = fed(n.name).map((v) => v.name);
      assert.deepEqual(names.filter((v) => v.startsWith('flip')), [], `${n.name}: flipped variants ${names.join(', ')}`);
      // α-β read W⁺ and W⁻, once each
      assert.equal(fed(n.name).reduce((a, v) => a + v.bytes, 0), 2 * n.params.kernel!.data.byteLength, `${n.name}: ${names.join(', ')}`);
    }
    for (const n of wider) assert.ok(fed(n.name).some((v) => v.name.startsWith('flip')), `${n.name}: a stride-1 3×3 conv's flips`);
  });
});

/**
 * The universal backward-only graph switches each layer's bias by a graph input; a layer without one (Swin's
 * patch merging, any bias-free layer) under a γ rule that counts the bias compiled an Add of nothing, and
 * the build for rule changes failed (every rule change after it too). Here on a net without biases, and on
 * every oracle net built without biases: every composite on the backward-only graph after the build, then
 * a new image on the engine process's own graph over the build's arrays.
 */
test('onnx universal: rule changes on layers without a bias (γ, α-β, ε⁺ on the backward-only graph)', async () => {
  await initBackend('wasm');
  const g = reluNet(2, { bias: false });
  const input = { shape: [8, 8, 2], data: new Rand(5).array(8 * 8 * 2, 1, 0) };
  const lrp = (composite: string): ExplainOptions => ({ method: 'lrp', composite, params: { low: -3, high: 3 }, conservationDetail: true });
  await withUniversal(g, async (w, o) => {
    assertSameExplanation(w.explain(input, lrp('epsilon-gamma-box')), await o.explain(input, lrp('epsilon-gamma-box')), 'bias-free egb');
    assert.equal(await o.prepareRuleChanges(), true, 'built ahead');
    for (const composite of ['epsilon-alpha2-beta1', 'epsilon-plus', 'gamma', 'epsilon-gamma-box']) {
      const r = await o.explain(input, lrp(composite));
      assert.equal(r.timings.backwardOnly, 1, `${composite}: on the backward-only graph`);
      assertSameExplanation(w.explain(input, lrp(composite)), r, `bias-free ${composite}`);
    }
  });
  for (const [name, seed] of Object.entries(NET_SEEDS)) {
    const net = await makeNet(name, seed, { biasFree: true });
    const shape = net.inShape;
    const image = (s: number) => ({ shape, data: new Rand(s).array(sizeOf(shape), 1, 0) });
    const w = new Explainer(net.graph);
    const o = new OnnxExplainer(net.graph, { universal: true, idleBuild: true });
    try {
      await o.explain(image(5), lrp('epsilon-gamma-box'));
      assert.equal(await o.prepareRuleChanges(), true, `${name}: built ahead`);
      await o.prepareNewImages();
      for (const composite of COMPOSITE_NAMES) {
        assertSameExplanation(w.explain(image(5), lrp(composite)), await o.explain(image(5), lrp(composite)), `bias-free ${name} ${composite}`);
      }
      const r = await o.explain(image(9), lrp('epsilon-gamma-box'));
      assertSameExplanation(w.explain(image(9), lrp('epsilon-gamma-box')), r, `bias-free ${name}, a new image`);
    } finally {
      w.dispose();
      await o.dispose();
    }
  }
});

/**
 * A rule change runs on the backward-only graph with the forward values of the image it was chosen for,
 * even when another explanation (a new image) replaces them while it awaits its products: the engine
 * process does not serialise requests. Forced here by explaining the new image inside the rule change's
 * product step; before, the rule change then explained the new image.
 */
test('onnx universal: a rule change keeps its image when a new image is explained while it makes its products', async () => {
  await initBackend('wasm');
  const net = await makeNet('residual', NET_SEEDS.residual, {});
  const g = net.graph;
  const bounds = firstBounds({ graph: g, low: net.low, high: net.high, logits: [] });
  const lrp = (composite: string): ExplainOptions => ({ method: 'lrp', composite, params: bounds, conservationDetail: true });
  const x = { shape: net.inShape, data: net.input };
  const y = { shape: net.inShape, data: net.input.map((v, i) => v + 0.3 * Math.sin(i)) };
  await withUniversal(g, async (w, o) => {
    await o.explain(x, lrp('epsilon-gamma-box'));
    assert.equal(await o.prepareRuleChanges(), true, 'built ahead');
    const hooked = o as unknown as { productFeeds: (...a: unknown[]) => Promise<boolean> };
    const original = hooked.productFeeds.bind(o);
    let meanwhile: ExplainOutput | undefined;
    hooked.productFeeds = async (...a: unknown[]) => {
      meanwhile ??= await o.explain(y, lrp('epsilon-gamma-box'));
      return original(...a);
    };
    const changed = await o.explain(x, lrp('alpha-beta'));
    assert.ok(meanwhile && changed.timings.backwardOnly, 'a new image was explained during the backward-only rule change');
    assertSameExplanation(w.explain(x, lrp('alpha-beta')), changed, 'the rule change, on its own image');
    assertSameExplanation(w.explain(y, lrp('epsilon-gamma-box')), meanwhile, 'the new image');
  });
});

/**
 * Per-layer rules drawn at random from the universal graph's choices, changed one after another on the
 * same image: each layer's fed variants and products are made, or stood in for, as its rule of the moment
 * reads them (choiceReads.ts), in whatever order the draws make them; every step equals a fresh wasm
 * explanation, conservation rows included.
 */
test('onnx universal: random per-layer rule changes, each equal to wasm', async () => {
  await initBackend('wasm');
  const inner: RuleSpec[] = [
    { rule: 'epsilon', epsilon: 0.01 }, { rule: 'gamma', gamma: 0.25 }, { rule: 'gamma', gamma: 0.5, bias: false },
    { rule: 'z-plus' }, { rule: 'alpha-beta', alpha: 2, beta: 1 }, { rule: 'alpha-beta', alpha: 1, beta: 0, bias: false },
  ];
  let n = 0;
  for (const name of ['residual', 'strided']) {
    const net = await makeNet(name, NET_SEEDS[name], {});
    const g = net.graph;
    const layers = ruleLayers(g);
    const first = firstWeighted(g);
    const bounds = firstBounds({ graph: g, low: net.low, high: net.high, logits: [] });
    const input = { shape: net.inShape, data: net.input };
    const rand = new Rand(41 + n);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand.next() * xs.length) % xs.length];
    await withUniversal(g, async (w, o) => {
      await o.explain(input, { method: 'lrp', composite: 'epsilon-gamma-box', params: bounds });
      for (let step = 0; step < 6; step++) {
        const rules: Record<string, RuleSpec> = {};
        for (const l of layers) rules[l] = l === first ? pick([...inner, { rule: 'flat' }, { rule: 'w-square' }, { rule: 'z-box' }]) : pick(inner);
        const opts: ExplainOptions = { method: 'lrp', composite: 'epsilon-gamma-box', params: bounds, rules, conservationDetail: true };
        const got = await o.explain(input, opts);
        assert.equal(got.timings.backwardOnly, 1, `${name} step ${step}: backward only`);
        assertSameExplanation(w.explain(input, opts), got, `${name} step ${step} ${JSON.stringify(Object.values(rules).map((r) => r.rule))}`);
        n++;
      }
    });
  }
  assert.equal(n, 12);
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
      const both = { relevance: [a.relevance.data, b.relevance.data], logits: [a.logits.data, b.logits.data], sums: [readSums(full, a), readSums(back, b)] };
      for (const [out, [u, v]] of Object.entries(both) as [string, Float32Array[]][]) {
        assert.ok(maxAbs(u) > 0, `${g.name} ${out}: zero`);
        assert.ok(maxDiff(u, v) <= 1e-6 * maxAbs(u), `${g.name} ${opts.composite} ${out}: ${maxDiff(u, v)}`);
      }
    } finally {
      for (const s of [sf, sb, sw]) await s.release();
      await o.dispose();
    }
  }
});

/**
 * evaluate on the onnx backend: the explanations compiled, the perturbed inputs through the forward-only
 * session in batches; every curve (each method's and the random orders') agrees with the wasm engine's.
 */
test('onnx = wasm: evaluate\'s perturbation curves, AOPC and random baseline', async () => {
  await initBackend('wasm');
  const g = reluNet();
  const ps = quickPatterns(g);
  const shape = g.nodes[g.input].shape;
  const input = { shape, data: new Rand(4).array(sizeOf(shape), 1, 0) };
  const specs = [
    { name: 'lrp', opts: { method: 'lrp' as const, composite: 'epsilon-plus' } },
    { name: 'gxi', opts: { method: 'gradient-x-input' as const } },
    { name: 'pattern', opts: { method: 'pattern-attribution' as const, patterns: ps } },
  ];
  const w = new Explainer(g);
  const o = new OnnxExplainer(g);
  try {
    const engine = onnxEvaluationEngine(o);
    assert.equal(engine.curvesOn, 'onnx');
    let batches = 0;
    const counted = { ...engine, curves: (spec: CurveJobSpec) => { batches += spec.rankMaps.length * Math.ceil((spec.steps + 1) / spec.batch); return engine.curves!(spec); } };
    for (const perturbation of ['mean', 'uniform', 'blur'] as const) {
      const opts = { perturbation, region: 2, randomOrders: 3, batch: 5, targetClass: 1 };
      const a = evaluateMethods(w, input, specs, opts);
      batches = 0;
      const b = await evaluateMethodsAsync(counted, input, specs, opts);
      // 16 regions, 17 points per curve in batches of 5: 4 batches per curve, 3 methods + 3 random orders
      assert.equal(batches, 4 * 6, 'every curve ran on onnxruntime');
      assert.equal(b.target.class, a.target.class);
      assert.ok(Math.abs(b.target.logit - a.target.logit) <= 1e-5 * Math.abs(a.target.logit));
      const all = (ev: typeof a): number[] => [...ev.random!.curve, ...ev.methods.flatMap((m) => [...m.curve, m.aopc])];
      const scale = maxAbs(all(a));
      assert.ok(maxDiff(all(a), all(b)) <= 1e-4 * scale, `${perturbation}: curves differ by ${maxDiff(all(a), all(b))}`);
      assert.ok(maxDiff(a.random!.aopcs, b.random!.aopcs) <= 1e-4 * scale);
      assert.deepEqual(b.methods.map((m) => m.backend), ['onnx', 'onnx', 'onnx']);
      // the curves fall: perturbing changes the logit (the check would pass on two constant curves otherwise)
      assert.ok(a.methods.every((m) => Math.abs(m.aopc) > 1e-3 * Math.abs(a.target.logit)), 'non-trivial curves');
      assert.deepEqual(b.settings, a.settings);
    }
  } finally {
    w.dispose();
    await o.dispose();
  }
});

/** What `info` says of each method on the onnx backend is what explain does: compiled, on wasm, or refused. */
test('info\'s compiled / fallback list is what the onnx backend does for every method', async () => {
  await initBackend('wasm');
  const r = new Rand(5);
  // an in-network softmax (attention weights): not a ReLU network, compiled since the transformer ops have ONNX emission
  const b = new GraphBuilder('attn');
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [3, 3, 2] });
  x = b.add({ name: 'flat', op: 'flatten', inputs: [x] });
  x = b.add({ name: 'd1', op: 'dense', inputs: [x], params: { kernel: { shape: [18, 6], data: r.array(108, 0.3) } } });
  x = b.add({ name: 'act', op: 'softmax', inputs: [x] });
  x = b.add({ name: 'd2', op: 'dense', inputs: [x], params: { kernel: { shape: [6, 3], data: r.array(18, 0.3) } } });
  const attn = b.build('attn', 'test', x);
  for (const g of [reluNet(), smoothNet(1), attn]) {
    const shape = g.nodes[g.input].shape;
    const input = { shape, data: new Rand(8).array(sizeOf(shape), 1, 0) };
    const ps = quickPatterns(g);
    const listed = compiledMethods(g, ALL_METHODS);
    assert.deepEqual(Object.keys(listed), [...ALL_METHODS]);
    const o = new OnnxExplainer(g);
    try {
      for (const m of ALL_METHODS) {
        const opts: ExplainOptions = { method: m, samples: 3, steps: 3, patterns: ps };
        const says = listed[m];
        if (says.reason?.startsWith('refused')) {
          await assert.rejects(o.explain(input, opts), /defined for ReLU networks/, `${g.name} ${m}`);
          continue;
        }
        const r = await o.explain(input, opts);
        assert.equal(r.backend, says.compiled ? 'onnx' : 'wasm', `${g.name} ${m}: info says ${JSON.stringify(says)}, ran on ${r.backend} (${r.backendReason})`);
      }
      // every method compiles on the ReLU net; Deep Taylor refuses the softmax net, the rest compile (the pattern methods too)
      if (g.name === 'relu') assert.ok(Object.values(listed).every((v) => v.compiled));
      // evaluate's batches: on onnxruntime where the forward compiles (every op of these nets has an emission)
      assert.equal(compiledForward(g).compiled, true);
      assert.equal(onnxEvaluationEngine(o).curvesOn, 'onnx');
      if (g.name === 'attn') {
        const refused = Object.entries(listed).filter(([, v]) => v.reason?.startsWith('refused'));
        assert.deepEqual(refused.map(([m]) => m), ['deep-taylor', 'deep-taylor-bounded']);
        assert.ok(Object.entries(listed).every(([m, v]) => v.compiled === !refused.some(([r]) => r === m)));
      }
    } finally {
      await o.dispose();
    }
  }
});

/** On transformers: every composite (the CNN ones use AttnLRP's rules on the transformer ops), LRP rule overrides and the gradient family. */
const TRANSFORMER_METHODS: ExplainOptions[] = [
  ...[...COMPOSITE_NAMES, 'auto'].map((composite) => ({ method: 'lrp' as const, composite, conservationDetail: true, params: { low: -3, high: 3 } })),
  { method: 'gradient' }, { method: 'gradient-x-input' }, { method: 'deconvnet' }, { method: 'guided-backprop' },
  { method: 'smoothgrad', samples: 5, sigma: 0.2, seed: 3, sampleBatch: 2 },
  { method: 'integrated-gradients', steps: 6, sampleBatch: 3 },
];

async function compareTransformer(g: Graph, input: InputArray, extra: ExplainOptions[] = []): Promise<number> {
  const w = new Explainer(g);
  const o = new OnnxExplainer(g);
  let n = 0;
  try {
    for (const opts of [...TRANSFORMER_METHODS, ...extra]) {
      const b = await o.explain(input, opts);
      assert.equal(b.backend, 'onnx', `${g.name} ${opts.method}: ${b.backendReason}`);
      assertSameExplanation(w.explain(input, opts), b, `${g.name} ${opts.method} ${opts.composite ?? ''} ${JSON.stringify(opts.rules ?? {})}`);
      n++;
    }
  } finally {
    w.dispose();
    await o.dispose();
  }
  return n;
}

/**
 * The oracle's random transformer block (class token, position embedding, LayerNorms, two-head attention
 * with [H, T, d] values, residuals, GELU MLP, class-token select): the compiled transpose, select,
 * constant, matmul, layerNorm, softmax, GELU and N-D dense, under AttnLRP / CP-LRP and their rule
 * alternatives (LayerNorm pass, softmax held constant, A·V by the value rule), agree with wasm.
 */
test('onnx = wasm on a random transformer block: every composite, the transformer rules, the gradient family, the pattern methods', async () => {
  await initBackend('wasm');
  for (const seed of [3, 11]) {
    const w = randomBlock(seed);
    const g = blockGraph(w);
    const input = { shape: [1, w.T, w.D], data: new Rand(seed).array(w.T * w.D, 1, 0) };
    const rules = (r: Record<string, RuleSpec>): ExplainOptions => ({ method: 'lrp', composite: 'attn-lrp', rules: r, conservationDetail: true });
    const extra: ExplainOptions[] = [
      rules({ ln1: { rule: 'pass' }, ln2: { rule: 'pass' }, softmax: { rule: 'held-constant' }, av: { rule: 'bilinear-value' } }),
      rules({ qk: { rule: 'bilinear-uniform', epsilon: 0.5 }, ln3: { rule: 'norm-identity', epsilon: 0.1 } }),
      { ...rules({}), targetClass: 1 },
    ];
    // PatternNet / PatternAttribution through every transformer op, patterns fitted on the block's tokens
    extra.push(...patternMethods(quickPatterns(g)));
    assert.equal(await compareTransformer(g, input, extra), TRANSFORMER_METHODS.length + extra.length);
  }
});

/** torchvision's own ViT, Swin and ConvNeXt classes at small sizes (test/fixtures/transformers, PyTorch exports). */
for (const name of ['vit', 'swin', 'convnext']) {
  test(`onnx = wasm on the torchvision ${name} fixture: every composite, the gradient family and the pattern methods`, async () => {
    await initBackend('wasm');
    const g = canonize(await loadModel(path.join(TRANSFORMERS, `${name}.onnx`)));
    const ref = TRANSFORMER_REF[name];
    const more = patternMethods(quickPatterns(g));
    assert.equal(await compareTransformer(g, { shape: ref.inputShape, data: Float32Array.from(ref.input) }, more), TRANSFORMER_METHODS.length + more.length);
  });
}
