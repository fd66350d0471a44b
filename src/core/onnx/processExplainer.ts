/**
 * The onnx backend's explanations in an engine process of its own (onnxProcess.ts), behind the two calls
 * the extension's worker makes of an OnnxExplainer: `explain` and `dispose`.
 *
 * Why: in VS Code's extension host onnxruntime's session.run took 2× as long as in a plain node process
 * (ResNet-50 rule change 250–550 vs 150–230 ms, with tens of thousands of page faults per run against
 * none), while a plain node child of the extension host ran at the bare speed (README).
 *
 * The process loads the model from its file while the caller loads the copy that describes the model;
 * the two graphs are checked to be the same before the first explanation, then the caller's kernels go
 * (callerKernels.ts: read back for a pattern fit or the wasm fallback). Cancellation: the caller's checkpoint is polled while a
 * request is out; when it throws, the request is answered with its error at once and the process is
 * told, so its explanation stops at its next checkpoint. A process that dies fails the requests it had
 * and is started again by the next one. It exits when its parent does (onnxProcess.ts).
 */
import { fork, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { LensError } from '../errors';
import type { Graph } from '../graph/ir';
import { Explainer, type ExplainExtras, type ExplainOutput, type InputArray } from '../methods/explain';
import type { ExplainOptions } from '../methods/types';
import { OnnxExplainer, ruleChangeOptions, type BackendNote } from './onnxExplainer';
import { fromProcessError, graphIdentity, type GraphIdentity, type ProcessReply, type ProcessRequest } from './processProtocol';
import { CallerKernels } from './callerKernels';

/** The process's entry: next to this module in out/ and in dist/ (the bundles' __dirname). */
export const ONNX_PROCESS_SCRIPT = path.join(__dirname, 'onnxProcess.js');

/** How often the caller's checkpoint is polled while a request is out. */
const POLL_MS = 20;

/** Whether explanations on onnxruntime go to a process of their own (RELEVANCE_LENS_ENGINE_PROCESS=0: in the caller's thread). */
export function engineProcessWanted(): boolean {
  return process.env.RELEVANCE_LENS_ENGINE_PROCESS !== '0' && fs.existsSync(ONNX_PROCESS_SCRIPT);
}

export interface ProcessExplainerOptions {
  /**
   * Hears of each process started and ended: a worker thread that is terminated does not close its
   * child's IPC channel (measured: the child lives on until the whole process exits), so the thread's
   * owner ends them (EngineHost).
   */
  onProcess?: (pid: number, running: boolean) => void;
  /** the process's entry (tests); default ONNX_PROCESS_SCRIPT */
  script?: string;
  /** relevanceLens.ruleChanges 'lean': the explainers keep nothing for rule changes (OnnxExplainer `lean`) */
  lean?: boolean;
}

interface Pending {
  resolve: (r: ProcessReply) => void;
  reject: (e: Error) => void;
}

export class ProcessExplainer {
  private child?: ChildProcess;
  private opened?: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private graph?: Graph;
  private wasm?: Explainer;
  /** the pattern set the process holds (sent once, then named by id) */
  private patternsSent?: string;
  /** where no process can start (its first load died): the explanations in the caller's thread, and why */
  private inThread?: { explainer: OnnxExplainer; why: string };
  /** the two graphs' identities (the caller's taken before its kernels go; the process's once it has loaded the model) */
  private identity?: GraphIdentity;
  private processIdentity?: GraphIdentity;
  /** the caller's graph's kernels: let go once the process holds the model (callerKernels.ts) */
  private kernels?: CallerKernels;

  /** Starts the process and its load of `file` at once (the caller loads its own copy meanwhile). */
  constructor(readonly file: string, private readonly options: ProcessExplainerOptions = {}) {
    void this.open().catch(() => undefined);
  }

  /** The caller's graph of the same file: the wasm fallback's, and checked against the process's. */
  useGraph(graph: Graph): this {
    this.graph = graph;
    this.identity = graphIdentity(graph);
    this.kernels = new CallerKernels(this.file, graph);
    this.kernels.releaseIfUnused(this.sameModel());
    return this;
  }

  /**
   * Runs `use` with the caller's graph's kernels in place (read back from the file if they were let go),
   * then lets them go again: what the caller computes itself on them (pattern statistics).
   */
  async withKernels<T>(use: () => T | Promise<T>): Promise<T> {
    if (!this.kernels) throw new Error('ProcessExplainer.withKernels before useGraph');
    return this.kernels.use(use, () => this.sameModel());
  }

  /** Whether the caller's graph has let its kernels go (tests). */
  get kernelsReleased(): boolean {
    return !!this.kernels?.released;
  }

  private sameModel(): boolean {
    const a = this.identity;
    const b = this.processIdentity;
    return !!a && !!b && a.nodes === b.nodes && a.params === b.params;
  }

  /** The process's id while it runs (tests). */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  async explain(input: InputArray, opts: ExplainOptions, extras: ExplainExtras = {}): Promise<ExplainOutput & BackendNote> {
    const g = this.graph;
    if (!g) throw new Error('ProcessExplainer.explain before useGraph');
    if (!this.inThread) {
      try {
        await this.open();
        if (!this.sameModel()) throw new LensError('bad-model', 'the file changed while it was being loaded; explain again', this.file);
      } catch (e) {
        // a process that never loaded the model cannot start here (no node to run it with, a broken
        // bundle): the caller's thread runs the explanations, as before there was a process
        if (this.processIdentity || e instanceof LensError) throw e;
        this.inThread = { explainer: new OnnxExplainer(g, ruleChangeOptions(!!this.options.lean)), why: (e as Error).message };
      }
    }
    if (this.inThread) {
      const r = await this.inThread.explainer.explain(input, opts, extras);
      return r.backend === 'onnx' ? { ...r, backendReason: `${r.backendReason}, in the worker: no engine process (${this.inThread.why})` } : r;
    }
    const { patterns, ...rest } = opts;
    const id = this.nextId++;
    const fresh = patterns && patterns.id !== this.patternsSent ? patterns : undefined;
    const reply = await this.request({
      type: 'explain', id, input, opts: rest, sentAt: Date.now(),
      ...(patterns ? { patternsId: patterns.id } : {}), ...(fresh ? { patterns: fresh } : {}),
      ...(extras.keepLayers ? { keepLayers: extras.keepLayers } : {}),
    }, extras.checkpoint);
    if (fresh) this.patternsSent = fresh.id;
    if (reply.type === 'fallback') {
      // the wasm Explainer makes tensors of the kernels and derives more from them later: they stay
      await this.kernels!.keepForGood();
      this.wasm ??= new Explainer(g);
      return { ...this.wasm.explain(input, opts, extras), backend: 'wasm', backendReason: reply.reason };
    }
    if (reply.type !== 'result') throw new Error(`engine process: unexpected reply ${reply.type}`);
    return reply.result;
  }

  /** The process's resident memory and its peak so far, in bytes; 0 when none runs. */
  async memory(): Promise<{ rss: number; peak: number }> {
    if (!this.child) return { rss: 0, peak: 0 };
    const r = await this.request({ type: 'stats', id: this.nextId++ });
    return r.type === 'stats' ? { rss: r.rss, peak: r.peak } : { rss: 0, peak: 0 };
  }

  async dispose(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    this.opened = undefined;
    this.failAll(new LensError('cancelled', 'cancelled'));
    child?.kill();
    this.wasm?.dispose();
    this.wasm = undefined;
    await this.inThread?.explainer.dispose();
    this.inThread = undefined;
  }

  /** The process, started when there is none; the model loaded in it and checked against the caller's. */
  private open(): Promise<void> {
    this.opened ??= (async () => {
      const reply = await this.request({ type: 'open', id: this.nextId++, file: this.file, lean: !!this.options.lean });
      if (reply.type !== 'opened') throw new Error(`engine process: unexpected reply ${reply.type}`);
      this.processIdentity = reply.identity;
      this.kernels?.releaseIfUnused(this.sameModel());
    })();
    // a failed load is tried again by the next request
    this.opened.catch(() => { this.opened = undefined; });
    return this.opened;
  }

  private spawn(): ChildProcess {
    const child = fork(this.options.script ?? ONNX_PROCESS_SCRIPT, [], {
      serialization: 'advanced',
      // none of the host's flags (an inspector port, heap limits); inside Electron, plain node
      execArgv: [],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const pid = child.pid;
    if (pid !== undefined) this.options.onProcess?.(pid, true);
    child.on('message', (r: ProcessReply) => {
      const p = this.pending.get(r.id);
      if (!p) return; // answered already (cancelled)
      if (r.type === 'error') p.reject(fromProcessError(r.error));
      else p.resolve(r);
    });
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.opened = undefined;
      this.patternsSent = undefined;
      this.failAll(new Error(`${this.file}: the onnxruntime engine process ${why}; the next explanation starts a new one`));
    };
    child.on('exit', (code, signal) => {
      if (pid !== undefined) this.options.onProcess?.(pid, false);
      gone(`exited (${signal ?? `code ${code}`})`);
    });
    // after a start, 'error' is a failed send or kill: the request's own callback has it
    child.on('error', (e) => { if (pid === undefined) gone(`could not start (${e.message})`); });
    return child;
  }

  private request(m: ProcessRequest, checkpoint?: () => void): Promise<ProcessReply> {
    return new Promise<ProcessReply>((resolve, reject) => {
      const child = (this.child ??= this.spawn());
      let timer: NodeJS.Timeout | undefined;
      const settle = () => {
        if (timer) clearInterval(timer);
        this.pending.delete(m.id);
        // an idle process does not keep the caller's event loop alive
        if (this.pending.size === 0) this.hold(false);
      };
      this.pending.set(m.id, {
        resolve: (r) => { settle(); resolve(r); },
        reject: (e) => { settle(); reject(e); },
      });
      this.hold(true);
      if (checkpoint) {
        timer = setInterval(() => {
          try {
            checkpoint();
          } catch (e) {
            if (this.child === child) child.send({ type: 'cancel', id: m.id } satisfies ProcessRequest, () => undefined);
            this.pending.get(m.id)?.reject(e as Error);
          }
        }, POLL_MS);
      }
      child.send(m, (e) => { if (e) this.pending.get(m.id)?.reject(e); });
    });
  }

  private hold(on: boolean): void {
    const c = this.child;
    if (!c) return;
    const channel = c.channel as { ref?: () => void; unref?: () => void } | undefined;
    if (on) { c.ref(); channel?.ref?.(); } else { c.unref(); channel?.unref?.(); }
  }

  private failAll(e: Error): void {
    for (const p of [...this.pending.values()]) p.reject(e);
  }
}
