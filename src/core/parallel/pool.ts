/**
 * SampleWorkerPool: the second core for sample-parallel jobs (SmoothGrad samples, Integrated Gradients
 * path points, pixel-flipping perturbation batches). wasm runs one thread inside Node, so a pool of
 * N − 1 worker_threads workers (dist/sampleWorker.js, or ./sampleWorker.js next to this file under
 * out/) each hold a copy of the graph on the same backend, and claim batches of a job alongside the
 * calling thread.
 *
 * Synchronous by design, so the engine's API stays synchronous: the caller posts the job, claims and
 * computes batches itself from a shared counter (Atomics), then blocks (Atomics.wait, with a timeout so
 * its checkpoint still runs) until the workers' results arrive, read with receiveMessageOnPort. A batch
 * is a pure function of its index, so results do not depend on who computed what; they are handed to
 * the caller in batch order, each as soon as all before it are in (memory stays bounded).
 *
 * Workers start lazily, for a job still running after SPAWN_AFTER_MS (a LeNet explanation is over
 * before a worker has loaded TensorFlow.js), and join a job only once it has run OPEN_AFTER_MS (the
 * job waits behind a gate in shared memory: for a few-millisecond job, handing batches over costs more
 * than it saves). They are unref'd: an idle pool never keeps the process alive. Cancellation: when the
 * caller's checkpoint throws, the job is closed in shared memory and the workers abandon it at their
 * next layer. A worker that dies or fails leaves its batches to the calling thread. Memory: each
 * worker holds one copy of the graph's weights (and the activations of one batch) besides the caller's.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { Graph } from '../graph/ir';
import type { PreparedGraph } from '../engine/prepared';
import { CTRL, openJob, type JobSpec, type OpenedJob } from './jobs';

/** The worker entry: next to this module in out/ and in dist/ (the bundles' __dirname). */
export const SAMPLE_WORKER_SCRIPT = path.join(__dirname, 'sampleWorker.js');

/** Backends that compute on one thread (tfjs-node's `tensorflow` is multithreaded itself). */
const POOLED_BACKENDS: readonly string[] = ['wasm', 'cpu'];

/** Ready workers join a job that is still running after this long (shorter jobs cost less alone). */
export const OPEN_AFTER_MS = 10;
/** Workers are started for a job that is still running after this long (they take ~100 ms to be ready). */
export const SPAWN_AFTER_MS = 100;
/** How long the caller sleeps between checks while it waits for workers' results. */
const WAIT_SLICE_MS = 25;
/** Workers that failed to start or died: after this many the pool stops starting new ones. */
const MAX_FAILURES = 3;

/** The default worker count: both cores of a two-core machine, one on a single core. */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(2, os.cpus().length));
}

/** Messages a worker posts on its result port. */
export type WorkerReply =
  | { type: 'result'; job: number; b: number; r: unknown }
  | { type: 'error'; job: number; message: string }
  /** answer to 'ping': the graph `key` is prepared */
  | { type: 'ready'; key: number }
  /** the worker could not start (backend, script) and exits */
  | { type: 'fatal'; message: string };

/** Messages the pool posts to a worker. */
export type WorkerRequest =
  | { type: 'graph'; key: number; graph: Graph }
  /** answered with 'ready' once the graph `key` is prepared (messages are handled in order) */
  | { type: 'ping'; key: number }
  | { type: 'job'; job: number; key: number; spec: JobSpec; ctrl: SharedArrayBuffer };

export interface WorkerInit {
  backend: string;
  slot: number;
  port: MessagePort;
  /** the script the bootstrap loads, and the block its exit hook marks */
  script: string;
  state: SharedArrayBuffer;
}

/**
 * Loads the worker script after hooking the thread's exit: the pool waits synchronously, so it would
 * never see the Worker's 'exit' event (nor worker.threadId turn -1); a flag in shared memory it sees.
 */
const BOOTSTRAP = `const { workerData } = require('worker_threads');
const state = new Int32Array(workerData.state);
process.on('exit', () => { Atomics.store(state, 0, 1); Atomics.notify(state, 0); });
require(workerData.script);`;

interface Slot {
  index: number;
  worker: Worker;
  port: MessagePort;
  /** [0] = 1 once the worker's thread is exiting (set by the bootstrap's exit hook) */
  state: Int32Array;
  backend: string;
  /** key of the graph this worker holds */
  graphKey?: number;
  /** set on a fatal reply, an error reply or a failed start */
  broken: boolean;
}

export interface PoolOptions {
  /** the worker script (tests) */
  script?: string;
  /** workers start with, and join, every job of more than one batch whatever its size (tests) */
  eager?: boolean;
}

export interface JobStats {
  count: number;
  /** batches computed by the calling thread */
  local: number;
  /** batches whose result came from a worker */
  remote: number;
  /** the shared control block, for inspection after the job (claims keep counting while workers run) */
  ctrl: Int32Array;
}

export class SampleWorkerPool {
  private slots: Slot[] = [];
  private readonly keys = new WeakMap<Graph, number>();
  private nextKey = 1;
  private nextJob = 1;
  private failures = 0;
  private disposed = false;
  private readonly script: string;
  private readonly eager: boolean;
  /** figures of the last job run through the pool */
  lastJob?: JobStats;

  /** `size`: threads in all, the caller's included (1 = everything on the calling thread). */
  constructor(readonly size: number, opts: PoolOptions = {}) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`worker count must be an integer ≥ 1, got ${size}`);
    this.script = opts.script ?? SAMPLE_WORKER_SCRIPT;
    this.eager = opts.eager ?? false;
  }

  /** Live extra worker threads. */
  get workerCount(): number {
    return this.slots.filter((s) => !s.broken && !this.exited(s)).length;
  }

  /**
   * Starts the workers and hands them the graph now instead of at the first large job, so the next job
   * finds them ready (the bench, or a caller that knows sample jobs will follow). Resolves with the
   * number of workers that hold the graph.
   */
  async warm(graph: Graph, timeoutMs = 60_000): Promise<number> {
    if (!this.canPool()) return 0;
    this.spawn();
    const key = this.keyOf(graph);
    const pending = new Set(this.live());
    for (const s of pending) {
      this.sendGraph(s, graph, key);
      this.post(s, { type: 'ping', key });
    }
    let ready = 0;
    const deadline = Date.now() + timeoutMs;
    while (pending.size && Date.now() < deadline) {
      for (const s of [...pending]) {
        for (let m = receiveMessageOnPort(s.port); m; m = receiveMessageOnPort(s.port)) {
          const reply = m.message as WorkerReply;
          if (reply.type === 'ready' && reply.key === key) {
            ready++;
            pending.delete(s);
          } else this.onOther(s, reply);
        }
        if (s.broken || this.exited(s)) pending.delete(s);
      }
      if (pending.size) await new Promise((r) => setTimeout(r, 5));
    }
    return ready;
  }

  /**
   * Runs every batch of a job, on the calling thread and the workers, and hands each result to
   * `consume` in batch order. `prep` is the caller's prepared graph (the workers prepare their own copy).
   */
  run<R>(prep: PreparedGraph, spec: JobSpec, checkpoint: () => void, consume: (b: number, r: R) => void): void {
    const local = openJob<R>(prep, spec);
    try {
      this.runOpened(prep.graph, spec, local, checkpoint, consume);
    } finally {
      local.dispose();
    }
  }

  private runOpened<R>(graph: Graph, spec: JobSpec, local: OpenedJob<R>, checkpoint: () => void, consume: (b: number, r: R) => void): void {
    const count = local.count;
    const ctrl = new Int32Array(new SharedArrayBuffer(4 * (CTRL.OWNER + count)));
    const stats: JobStats = { count, local: 0, remote: 0, ctrl };
    this.lastJob = stats;
    // results that came in ahead of an earlier batch, until it arrives
    const done = new Uint8Array(count);
    const early = new Map<number, R>();
    let have = 0;
    let next = 0;
    const accept = (b: number, r: R, remote: boolean): void => {
      if (done[b]) return;
      done[b] = 1;
      have++;
      if (remote) stats.remote++;
      else stats.local++;
      early.set(b, r);
      while (early.has(next)) {
        const first = early.get(next) as R;
        early.delete(next);
        consume(next++, first);
      }
    };
    const pooled = count > 1 && this.canPool();
    const job = this.nextJob++;
    const key = pooled ? this.keyOf(graph) : 0;
    let members: Slot[] = [];
    let enlisted = false;
    let gateOpen = false;
    const enlist = (): void => {
      enlisted = true;
      this.spawn();
      members = this.live();
      for (const s of members) {
        this.sendGraph(s, graph, key);
        this.post(s, { type: 'job', job, key, spec, ctrl: ctrl.buffer as SharedArrayBuffer });
      }
    };
    const openGate = (): void => {
      gateOpen = true;
      Atomics.store(ctrl, CTRL.GATE, 1);
      Atomics.notify(ctrl, CTRL.GATE);
    };
    const drain = (): void => {
      for (const s of members) {
        for (let m = receiveMessageOnPort(s.port); m; m = receiveMessageOnPort(s.port)) {
          const reply = m.message as WorkerReply;
          if (reply.type === 'result' && reply.job === job) accept(reply.b, reply.r as R, true);
          else this.onOther(s, reply);
        }
      }
    };
    // Between the caller's layers: workers take part once the job has run OPEN_AFTER_MS (ready
    // workers) or SPAWN_AFTER_MS (none yet) with batches left to claim; shorter jobs stay on this thread.
    const t0 = performance.now();
    const tick = (): void => {
      checkpoint();
      if (!pooled || gateOpen) return;
      const elapsed = performance.now() - t0;
      if (enlisted ? elapsed < OPEN_AFTER_MS : elapsed < SPAWN_AFTER_MS) return;
      if (Atomics.load(ctrl, CTRL.NEXT) >= count) return;
      if (!enlisted) enlist();
      openGate();
    };
    try {
      if (pooled && (this.eager || this.live().length > 0)) enlist();
      if (pooled && this.eager) openGate();
      for (;;) {
        tick();
        drain();
        const b = Atomics.add(ctrl, CTRL.NEXT, 1);
        if (b >= count) break;
        accept(b, local.run(b, tick), false);
      }
      while (have < count) {
        const seen = Atomics.load(ctrl, CTRL.POSTED);
        drain();
        if (have === count) break;
        checkpoint();
        // batches a failed or dead worker had claimed (or, with no worker left, every missing one)
        const gone = new Set(members.filter((s) => s.broken || this.exited(s)).map((s) => s.index + 1));
        const none = gone.size === members.length;
        const lost: number[] = [];
        for (let b = 0; b < count; b++) {
          if (!done[b] && (none || gone.has(Atomics.load(ctrl, CTRL.OWNER + b)))) lost.push(b);
        }
        for (const b of lost) {
          checkpoint();
          if (!done[b]) accept(b, local.run(b, checkpoint), false);
        }
        if (lost.length === 0) Atomics.wait(ctrl, CTRL.POSTED, seen, WAIT_SLICE_MS);
      }
    } finally {
      // done or cancelled: the workers stop claiming and abandon a batch in progress
      Atomics.store(ctrl, CTRL.CLOSED, 1);
      Atomics.notify(ctrl, CTRL.GATE);
    }
  }

  /** Terminates the workers (the pool can start new ones if used again, unless disposed). */
  close(): void {
    for (const s of this.slots) {
      s.port.close();
      void s.worker.terminate();
    }
    this.slots = [];
  }

  dispose(): void {
    this.disposed = true;
    this.close();
  }

  private canPool(): boolean {
    return this.size > 1 && !this.disposed && POOLED_BACKENDS.includes(tf.getBackend()) && fs.existsSync(this.script);
  }

  private exited(s: Slot): boolean {
    return Atomics.load(s.state, 0) !== 0;
  }

  private live(): Slot[] {
    return this.slots.filter((s) => !s.broken && !this.exited(s));
  }

  private keyOf(graph: Graph): number {
    let k = this.keys.get(graph);
    if (k === undefined) {
      k = this.nextKey++;
      this.keys.set(graph, k);
    }
    return k;
  }

  /** Brings the pool to size − 1 live workers on the current backend. */
  private spawn(): void {
    const backend = tf.getBackend();
    for (const s of this.slots) {
      if (s.backend !== backend || s.broken || this.exited(s)) {
        s.port.close();
        void s.worker.terminate();
      }
    }
    this.slots = this.live().filter((s) => s.backend === backend);
    const used = new Set(this.slots.map((s) => s.index));
    for (let index = 0; this.slots.length < this.size - 1 && this.failures < MAX_FAILURES; index++) {
      if (used.has(index)) continue;
      const { port1, port2 } = new MessageChannel();
      const state = new Int32Array(new SharedArrayBuffer(4));
      const init: WorkerInit = { backend, slot: index + 1, port: port2, script: this.script, state: state.buffer as SharedArrayBuffer };
      let worker: Worker;
      try {
        worker = new Worker(BOOTSTRAP, { eval: true, workerData: init, transferList: [port2] });
      } catch {
        this.failures++;
        port1.close();
        continue;
      }
      const slot: Slot = { index, worker, port: port1, state, backend, broken: false };
      worker.on('error', () => {
        slot.broken = true;
        this.failures++;
      });
      worker.unref();
      port1.unref();
      this.slots.push(slot);
    }
  }

  private sendGraph(s: Slot, graph: Graph, key: number): void {
    if (s.graphKey === key) return;
    this.post(s, { type: 'graph', key, graph });
    s.graphKey = key;
  }

  private post(s: Slot, m: WorkerRequest): void {
    s.worker.postMessage(m);
  }

  /** Replies other than this job's results: a late result of an earlier job is dropped, errors retire the worker. */
  private onOther(s: Slot, reply: WorkerReply): void {
    if (reply.type === 'fatal' || reply.type === 'error') {
      s.broken = true;
      this.failures++;
      s.port.close();
      void s.worker.terminate();
    }
  }
}

/** Runs a job on the pool, or on this thread alone without one; `consume` gets the results in batch order. */
export function runJob<R>(
  prep: PreparedGraph, spec: JobSpec, pool: SampleWorkerPool | undefined, checkpoint: () => void, consume: (b: number, r: R) => void,
): void {
  if (pool) {
    pool.run<R>(prep, spec, checkpoint, consume);
    return;
  }
  const job = openJob<R>(prep, spec);
  try {
    for (let b = 0; b < job.count; b++) {
      checkpoint();
      consume(b, job.run(b, checkpoint));
    }
  } finally {
    job.dispose();
  }
}
