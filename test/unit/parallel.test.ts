/**
 * The sample worker pool: SmoothGrad, Integrated Gradients and pixel-flipping curves give the same
 * numbers on 1 and 2 threads (and SmoothGrad for any batch size: its noise is seeded per sample);
 * cancellation reaches the workers; a worker that dies leaves its batches to the caller; no worker
 * outlives dispose, and an idle pool does not keep a process alive. No timing is asserted: where a test
 * needs a worker to take part, the caller's first checkpoint waits until a worker has claimed a batch.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend, tf } from '../../src/core/engine/backend';
import { openModel, readInput, type OpenedModel } from '../../src/core/pipeline';
import { Explainer, type ExplainOutput, type InputArray } from '../../src/core/methods/explain';
import type { ExplainOptions } from '../../src/core/methods/types';
import { evaluateMethods } from '../../src/core/metrics/evaluate';
import { SampleWorkerPool, SPAWN_AFTER_MS } from '../../src/core/parallel/pool';
import { CTRL } from '../../src/core/parallel/jobs';
import { sampleSeed } from '../../src/core/parallel/gradientJob';
import { LensError } from '../../src/core/errors';
import { relErr } from './helpers/methodNets';
import { CLI, DEMO_DIGIT, DEMO_MODEL, ROOT, runCli } from './helpers/cli';

/** float32 summation order is the only difference allowed between thread counts and batch sizes */
const BOUND = 1e-6;
/**
 * A layer's sum over a batch is one float32 reduction over batch × layer-size signed values, whose
 * rounding is relative to Σ|values|, not to the (smaller) net sum: across batch sizes the table's
 * sums move by a few 1e-6 (1.8e-6 measured on LeNet, batch 1 vs 20). Thread counts do not move them.
 */
const BOUND_BATCH_SUMS = 1e-5;

let lenet: { model: OpenedModel; input: InputArray } | undefined;
async function demo(): Promise<{ model: OpenedModel; input: InputArray }> {
  await initBackend('wasm');
  if (!lenet) {
    const model = await openModel(DEMO_MODEL);
    lenet = { model, input: readInput(DEMO_DIGIT(3), model).input };
  }
  return lenet;
}

/** A checkpoint whose first call (inside the next pool job) waits until a worker has claimed a batch of it. */
function untilWorkerClaims(pool: SampleWorkerPool, inner: () => void = () => undefined): () => void {
  const before = pool.lastJob;
  let done = false;
  return () => {
    inner();
    const job = pool.lastJob;
    if (done || !job || job === before) return;
    done = true;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      for (let b = 0; b < job.count; b++) if (Atomics.load(job.ctrl, CTRL.OWNER + b) > 0) return;
      Atomics.wait(job.ctrl, CTRL.POSTED, Atomics.load(job.ctrl, CTRL.POSTED), 5);
    }
    throw new Error('no worker claimed a batch within 30 s');
  };
}

function layerSums(r: ExplainOutput): number[] {
  return r.layers.flatMap((l) => [l.outputRelevanceSum, l.inputRelevanceSum]);
}

test('sampleSeed: per (seed, sample) streams, never 0, distinct', () => {
  const seen = new Set<number>();
  for (const seed of [0, 1, 2, 7919, 2 ** 31 - 1]) {
    for (let i = 0; i < 1000; i++) {
      const s = sampleSeed(seed, i);
      assert.ok(Number.isInteger(s) && s > 0 && s < 2 ** 32, `${seed}/${i}: ${s}`);
      assert.equal(s, sampleSeed(seed, i));
      seen.add(s);
    }
  }
  assert.equal(seen.size, 5000, 'no two (seed, sample) pairs share a noise stream');
});

test('SmoothGrad: a seed gives the same result for any batch size (noise per sample)', async () => {
  const { model, input } = await demo();
  const e = new Explainer(model.graph);
  try {
    const base: ExplainOptions = { method: 'smoothgrad', samples: 20, sigma: 0.2, seed: 4 };
    const ref = e.explain(input, { ...base, sampleBatch: 20 });
    for (const sampleBatch of [1, 3, 7, 16]) {
      const r = e.explain(input, { ...base, sampleBatch });
      const err = relErr(r.relevance.data, ref.relevance.data);
      const errSums = relErr(layerSums(r), layerSums(ref));
      console.log(`SmoothGrad batch ${sampleBatch} vs 20: relevance ${err.toExponential(2)}, layer sums ${errSums.toExponential(2)}`);
      assert.ok(err <= BOUND && errSums <= BOUND_BATCH_SUMS, `batch ${sampleBatch}: ${err}, ${errSums}`);
    }
    // σ = 0 is the gradient, whatever the batches
    const grad = e.explain(input, { method: 'gradient' });
    const sg0 = e.explain(input, { ...base, sigma: 0, samples: 5, sampleBatch: 2 });
    assert.ok(relErr(sg0.relevance.data, grad.relevance.data) <= BOUND);
  } finally {
    e.dispose();
  }
});

test('1 and 2 threads agree: SmoothGrad, VarGrad, Integrated Gradients (wasm, demo LeNet)', async () => {
  const { model, input } = await demo();
  const e = new Explainer(model.graph);
  const pool = new SampleWorkerPool(2, { eager: true });
  try {
    assert.equal(await pool.warm(model.graph), 1);
    const cases: ExplainOptions[] = [
      { method: 'smoothgrad', samples: 32, sampleBatch: 2 },
      { method: 'smoothgrad', samples: 13, sigma: 0.3, seed: 9, sampleBatch: 3 },
      // the squared gradients travel back from the worker too
      { method: 'vargrad', samples: 13, sigma: 0.3, seed: 9, sampleBatch: 3 },
      { method: 'integrated-gradients', steps: 64, sampleBatch: 4 },
      { method: 'integrated-gradients', steps: 30, baseline: { kind: 'blur' }, sampleBatch: 4 },
    ];
    for (const opts of cases) {
      const one = e.explain(input, opts);
      const tensors = tf.memory().numTensors;
      const two = e.explain(input, opts, { pool, checkpoint: untilWorkerClaims(pool) });
      const job = pool.lastJob!;
      assert.ok(job.remote > 0 && job.local + job.remote === job.count, `a worker took part: ${job.local} + ${job.remote} of ${job.count}`);
      const err = relErr(two.relevance.data, one.relevance.data);
      const errSums = relErr(layerSums(two), layerSums(one));
      let same = 0;
      for (let i = 0; i < one.relevance.data.length; i++) if (one.relevance.data[i] === two.relevance.data[i]) same++;
      console.log(`${opts.method} ${JSON.stringify(opts)}: batches ${job.local} here + ${job.remote} in the worker; `
        + `relevance rel. error ${err.toExponential(2)} (${same}/${one.relevance.data.length} bit-identical), layer sums ${errSums.toExponential(2)}`);
      assert.ok(err <= BOUND && errSums <= BOUND, `${opts.method}: ${err}, ${errSums}`);
      assert.deepEqual(two.extra, one.extra);
      assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind on this thread');
    }
  } finally {
    pool.dispose();
    e.dispose();
  }
  assert.equal(pool.workerCount, 0, 'no worker after dispose');
});

test('without eager: a job still running after SPAWN_AFTER_MS starts a worker, which joins it', async () => {
  const { model, input } = await demo();
  const e = new Explainer(model.graph);
  const pool = new SampleWorkerPool(2);
  try {
    const opts: ExplainOptions = { method: 'integrated-gradients', steps: 48, sampleBatch: 1 };
    const ref = e.explain(input, opts);
    // a slow caller: its first checkpoints sleep past SPAWN_AFTER_MS, then it waits for the worker's first claim
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    const waitForClaim = untilWorkerClaims(pool);
    let calls = 0;
    const slow = (): void => {
      if (calls++ < 6) Atomics.wait(sleeper, 0, 0, SPAWN_AFTER_MS / 4);
      else waitForClaim();
    };
    const two = e.explain(input, opts, { pool, checkpoint: slow });
    assert.equal(pool.workerCount, 1);
    assert.ok(pool.lastJob!.remote > 0, 'the started worker took part');
    assert.deepEqual(two.relevance.data, ref.relevance.data);
  } finally {
    pool.dispose();
    e.dispose();
  }
});

test('1 and 2 threads agree: evaluate (perturbation curves, random baseline, SmoothGrad inside)', async () => {
  const { model, input } = await demo();
  const e = new Explainer(model.graph);
  const pool = new SampleWorkerPool(2, { eager: true });
  try {
    await pool.warm(model.graph);
    const specs = [
      { name: 'lrp', opts: { method: 'lrp' as const, composite: 'epsilon-plus' } },
      { name: 'smoothgrad', opts: { method: 'smoothgrad' as const, samples: 8 } },
    ];
    for (const perturbation of ['mean', 'uniform', 'blur'] as const) {
      const opts = { perturbation, steps: 100, randomOrders: 4, batch: 16 };
      const one = evaluateMethods(e, input, specs, opts);
      const two = evaluateMethods(e, input, specs, { ...opts, pool, checkpoint: untilWorkerClaims(pool) });
      const curves = (ev: typeof one): number[] => [...ev.random!.curve, ...ev.methods.flatMap((m) => [...m.curve, m.aopc, m.gini])];
      const err = relErr(curves(two), curves(one));
      console.log(`evaluate ${perturbation}: curves rel. error ${err.toExponential(2)}; last job ${pool.lastJob!.local} + ${pool.lastJob!.remote} batches`);
      assert.ok(err <= BOUND, `${perturbation}: ${err}`);
      assert.deepEqual(two.random!.aopcs, one.random!.aopcs);
    }
  } finally {
    pool.dispose();
    e.dispose();
  }
  assert.equal(pool.workerCount, 0);
});

test('cancellation stops the workers\' share of the job too; the pool then runs the next job', async () => {
  const { model, input } = await demo();
  const e = new Explainer(model.graph);
  const pool = new SampleWorkerPool(2, { eager: true });
  try {
    await pool.warm(model.graph);
    const opts: ExplainOptions = { method: 'smoothgrad', samples: 4000, sampleBatch: 1 };
    let calls = 0;
    const cancelling = untilWorkerClaims(pool, () => {
      if (++calls > 40) throw new LensError('cancelled', 'cancelled');
    });
    e.explain(input, { method: 'gradient' });
    const tensors = tf.memory().numTensors;
    assert.throws(() => e.explain(input, opts, { pool, checkpoint: cancelling }), (err: unknown) => err instanceof LensError && err.code === 'cancelled');
    assert.equal(tf.memory().numTensors, tensors, 'a cancelled job frees its tensors');
    const cancelled = pool.lastJob!;
    assert.equal(Atomics.load(cancelled.ctrl, CTRL.CLOSED), 1);
    // The worker handles jobs in order: once it claims a batch of the next job, it has left the cancelled one.
    const small: ExplainOptions = { method: 'smoothgrad', samples: 8, sampleBatch: 1 };
    const two = e.explain(input, small, { pool, checkpoint: untilWorkerClaims(pool) });
    const claimed = Math.min(Atomics.load(cancelled.ctrl, CTRL.NEXT), cancelled.count);
    console.log(`cancelled job: ${claimed} of ${cancelled.count} batches claimed in all`);
    assert.ok(claimed < cancelled.count, 'the worker stopped claiming batches of the cancelled job');
    assert.ok(relErr(two.relevance.data, e.explain(input, small).relevance.data) <= BOUND);
    assert.equal(pool.workerCount, 1);
  } finally {
    pool.dispose();
    e.dispose();
  }
  assert.equal(pool.workerCount, 0);
});

test('a worker that dies with a claimed batch, or a missing worker script: the caller computes the rest', async () => {
  const { model, input } = await demo();
  const e = new Explainer(model.graph);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-pool-'));
  // claims one batch of each job, then exits without a result
  const dying = path.join(dir, 'dying.js');
  fs.writeFileSync(dying, `const { parentPort, workerData } = require('worker_threads');
parentPort.on('message', (m) => {
  if (m.type !== 'job') return;
  const ctrl = new Int32Array(m.ctrl);
  const b = Atomics.add(ctrl, ${CTRL.NEXT}, 1);
  Atomics.store(ctrl, ${CTRL.OWNER} + b, workerData.slot);
  process.exit(3);
});
`);
  // answers every job with an error
  const failing = path.join(dir, 'failing.js');
  fs.writeFileSync(failing, `const { parentPort, workerData } = require('worker_threads');
parentPort.on('message', (m) => {
  if (m.type !== 'job') return;
  const ctrl = new Int32Array(m.ctrl);
  const b = Atomics.add(ctrl, ${CTRL.NEXT}, 1);
  Atomics.store(ctrl, ${CTRL.OWNER} + b, workerData.slot);
  workerData.port.postMessage({ type: 'error', job: m.job, message: 'out of memory (simulated)' });
  Atomics.add(ctrl, ${CTRL.POSTED}, 1);
  Atomics.notify(ctrl, ${CTRL.POSTED});
});
`);
  const opts: ExplainOptions = { method: 'integrated-gradients', steps: 24, sampleBatch: 2 };
  const ref = e.explain(input, opts);
  try {
    for (const script of [dying, failing]) {
      const pool = new SampleWorkerPool(2, { eager: true, script });
      try {
        const r = e.explain(input, opts, { pool, checkpoint: untilWorkerClaims(pool) });
        assert.equal(pool.lastJob!.local, pool.lastJob!.count, `${path.basename(script)}: every batch computed here`);
        assert.deepEqual(r.relevance.data, ref.relevance.data);
        assert.equal(pool.workerCount, 0, 'the broken worker is retired');
      } finally {
        pool.dispose();
      }
    }
    const missing = new SampleWorkerPool(2, { eager: true, script: path.join(dir, 'nope.js') });
    const r = e.explain(input, opts, { pool: missing });
    assert.deepEqual(r.relevance.data, ref.relevance.data);
    assert.equal(missing.workerCount, 0);
    missing.dispose();
  } finally {
    e.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundled worker (dist/sampleWorker.js) gives the same numbers', async () => {
  const { model, input } = await demo();
  const script = path.join(ROOT, 'dist', 'sampleWorker.js');
  assert.ok(fs.existsSync(script), 'node esbuild.mjs builds dist/sampleWorker.js');
  const e = new Explainer(model.graph);
  const pool = new SampleWorkerPool(2, { eager: true, script });
  try {
    assert.equal(await pool.warm(model.graph), 1);
    const opts: ExplainOptions = { method: 'smoothgrad', samples: 12, sampleBatch: 2 };
    const two = e.explain(input, opts, { pool, checkpoint: untilWorkerClaims(pool) });
    assert.ok(pool.lastJob!.remote > 0);
    assert.ok(relErr(two.relevance.data, e.explain(input, opts).relevance.data) <= BOUND);
  } finally {
    pool.dispose();
    e.dispose();
  }
});

test('no orphan workers: a process with a used pool exits by itself, disposed or not', () => {
  const out = path.join(ROOT, 'out', 'src', 'core');
  for (const dispose of [true, false]) {
    const script = `
      const { initBackend } = require(${JSON.stringify(path.join(out, 'engine', 'backend'))});
      const { openModel, readInput } = require(${JSON.stringify(path.join(out, 'pipeline'))});
      const { Explainer } = require(${JSON.stringify(path.join(out, 'methods', 'explain'))});
      const { SampleWorkerPool } = require(${JSON.stringify(path.join(out, 'parallel', 'pool'))});
      (async () => {
        await initBackend('wasm');
        const m = await openModel(${JSON.stringify(DEMO_MODEL)});
        const e = new Explainer(m.graph);
        const pool = new SampleWorkerPool(2, { eager: true });
        await pool.warm(m.graph);
        e.explain(readInput(${JSON.stringify(DEMO_DIGIT(1))}, m).input, { method: 'smoothgrad', samples: 16, sampleBatch: 2 }, { pool });
        console.log('workers', pool.workerCount);
        ${dispose ? "pool.dispose(); console.log('after dispose', pool.workerCount);" : ''}
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.signal, null, `dispose ${dispose}: the process did not exit by itself (${r.stderr})`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /workers 1/);
    if (dispose) assert.match(r.stdout, /after dispose 0/);
  }
});

test('CLI --workers: same JSON with 1 and 2, checked like the other flags', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-workers-'));
  try {
    const read = (f: string): { relevance: { data: number[] }; layers: unknown; extra?: unknown } => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    for (const args of [['explain', '--method', 'smoothgrad', '--samples', '6'], ['explain', '--method', 'integrated-gradients', '--steps', '8']]) {
      for (const w of ['1', '2']) {
        const r = runCli([args[0], DEMO_MODEL, DEMO_DIGIT(5), ...args.slice(1), '--workers', w, '--json', path.join(dir, `w${w}.json`), '-q']);
        assert.equal(r.code, 0, r.stderr);
      }
      const [a, b] = [read('w1.json'), read('w2.json')];
      assert.deepEqual(b.relevance.data, a.relevance.data);
      assert.deepEqual(b.layers, a.layers);
      assert.deepEqual(b.extra, a.extra);
    }
    for (const w of ['1', '2']) {
      const r = runCli(['evaluate', DEMO_MODEL, DEMO_DIGIT(5), '--methods', 'lrp,gradient', '--steps', '40', '--workers', w, '--json', path.join(dir, `e${w}.json`), '-q']);
      assert.equal(r.code, 0, r.stderr);
    }
    const strip = (f: string): unknown => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'), (k, v) => (k === 'timings' || k === 'ms' ? undefined : v));
    assert.deepEqual(strip('e2.json'), strip('e1.json'));
    const bad: [string[], RegExp][] = [
      [['explain', DEMO_MODEL, DEMO_DIGIT(5), '--method', 'smoothgrad', '--workers', '0'], /--workers expects an integer in 1\.\.64, got '0'/],
      [['explain', DEMO_MODEL, DEMO_DIGIT(5), '--method', 'lrp', '--workers', '2'], /--workers applies to --method smoothgrad \/ smoothgrad-squared \/ vargrad \/ integrated-gradients, not lrp/],
      [['evaluate', DEMO_MODEL, DEMO_DIGIT(5), '--methods', 'lrp', '--workers', 'two'], /--workers expects an integer in 1\.\.64, got 'two'/],
    ];
    for (const [args, msg] of bad) {
      const r = runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
    for (const cmd of ['explain', 'evaluate']) assert.match(runCli([cmd, '--help']).stdout, /--workers N/);
    assert.ok(fs.existsSync(CLI));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
