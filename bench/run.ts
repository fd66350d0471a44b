/**
 * `npm run bench`: prints figures, asserts nothing about time (shared, noisy machines).
 * Forward pass vs LRP (epsilon-gamma-box, forward included) on the wasm backend, median of runs;
 * load and LRP time of the real MobileNetV2 (nsfwjs); PatternNet fit throughput.
 * `node out/bench/run.js NAME` runs one section: lenet, vgg16, mobilenetv2, patterns, parallel, zoo (bench/zoo.ts:
 * torchvision VGG16 / ResNet-50 ONNX files on the onnx and wasm backends, Zennit with ZENNIT_SRC set).
 * parallel: SmoothGrad (32 samples), Integrated Gradients (64 steps) and evaluate on 1 and 2 threads
 * (the sample worker pool, warmed up first), their speed-up and agreement.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { initBackend, tf } from '../src/core/engine/backend';
import { Explainer } from '../src/core/methods/explain';
import type { Graph } from '../src/core/graph/ir';
import { sizeOf } from '../src/core/graph/ir';
import { openModel } from '../src/core/pipeline';
import { vgg16 } from './models';
import { benchPatterns } from './patterns';
import { benchZoo } from './zoo';
import { nsfwjsModel } from '../test/unit/helpers/realModels';
import { SampleWorkerPool } from '../src/core/parallel/pool';
import { evaluateMethods } from '../src/core/metrics/evaluate';
import type { ExplainOptions } from '../src/core/methods/types';

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function randomInput(shape: number[], seed: number): Float32Array {
  const d = new Float32Array(sizeOf(shape));
  let s = seed;
  for (let i = 0; i < d.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s / 4294967296;
  }
  return d;
}

export async function benchForwardVsLrp(label: string, graph: Graph, runs: number, composite = 'epsilon-gamma-box'): Promise<void> {
  const e = new Explainer(graph);
  const shape = graph.nodes[graph.input].shape;
  const fwd: number[] = [];
  const lrp: number[] = [];
  const lrpRuleChange: number[] = [];
  const params = { low: 0, high: 1 };
  // warm-up: kernels compiled, derived weights cached
  e.explain({ shape, data: randomInput(shape, 99) }, { method: 'lrp', composite, params });
  for (let i = 0; i < runs; i++) {
    const a = { shape, data: randomInput(shape, 2 * i + 1) };
    let t0 = performance.now();
    e.predict(a);
    fwd.push(performance.now() - t0);
    const b = { shape, data: randomInput(shape, 2 * i + 2) };
    t0 = performance.now();
    e.explain(b, { method: 'lrp', composite, params });
    lrp.push(performance.now() - t0);
    t0 = performance.now();
    e.explain(b, { method: 'lrp', composite: 'epsilon-plus', params });
    lrpRuleChange.push(performance.now() - t0);
  }
  const f = median(fwd);
  const l = median(lrp);
  console.log(`${label.padEnd(28)} forward ${f.toFixed(1).padStart(8)} ms   LRP ${composite} ${l.toFixed(1).padStart(8)} ms   ratio ${(l / f).toFixed(2)}   `
    + `backward only (forward cached) ${median(lrpRuleChange).toFixed(1)} ms   [median of ${runs}]`);
  e.dispose();
}

/**
 * The real MobileNetV2 of nsfwjs (TF.js layers model, 224×224×3, 5 classes): loading (read, parse,
 * check, canonize; the model is written out of the npm package once, before timing), forward, and LRP with
 * epsilon-gamma-box and epsilon-plus, each a full explanation of a new input (forward included), and
 * a rule change on a cached forward pass (backward only).
 */
export async function benchMobileNetV2(runs = 5): Promise<void> {
  const file = nsfwjsModel('mobilenet_v2');
  const loads: number[] = [];
  let m = await openModel(file);
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    m = await openModel(file);
    loads.push(performance.now() - t0);
  }
  const g = m.graph;
  const params = g.nodes.reduce((a, n) => a + Object.values(n.params).reduce((b, p) => b + (p ? p.data.length : 0), 0), 0);
  console.log(`MobileNetV2 (nsfwjs 4.3.0, real weights): ${m.raw.nodes.length} nodes as loaded, ${g.nodes.length} after canonization, `
    + `${params.toLocaleString('en')} parameters; load ${median(loads).toFixed(1)} ms [median of ${runs}, after a first load]`);
  const e = new Explainer(g);
  const shape = g.nodes[g.input].shape;
  const p = { low: 0, high: 1 };
  const fwd: number[] = [];
  const egb: number[] = [];
  const eplus: number[] = [];
  const backwardOnly: number[] = [];
  e.explain({ shape, data: randomInput(shape, 99) }, { method: 'lrp', composite: 'epsilon-gamma-box', params: p });
  e.explain({ shape, data: randomInput(shape, 98) }, { method: 'lrp', composite: 'epsilon-plus', params: p });
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    e.predict({ shape, data: randomInput(shape, 3 * i + 1) });
    fwd.push(performance.now() - t0);
    const b = { shape, data: randomInput(shape, 3 * i + 2) };
    t0 = performance.now();
    e.explain(b, { method: 'lrp', composite: 'epsilon-gamma-box', params: p });
    egb.push(performance.now() - t0);
    t0 = performance.now();
    e.explain(b, { method: 'lrp', composite: 'epsilon-plus', params: p });
    backwardOnly.push(performance.now() - t0);
    t0 = performance.now();
    e.explain({ shape, data: randomInput(shape, 3 * i + 3) }, { method: 'lrp', composite: 'epsilon-plus', params: p });
    eplus.push(performance.now() - t0);
  }
  e.dispose();
  const f = median(fwd);
  const a = median(egb);
  const b = median(eplus);
  console.log(`${'MobileNetV2 224×224 (nsfwjs)'.padEnd(28)} forward ${f.toFixed(1).padStart(8)} ms   LRP epsilon-gamma-box ${a.toFixed(1).padStart(8)} ms (ratio ${(a / f).toFixed(2)})   `
    + `LRP epsilon-plus ${b.toFixed(1).padStart(8)} ms (ratio ${(b / f).toFixed(2)})   rule change, forward cached ${median(backwardOnly).toFixed(1)} ms   [median of ${runs}]`);
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

/**
 * What two threads can do at once on this machine right now: the same SmoothGrad run in one
 * worker_threads worker alone, then in two at once (each loads the model itself; nothing shared). On a
 * shared VM the two cores may be hyperthreads of one core or throttled, and this ceiling moves between
 * runs; the pool's speed-ups are to be read against it.
 */
async function twoThreadCapacity(modelFile: string, samples: number): Promise<number> {
  const core = path.join(__dirname, '..', 'src', 'core');
  const code = `
    const { parentPort, workerData } = require('worker_threads');
    const { initBackend } = require(${JSON.stringify(path.join(core, 'engine', 'backend'))});
    const { openModel } = require(${JSON.stringify(path.join(core, 'pipeline'))});
    const { Explainer } = require(${JSON.stringify(path.join(core, 'methods', 'explain'))});
    (async () => {
      await initBackend('wasm');
      const g = (await openModel(workerData.file)).graph;
      const shape = g.nodes[g.input].shape;
      const input = { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => (i % 97) / 97) };
      const e = new Explainer(g);
      e.explain(input, { method: 'smoothgrad', samples: workerData.samples });
      parentPort.postMessage('ready');
      await new Promise((r) => parentPort.once('message', r));
      const t0 = performance.now();
      e.explain(input, { method: 'smoothgrad', samples: workerData.samples });
      parentPort.postMessage(performance.now() - t0);
    })();`;
  const run = async (n: number): Promise<number[]> => {
    const ws = Array.from({ length: n }, () => new Worker(code, { eval: true, workerData: { file: modelFile, samples } }));
    const next = (w: Worker): Promise<unknown> => new Promise((r, j) => {
      w.once('message', r);
      w.once('error', j);
    });
    await Promise.all(ws.map(next));
    const times = ws.map(next);
    ws.forEach((w) => w.postMessage('go'));
    const ms = (await Promise.all(times)) as number[];
    await Promise.all(ws.map((w) => w.terminate()));
    return ms;
  };
  const [alone] = await run(1);
  const both = await run(2);
  return (2 * alone) / Math.max(...both);
}

/**
 * SmoothGrad (32 samples), Integrated Gradients (64 steps) and evaluate (gradient vs 3 random orders,
 * default steps and regions) on this thread alone and with one sample worker, which was started and
 * given the model beforehand (the steady state of the extension's engine); the worker joins a job that
 * runs longer than OPEN_AFTER_MS, as in the CLI and the extension. Each figure is the median of
 * `runs` after one warm-up run per configuration; relative error ‖a − b‖ / ‖b‖ between the two results.
 */
export async function benchParallel(label: string, modelFile: string, runs: number, capacitySamples: number): Promise<void> {
  const capacity = await twoThreadCapacity(modelFile, capacitySamples);
  const graph = (await openModel(modelFile)).graph;
  const e = new Explainer(graph);
  const shape = graph.nodes[graph.input].shape;
  const input = { shape, data: randomInput(shape, 7) };
  const cases: { name: string; run: (p?: SampleWorkerPool) => ArrayLike<number> }[] = [
    ...([
      ['SmoothGrad 32 samples', { method: 'smoothgrad', samples: 32 }],
      ['IG 64 steps', { method: 'integrated-gradients', steps: 64 }],
    ] as [string, ExplainOptions][]).map(([name, opts]) => ({ name, run: (p?: SampleWorkerPool) => e.explain(input, opts, { pool: p }).relevance.data })),
    {
      name: 'evaluate gradient, 3 random',
      run: (p?: SampleWorkerPool) => {
        const ev = evaluateMethods(e, input, [{ name: 'gradient', opts: { method: 'gradient' } }], { pool: p });
        return [...ev.random!.curve, ...ev.methods[0].curve];
      },
    },
  ];
  // this thread's own peak first (wasm memory only grows), so the RSS difference below is the worker's
  for (const c of cases) c.run();
  const rss0 = process.memoryUsage().rss;
  const pool = new SampleWorkerPool(2);
  const t0 = performance.now();
  await pool.warm(graph);
  const warmMs = performance.now() - t0;
  console.log(`${label}: sample worker ready in ${warmMs.toFixed(0)} ms; this machine now runs two independent threads at `
    + `${capacity.toFixed(2)}× the throughput of one (the ceiling for the speed-ups below)`);
  for (const c of cases) {
    const times: Record<'one' | 'two', number[]> = { one: [], two: [] };
    let a: ArrayLike<number> = [];
    let b: ArrayLike<number> = [];
    for (let i = 0; i <= runs; i++) {
      let t = performance.now();
      a = c.run();
      if (i > 0) times.one.push(performance.now() - t);
      t = performance.now();
      b = c.run(pool);
      if (i > 0) times.two.push(performance.now() - t);
    }
    const one = median(times.one);
    const two = median(times.two);
    const spread = (xs: number[]): string => (xs.length > 1 ? ` (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})` : '');
    const job = pool.lastJob!;
    console.log(`  ${c.name.padEnd(28)} 1 thread ${one.toFixed(1).padStart(8)} ms${spread(times.one)}   2 threads ${two.toFixed(1).padStart(8)} ms${spread(times.two)}   `
      + `speed-up ${(one / two).toFixed(2)}   rel. error ${relErr(b, a).toExponential(2)}   `
      + `(last job: ${job.local} batches here, ${job.remote} in the worker)   [median of ${runs}]`);
  }
  console.log(`  memory: process RSS ${((process.memoryUsage().rss - rss0) / 2 ** 20).toFixed(0)} MB more with the worker (its copy of the model, its TensorFlow.js and its batch's activations)`);
  pool.dispose();
  e.dispose();
}

const SECTIONS = ['lenet', 'vgg16', 'mobilenetv2', 'patterns', 'parallel', 'zoo'];

async function main(): Promise<void> {
  const only = process.argv[2];
  if (only !== undefined && !SECTIONS.includes(only)) {
    console.error(`unknown bench section '${only}' (sections: ${SECTIONS.join(', ')})`);
    process.exitCode = 2;
    return;
  }
  const backend = await initBackend((process.env.BENCH_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm');
  console.log(`relevance-lens bench — backend ${backend}, node ${process.version}, ${new Date().toISOString()}`);
  const root = path.join(__dirname, '..', '..');
  const lenet = path.join(root, 'demo', 'lenet', 'model.json');
  if ((!only || only === 'lenet') && fs.existsSync(lenet)) {
    const m = await openModel(lenet);
    await benchForwardVsLrp('demo LeNet-5 28×28', m.graph, 30);
  }
  if (!only || only === 'vgg16') {
    const t0 = performance.now();
    const g = vgg16(224);
    console.log(`VGG16 random weights built in ${(performance.now() - t0).toFixed(0)} ms; Zennit epsilon-gamma-box on PyTorch CPU ≈ 1500 ms on this kind of machine`);
    await benchForwardVsLrp('VGG16 224×224 (random)', g, 5);
  }
  if (!only || only === 'mobilenetv2') await benchMobileNetV2(5);
  if (!only || only === 'patterns') await benchPatterns();
  if (!only || only === 'parallel') {
    if (fs.existsSync(lenet)) await benchParallel('parallel, demo LeNet-5 28×28', lenet, 10, 512);
    await benchParallel('parallel, MobileNetV2 224×224 (nsfwjs)', nsfwjsModel('mobilenet_v2'), 3, 8);
  }
  if (!only || only === 'zoo') await benchZoo();
  const mem = tf.memory();
  console.log(`tensors alive at the end: ${mem.numTensors}, bytes ${mem.numBytes}`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
