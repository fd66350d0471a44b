/**
 * ProcessExplainer: the onnx backend's explanations in an engine process of its own. The results are
 * those of an OnnxExplainer in this thread on the same file, configured as the process's (same graph, same
 * onnxruntime, `idleBuild`), including
 * a rule change on the universal graph, sample methods, Deep Taylor's root point and PatternAttribution
 * (the pattern set sent once); cancellation answers at once and leaves the process usable; a process
 * that dies fails its request with a message naming the file and is started again; it ends with
 * dispose, and each start and end is reported; a bad file is the loader's one-line error.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { initBackend } from '../../src/core/engine/backend';
import { openModel } from '../../src/core/pipeline';
import { OnnxExplainer } from '../../src/core/onnx/onnxExplainer';
import { ProcessExplainer, ONNX_PROCESS_SCRIPT } from '../../src/core/onnx/processExplainer';
import { ortStatus } from '../../src/core/onnx/runtime';
import { LensError } from '../../src/core/errors';
import { sizeOf, type Graph } from '../../src/core/graph/ir';
import { Explainer, type ExplainOutput } from '../../src/core/methods/explain';
import { assertSameExplanation } from './helpers/sameExplanation';
import type { ExplainOptions } from '../../src/core/methods/types';
import { fitPatterns } from '../../src/core/patterns/fit';
import { toPatternSet } from '../../src/core/patterns/stats';
import { Rand, memorySource } from './helpers/methodNets';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'loaders');
const CNN = path.join(FIXTURES, 'cnn.onnx');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, ms = 5000): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms;) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/** A graph of the fixture CNN: one per explainer, since a ProcessExplainer lets its graph's kernels go. */
async function cnnGraph(): Promise<Graph> {
  return (await openModel(CNN, undefined, { keepRaw: false })).graph;
}

function kernelsOf(g: Graph): Float32Array[] {
  return g.nodes.flatMap((n) => (n.params.kernel ? [n.params.kernel.data] : []));
}

function sameResult(a: ExplainOutput, b: ExplainOutput, what: string): void {
  assert.deepEqual(b.target, a.target, `${what}: target`);
  assert.deepEqual(b.rules, a.rules, `${what}: rules`);
  assert.deepEqual(b.relevance.shape, a.relevance.shape, `${what}: shape`);
  assert.deepEqual(b.relevance.data, a.relevance.data, `${what}: relevance`);
  assert.deepEqual(b.layers, a.layers, `${what}: conservation rows`);
  assert.deepEqual(b.extra, a.extra, `${what}: extra`);
}

test('the engine process script is built next to the module', () => {
  assert.ok(ortStatus().available, ortStatus().reason);
  assert.ok(require('fs').existsSync(ONNX_PROCESS_SCRIPT), ONNX_PROCESS_SCRIPT);
});

test('in its own process: the same results as in this thread, rule changes, samples, Deep Taylor, patterns', async () => {
  await initBackend('wasm');
  const { graph } = await openModel(CNN, undefined, { keepRaw: false });
  const shape = graph.nodes[graph.input].shape;
  const patterns = toPatternSet(fitPatterns(graph, memorySource(new Rand(5).array(16 * sizeOf(shape), 1, 0.2), shape), { batchSize: 8, holdout: 0 }));
  const here = new OnnxExplainer(graph, { universal: true, idleBuild: true });
  const there = new ProcessExplainer(CNN).useGraph(await cnnGraph());
  const conv = graph.nodes.find((n) => n.op === 'conv2d' && n.id !== graph.nodes.find((m) => m.op === 'conv2d')!.id) ?? graph.nodes.find((n) => n.op === 'conv2d')!;
  const runs: ExplainOptions[] = [
    { method: 'lrp', composite: 'epsilon-gamma-box', conservationDetail: true },
    // a rule change on the same image: the universal backward-only graph, fed with the cached forward
    { method: 'lrp', composite: 'epsilon-gamma-box', rules: { [conv.name]: { rule: 'alpha-beta', alpha: 2, beta: 1 } } },
    { method: 'lrp', composite: 'epsilon-gamma-box', rules: { [conv.name]: { rule: 'epsilon' } }, params: { epsilon: 0.5 } },
    { method: 'gradient-x-input', targetClass: 3 },
    { method: 'smoothgrad', samples: 5, sigma: 0.2, seed: 2, sampleBatch: 2 },
    { method: 'integrated-gradients', steps: 6, sampleBatch: 4 },
    { method: 'deep-taylor', root: 'nearest' },
    { method: 'pattern-attribution', patterns },
    { method: 'pattern-net', patterns, patternType: 'linear' },
  ];
  try {
    for (const seed of [1, 2]) {
      const input = { shape, data: new Rand(seed).array(sizeOf(shape), 1, 0) };
      for (const opts of runs) {
        const a = await here.explain(input, opts);
        const b = await there.explain(input, opts, { keepLayers: [conv.name] });
        assert.equal(b.backend, 'onnx', `${opts.method}: ${b.backendReason}`);
        sameResult(a, b, `${opts.method} ${JSON.stringify(opts.rules ?? {})} seed ${seed}`);
        assert.deepEqual(Object.keys(b.layerRelevance ?? {}), [conv.name], `${opts.method}: kept layer`);
      }
    }
    // after the first image, its rule changes ran on the backward-only graph in the process as here
    const again = await there.explain({ shape, data: new Rand(2).array(sizeOf(shape), 1, 0) }, runs[2]);
    assert.equal(again.timings.backwardOnly, 1);
  } finally {
    await here.dispose();
    await there.dispose();
  }
});

test('not compiled: the caller runs its own wasm engine (pattern-net without patterns refuses there)', async () => {
  await initBackend('wasm');
  const graph = await cnnGraph();
  const shape = graph.nodes[graph.input].shape;
  const there = new ProcessExplainer(CNN).useGraph(graph);
  try {
    // the wasm Explainer's own refusal, as in-thread: the process answered 'fallback'
    await assert.rejects(there.explain({ shape, data: new Float32Array(sizeOf(shape)) }, { method: 'pattern-net' }),
      (e: Error) => e instanceof LensError && e.code === 'bad-usage' && e.message.startsWith('pattern-net needs fitted patterns'));
    const ok = await there.explain({ shape, data: new Rand(3).array(sizeOf(shape), 1, 0) }, { method: 'gradient' });
    assert.equal(ok.backend, 'onnx');
  } finally {
    await there.dispose();
  }
});

test('cancel answers at once, the process stays usable; a killed process is started again; dispose ends it', async () => {
  await initBackend('wasm');
  const graph = await cnnGraph();
  const shape = graph.nodes[graph.input].shape;
  const input = { shape, data: new Rand(4).array(sizeOf(shape), 1, 0) };
  const there = new ProcessExplainer(CNN).useGraph(graph);
  try {
    await there.explain(input, { method: 'gradient' });
    const pid = there.pid!;
    assert.ok(pid > 0 && alive(pid));
    // a long run (many samples) cancelled by the caller's checkpoint
    let polls = 0;
    const t0 = performance.now();
    await assert.rejects(there.explain(input, { method: 'smoothgrad', samples: 4000, sampleBatch: 1 }, {
      checkpoint: () => {
        if (++polls > 3) throw new LensError('cancelled', 'cancelled');
      },
    }), (e: Error) => e instanceof LensError && e.code === 'cancelled');
    const cancelMs = performance.now() - t0;
    assert.ok(cancelMs < 10_000, `cancel took ${cancelMs} ms`);
    assert.equal(there.pid, pid, 'the process survived the cancel');
    assert.equal((await there.explain(input, { method: 'gradient' })).backend, 'onnx');

    // killed while it computes: the request fails naming the file, the next one starts a new process
    const pending = there.explain(input, { method: 'smoothgrad', samples: 4000, sampleBatch: 1 });
    await new Promise((r) => setTimeout(r, 200));
    process.kill(pid, 'SIGKILL');
    await assert.rejects(pending, (e: Error) => e.message.startsWith(`${CNN}: the onnxruntime engine process exited (SIGKILL)`) && !e.message.includes('\n'));
    const r = await there.explain(input, { method: 'gradient' });
    assert.equal(r.backend, 'onnx');
    const pid2 = there.pid!;
    assert.ok(pid2 !== pid && alive(pid2));
    await there.dispose();
    assert.ok(await gone(pid2), 'dispose ended the process');
  } finally {
    await there.dispose();
  }
});

test('a bad model file: the loader\'s one-line error from the process, with its code and file', async () => {
  const bad = path.join(FIXTURES, 'broken_unsupported.onnx');
  const inThread = await openModel(bad).then(() => undefined, (e: LensError) => e);
  assert.ok(inThread instanceof LensError);
  const there = new ProcessExplainer(bad);
  try {
    // the graph the caller would have: any will do, the load fails first
    there.useGraph(await cnnGraph());
    await assert.rejects(there.explain({ shape: [1], data: new Float32Array(1) }, { method: 'gradient' }), (e: Error) => {
      assert.ok(e instanceof LensError);
      assert.equal(e.code, inThread.code);
      assert.equal(e.file, bad);
      assert.equal(e.message, inThread.message);
      return true;
    });
  } finally {
    await there.dispose();
  }
});

test('each process started and ended is reported (the worker\'s owner ends them with it)', async () => {
  const events: [number, boolean][] = [];
  const there = new ProcessExplainer(CNN, { onProcess: (pid, running) => events.push([pid, running]) });
  const graph = await cnnGraph();
  there.useGraph(graph);
  const shape = graph.nodes[graph.input].shape;
  await there.explain({ shape, data: new Rand(6).array(sizeOf(shape), 1, 0) }, { method: 'gradient' });
  const pid = there.pid!;
  assert.deepEqual(events, [[pid, true]]);
  // its resident memory, for the soak test (a node process with onnxruntime and the model: > 20 MB)
  const { rss, peak } = await there.memory();
  assert.ok(rss > 20 * 2 ** 20 && rss < 2 ** 32, `rss ${rss}`);
  // the peak is the process's own (getrusage), never below what it holds now
  assert.ok(peak >= rss && peak < 2 ** 33, `peak ${peak}, rss ${rss}`);
  await there.dispose();
  assert.deepEqual(await there.memory(), { rss: 0, peak: 0 });
  assert.ok(await gone(pid));
  for (let i = 0; i < 100 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(events, [[pid, true], [pid, false]]);
});

/** The fixture CNN, an image, its convolutions and the default composite's explanation of it (the rule-change tests). */
async function ruleChangeCase(): Promise<{ graph: Graph; shape: number[]; input: { shape: number[]; data: Float32Array }; convs: Graph['nodes']; first: ExplainOptions }> {
  await initBackend('wasm');
  const { graph } = await openModel(CNN, undefined, { keepRaw: false });
  const shape = graph.nodes[graph.input].shape;
  return {
    graph, shape, input: { shape, data: new Rand(8).array(sizeOf(shape), 1, 0) }, convs: graph.nodes.filter((n) => n.op === 'conv2d'),
    first: { method: 'lrp', composite: 'epsilon-gamma-box', conservationDetail: true },
  };
}

test('idle after an explanation, the process builds what the first rule change runs on (and the results are the same)', async () => {
  const { graph, shape, input, convs, first } = await ruleChangeCase();
  const change: ExplainOptions = { ...first, rules: { [convs[convs.length - 1].name]: { rule: 'z-plus' } } };
  // in this thread, built on demand
  const here = new OnnxExplainer(graph, { universal: true, idleBuild: true });
  const there = new ProcessExplainer(CNN).useGraph(await cnnGraph());
  try {
    await here.explain(input, first);
    const a = await here.explain(input, change);
    assert.equal(a.timings.sessionReused, 0, 'in this thread the change builds the backward-only graph');
    assert.equal(await here.prepareRuleChanges(), true, 'the w⁻ products, which z⁺ did not need');
    assert.equal(await here.prepareRuleChanges(), false, 'nothing left to build');
    await here.explain({ shape, data: new Rand(9).array(sizeOf(shape), 1, 0) }, first);
    assert.equal(await here.prepareRuleChanges(), true, 'a new image: its products');
    await there.explain(input, first);
    // the process builds it while idle: the change finds it
    await new Promise((r) => setTimeout(r, 400));
    let b = await there.explain(input, change);
    for (let i = 0; i < 50 && (b.timings.sessionReused !== 1 || b.timings.productsComputed !== 0); i++) {
      // a loaded machine: the idle timer may not have fired before the request; a new image starts over
      await there.explain({ shape, data: new Rand(100 + i).array(sizeOf(shape), 1, 0) }, first);
      await new Promise((r) => setTimeout(r, 400));
      await there.explain(input, first);
      await new Promise((r) => setTimeout(r, 400));
      b = await there.explain(input, change);
    }
    assert.equal(b.timings.backwardOnly, 1);
    assert.equal(b.timings.sessionReused, 1, 'the backward-only graph was built ahead');
    assert.equal(b.timings.productsComputed, 0, 'the w⁺ products were made ahead');
    // and the w⁻ ones, which α-β with β ≠ 0 reads
    const ab = await there.explain(input, { ...first, rules: { [convs[0].name]: { rule: 'alpha-beta', alpha: 2, beta: 1 } } });
    assert.equal(ab.timings.productsComputed, 0, 'the w⁻ products were made ahead');
    // here on the same route: this image's forward values held, the backward-only graph
    await here.explain(input, first);
    const abHere = await here.explain(input, { ...first, rules: { [convs[0].name]: { rule: 'alpha-beta', alpha: 2, beta: 1 } } });
    assert.equal(abHere.timings.backwardOnly, 1);
    sameResult(abHere, ab, 'α-β on products made ahead');
    sameResult(a, b, 'rule change on the graph built ahead');
  } finally {
    await here.dispose();
    await there.dispose();
  }
});

test('lean (relevanceLens.ruleChanges): nothing kept for rule changes, each rule set in its own graph, the heatmaps of wasm', async () => {
  const { graph, input, convs, first } = await ruleChangeCase();
  const changes: ExplainOptions[] = [
    { ...first, rules: { [convs[0].name]: { rule: 'alpha-beta', alpha: 2, beta: 1 } } },
    { ...first, composite: 'epsilon-plus' },
    first,
  ];
  const wasm = new Explainer(graph);
  const here = new OnnxExplainer(graph, { lean: true });
  const there = new ProcessExplainer(CNN, { lean: true }).useGraph(await cnnGraph());
  try {
    const a = await here.explain(input, first);
    assertSameExplanation(wasm.explain(input, first), a, 'lean, first explanation');
    assert.equal((here as unknown as { acts?: unknown }).acts, undefined, 'lean holds no forward values');
    assert.equal(await here.prepareRuleChanges(), false, 'lean builds nothing ahead');
    const b = await there.explain(input, first);
    sameResult(a, b, 'lean in the process');
    // idle long enough for the fast mode's build (the test above), which lean does not start
    await new Promise((r) => setTimeout(r, 400));
    for (const opts of changes) {
      const x = await here.explain(input, opts);
      const y = await there.explain(input, opts);
      assert.equal(x.timings.backwardOnly, 0, 'in this thread: its own graph');
      assert.equal(y.timings.backwardOnly, 0, 'in the process: its own graph');
      sameResult(x, y, `lean ${opts.composite} ${JSON.stringify(opts.rules ?? {})}`);
      assertSameExplanation(wasm.explain(input, opts), y, `lean ${opts.composite} against wasm`);
    }
    // back to a rule set explained before: its session is reused
    assert.equal((await there.explain(input, changes[0])).timings.sessionReused, 1);
    // the other compiled methods run unfolded too (samples as batches, Deep Taylor's root point)
    const others: ExplainOptions[] = [
      { method: 'gradient-x-input', targetClass: 3 },
      { method: 'smoothgrad', samples: 5, sigma: 0.2, seed: 2, sampleBatch: 2 },
      { method: 'integrated-gradients', steps: 6, sampleBatch: 4 },
      { method: 'deep-taylor', root: 'nearest' },
    ];
    for (const opts of others) {
      const y = await there.explain(input, opts);
      assert.equal(y.backend, 'onnx', `${opts.method}: ${y.backendReason}`);
      sameResult(await here.explain(input, opts), y, `lean ${opts.method}`);
      assertSameExplanation(wasm.explain(input, opts), y, `lean ${opts.method} against wasm`);
    }
  } finally {
    wasm.dispose();
    await here.dispose();
    await there.dispose();
  }
});

test('where no process can start, the explanations run in the caller\'s thread and say so', async () => {
  await initBackend('wasm');
  const { graph } = await openModel(CNN, undefined, { keepRaw: false });
  const shape = graph.nodes[graph.input].shape;
  const input = { shape, data: new Rand(10).array(sizeOf(shape), 1, 0) };
  const there = new ProcessExplainer(CNN, { script: path.join(FIXTURES, 'no-such-engine-process.js') }).useGraph(await cnnGraph());
  // the caller's own thread builds nothing while idle: the fallback's configuration
  const here = new OnnxExplainer(graph, { universal: true });
  try {
    const b = await there.explain(input, { method: 'lrp', composite: 'epsilon-gamma-box' });
    assert.equal(b.backend, 'onnx');
    assert.match(b.backendReason, /, in the worker: no engine process \(.*the onnxruntime engine process exited \(code 1\)/);
    assert.equal(there.pid, undefined);
    sameResult(await here.explain(input, { method: 'lrp', composite: 'epsilon-gamma-box' }), b, 'in the caller\'s thread');
  } finally {
    await here.dispose();
    await there.dispose();
  }
});

/**
 * A transformer's select index maps go with the kernels (releaseKernels) and come back with them: a pattern
 * fit in the caller runs the wasm engine's selects (the extension's ViT fit failed with them let go).
 */
test('a ViT\'s select index maps go and come back with the caller\'s kernels; a pattern fit in the caller runs on them', async () => {
  await initBackend('wasm');
  const file = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'transformers', 'vit.onnx');
  const g = (await openModel(file, undefined, { keepRaw: false })).graph;
  const maps = (): number[] => g.nodes.filter((n) => n.op === 'select').map((n) => n.params.index!.data.length);
  const loaded = maps();
  assert.ok(loaded.length >= 2 && loaded.every((n) => n > 0), `${loaded.length} selects`);
  const shape = g.nodes[g.input].shape;
  const there = new ProcessExplainer(file).useGraph(g);
  try {
    const r = await there.explain({ shape, data: new Rand(12).array(sizeOf(shape), 1, 0) }, { method: 'gradient' });
    assert.equal(r.backend, 'onnx');
    assert.ok(there.kernelsReleased && maps().every((n) => n === 0), 'the caller\'s index maps are let go with its kernels');
    const rows = await there.withKernels(() => {
      assert.deepEqual(maps(), loaded, 'the index maps are back for the caller\'s own computation');
      const stats = fitPatterns(g, memorySource(new Rand(13).array(4 * sizeOf(shape), 1, 0), shape), { batchSize: 2, holdout: 0, patterns: false });
      return stats.layers.length;
    });
    assert.ok(rows > 0, 'patterns fitted');
    assert.ok(there.kernelsReleased && maps().every((n) => n === 0));
  } finally {
    await there.dispose();
  }
});

test('the weights are held once: the caller\'s kernels go once the process holds the model, and come back when used here', async () => {
  await initBackend('wasm');
  const g = await cnnGraph();
  const loaded = kernelsOf(await cnnGraph());
  assert.ok(loaded.length >= 3 && loaded.every((k) => k.length > 0));
  const shape = g.nodes[g.input].shape;
  const there = new ProcessExplainer(CNN).useGraph(g);
  try {
    const r = await there.explain({ shape, data: new Rand(11).array(sizeOf(shape), 1, 0) }, { method: 'gradient' });
    assert.equal(r.backend, 'onnx');
    assert.ok(there.kernelsReleased);
    assert.ok(kernelsOf(g).every((k) => k.length === 0), 'the caller\'s kernels are let go');
    // what the caller computes on them itself (pattern statistics): read back for it, then let go again
    const seen = await there.withKernels(() => kernelsOf(g).map((k) => Float32Array.from(k)));
    assert.deepEqual(seen, loaded);
    assert.ok(there.kernelsReleased && kernelsOf(g).every((k) => k.length === 0));
    // the wasm fallback keeps them (it makes tensors of them)
    await assert.rejects(there.explain({ shape, data: new Float32Array(sizeOf(shape)) }, { method: 'pattern-net' }), /needs fitted patterns/);
    assert.ok(!there.kernelsReleased);
    assert.deepEqual(kernelsOf(g), loaded);
  } finally {
    await there.dispose();
  }
});
