/**
 * The extension host's side of the engine worker. The worker (dist/engineWorker.js, which loads
 * TensorFlow.js) starts on the first request, not at activation. Runs carry a runId: progress events
 * are routed to the run's listener, and cancel() flags the run in shared memory so the engine stops
 * at its next layer; a worker that does not stop within a grace period is terminated and restarted
 * lazily (models reload on demand).
 *
 * The worker runs with a heap limit (resourceLimits) and under a watchdog: while a request is pending,
 * a heartbeat counter in shared memory must move (the worker's timer and the engine's per-layer
 * checkpoints bump it); a worker that dies, runs out of memory or stops beating is replaced, and the
 * pending requests fail with one line saying what happened. The session keeps its last explanation.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import {
  RpcEndpoint, RpcError, type EngineRequests, type Transport, type Wire, type WorkerEvents,
} from '../../shared/protocol';
import type { BackendSetting, RuleChangeMode } from '../../shared/settings';
import type { Log } from '../log';
import { ENGINE_RESTARTED } from '../errors';
import { traceTo } from '../log';

type Req = EngineRequests['requests'];
type ProgressListener = (stage: string, fraction?: number) => void;

const CANCEL_GRACE_MS = 3000;
/** Heap of the engine worker (MobileNet-size models and their activations fit with room to spare). */
export const WORKER_HEAP_MB = 3072;
/** A busy worker whose heartbeat has not moved for this long is considered hung. */
const HANG_MS = 60_000;

export interface EngineSettings {
  backend: BackendSetting;
  maxImageSide: number;
  /** threads for SmoothGrad / Integrated Gradients samples: the engine worker and parallelWorkers − 1 sample workers */
  parallelWorkers: number;
  /** the onnx engine's rule changes: fast (their values kept) or lean (nothing kept) */
  ruleChanges: RuleChangeMode;
}

export class EngineHost {
  private worker?: Worker;
  private rpc?: RpcEndpoint<EngineRequests, WorkerEvents>;
  private ready?: Promise<string>;
  private cancelFlag = new Int32Array(new SharedArrayBuffer(4));
  private heartbeat = new Int32Array(new SharedArrayBuffer(4));
  private watchdog?: NodeJS.Timeout;
  private inFlight = 0;
  /** the worker's engine processes (onnx backend): ended with it, since its end does not close their channel */
  private readonly processes = new Set<number>();
  /** how long a busy worker may go without a heartbeat (tests shorten it) */
  hangMs = HANG_MS;
  /** Fired when a worker was replaced after dying or hanging, with the one line shown to the user. */
  private readonly recoveredListeners = new Set<(message: string) => void>();
  private readonly progress = new Map<number, ProgressListener>();
  private nextRunId = 1;
  /** Time the worker took to start and pick a backend, for the log and the measurements. */
  startupMs?: number;

  constructor(
    private readonly distDir: string,
    private readonly log: Log,
    private readonly settings: () => EngineSettings,
    private readonly workspaceRoots: () => string[] = () => [],
  ) {}

  newRunId(): number {
    return this.nextRunId++;
  }

  get backend(): Promise<string> | undefined {
    return this.ready;
  }

  async request<K extends keyof Req & string>(method: K, params: Req[K]['params'], onProgress?: ProgressListener): Promise<Req[K]['result']> {
    const rpc = await this.start();
    const runId = (params as { runId?: number }).runId;
    if (runId !== undefined && onProgress) this.progress.set(runId, onProgress);
    this.inFlight++;
    try {
      return await rpc.request(method, params);
    } finally {
      this.inFlight--;
      if (runId !== undefined) this.progress.delete(runId);
    }
  }

  onDidRecover(listener: (message: string) => void): { dispose(): void } {
    this.recoveredListeners.add(listener);
    return { dispose: () => this.recoveredListeners.delete(listener) };
  }

  /** Test hooks: end the worker as a crash would, or keep it busy without a heartbeat. */
  readonly testHooks = {
    /** the engine processes the worker has running */
    processes: (): number[] => [...this.processes],
    crash: (): boolean => {
      const w = this.worker;
      void w?.terminate();
      return w !== undefined;
    },
    hang: (ms: number): Promise<void> => this.request('debugHang', { ms }),
  };

  /** Replaces a worker that died or hung: pending requests fail with `message`; the next request starts a new one. */
  private replace(worker: Worker, message: string): void {
    if (this.worker !== worker) return;
    this.log.warn(message);
    this.restart({ code: ENGINE_RESTARTED, message, user: true });
    for (const l of this.recoveredListeners) l(message);
  }

  /**
   * Asks run `runId` to stop; terminates the worker if it is still busy after a grace period.
   * Resolves with how the run ended: 'stopped' (the engine saw the flag and gave up), 'terminated'
   * (it did not within the grace period: the worker was restarted), or 'finished' (its result was
   * already on the way; the caller drops it).
   */
  cancel(runId: number, pending: Promise<unknown>): Promise<'stopped' | 'terminated' | 'finished'> {
    Atomics.store(this.cancelFlag, 0, runId);
    const worker = this.worker;
    let terminated = false;
    const timer = setTimeout(() => {
      if (this.worker === worker) {
        terminated = true;
        this.log.warn(`run ${runId} did not stop within ${CANCEL_GRACE_MS} ms; restarting the engine worker`);
        this.restart({ code: 'cancelled', message: 'cancelled', user: true });
      }
    }, CANCEL_GRACE_MS);
    return pending.then(
      () => 'finished' as const,
      () => (terminated ? 'terminated' as const : 'stopped' as const),
    ).finally(() => clearTimeout(timer));
  }

  /** Stops the worker (settings changed, or a run would not stop); the next request starts a new one. */
  restart(reason = { code: 'cancelled', message: 'engine restarted', user: true }): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    this.rpc?.failPending(reason);
    this.rpc?.dispose();
    void this.worker?.terminate();
    for (const pid of this.processes) {
      try {
        process.kill(pid);
      } catch {
        // ended already
      }
    }
    this.processes.clear();
    this.worker = undefined;
    this.rpc = undefined;
    this.ready = undefined;
  }

  dispose(): void {
    this.restart();
  }

  private async start(): Promise<RpcEndpoint<EngineRequests, WorkerEvents>> {
    if (!this.rpc) {
      const t0 = performance.now();
      this.cancelFlag = new Int32Array(new SharedArrayBuffer(4));
      this.heartbeat = new Int32Array(new SharedArrayBuffer(4));
      const worker = new Worker(path.join(this.distDir, 'engineWorker.js'), {
        // sample workers (dist/sampleWorker.js) are the engine worker's own: they end with it
        workerData: { cancel: this.cancelFlag.buffer, heartbeat: this.heartbeat.buffer, parallelWorkers: this.settings().parallelWorkers },
        // The engine holds a model's weights and activations; a runaway allocation ends the worker, not the editor.
        resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      });
      const transport: Transport = {
        post: (m: Wire, transfer?: ArrayBuffer[]) => worker.postMessage(m, transfer ?? []),
        onMessage: (listener) => {
          worker.on('message', listener);
          return { dispose: () => worker.off('message', listener) };
        },
      };
      const rpc = new RpcEndpoint<EngineRequests, WorkerEvents>(transport, { trace: traceTo(this.log, 'worker') });
      rpc.on('progress', ({ runId, stage, fraction }) => this.progress.get(runId)?.(stage, fraction));
      rpc.on('log', ({ level, message }) => this.log[level](`[worker] ${message}`));
      rpc.on('engineProcess', ({ pid, running }) => {
        if (running) this.processes.add(pid);
        else this.processes.delete(pid);
      });
      worker.on('error', (e) => {
        this.log.error(`engine worker crashed: ${e.stack ?? e.message}`);
        const oom = (e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY';
        this.replace(worker, oom
          ? `The engine ran out of memory (limit ${WORKER_HEAP_MB} MB) and was restarted; the last explanation is kept.`
          : `The engine stopped unexpectedly (${e.message.split('\n')[0]}) and was restarted; the last explanation is kept.`);
      });
      worker.on('exit', (code) => {
        this.replace(worker, `The engine stopped unexpectedly (exit code ${code}) and was restarted; the last explanation is kept.`);
      });
      // watchdog: while a request is pending the heartbeat must move
      let last = Atomics.load(this.heartbeat, 0);
      let still = 0;
      const tick = 1000;
      const beat = this.heartbeat;
      this.watchdog = setInterval(() => {
        const now = Atomics.load(beat, 0);
        still = now !== last || this.inFlight === 0 ? 0 : still + tick;
        last = now;
        if (still >= this.hangMs) {
          void worker.terminate();
          this.replace(worker, `The engine did not respond for ${Math.round(this.hangMs / 1000)} s and was restarted; the last explanation is kept.`);
        }
      }, tick);
      this.watchdog.unref?.();
      this.worker = worker;
      this.rpc = rpc;
      const s = this.settings();
      const roots = this.workspaceRoots();
      this.ready = rpc.request('init', { backend: s.backend, maxImageSide: s.maxImageSide, ruleChanges: s.ruleChanges, workspaceRoots: roots }).then((r) => {
        this.startupMs = performance.now() - t0;
        this.log.info(`engine worker ready in ${this.startupMs.toFixed(0)} ms, backend ${r.backend}`);
        return r.backend;
      });
      this.ready.catch(() => undefined);
    }
    const rpc = this.rpc;
    try {
      await this.ready;
    } catch (e) {
      // A failed init (e.g. backend 'tensorflow' not installed) leaves no half-started worker behind.
      this.restart();
      throw e instanceof RpcError ? e : new RpcError({ code: 'bug', message: String(e), user: false });
    }
    return rpc;
  }
}
