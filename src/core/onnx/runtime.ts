/**
 * onnxruntime-node, loaded on demand: absent (universal .vsix, unsupported platform) or broken, the
 * engine stays on wasm and says why. Sessions are cached per compiled model key.
 */
import * as os from 'os';
import type * as Ort from 'onnxruntime-node';

export interface OrtStatus {
  available: boolean;
  /** why not, or the version that loaded */
  reason: string;
}

let ort: typeof Ort | undefined;
let status: OrtStatus | undefined;

/** Tries once to load the native binding. */
export function ortStatus(): OrtStatus {
  if (status) return status;
  try {
    // a plain require: bundlers leave it external, and a missing package is an ordinary failure here
    const m = require('onnxruntime-node') as typeof Ort;
    const backends = (m as unknown as { listSupportedBackends?: () => { name: string }[] }).listSupportedBackends?.() ?? [];
    if (backends.length && !backends.some((b) => b.name === 'cpu')) throw new Error('no cpu execution provider');
    ort = m;
    status = { available: true, reason: `onnxruntime-node ${(m.env as { versions?: { common?: string } }).versions?.common ?? ''} loaded (${os.platform()}-${os.arch()})`.replace('  ', ' ') };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    status = { available: false, reason: `onnxruntime-node is not available on ${os.platform()}-${os.arch()}: ${msg}` };
  }
  return status;
}

export function ortModule(): typeof Ort {
  if (!ortStatus().available) throw new Error(status!.reason);
  return ort!;
}

/** Threads for one session: all cores (the compiled path is one explanation at a time). */
export function ortThreads(): number {
  const env = Number(process.env.RELEVANCE_LENS_ORT_THREADS);
  return Number.isInteger(env) && env > 0 ? env : Math.max(1, os.cpus().length);
}

/**
 * A session for a compiled model. No memory arena: with it the backward graph's many intermediate
 * tensors kept ~0.9 GB more resident on ResNet-50 after the first run (measured), for no measurable speed
 * — but for the CLI's one run, where it re-uses freed blocks within the run instead of mapping fresh pages
 * (ResNet-50: user CPU 1.18–1.33 → 1.06–1.25 s, peak RSS 542–549 → 559–560 MB, alternately at load ~3).
 * No memory pattern: it plans one block for all of a run's intermediates from the second run on (ResNet-50:
 * peak RSS of a second run 1.53 GB with it, 1.27 GB without; run time the same, measured).
 * No spinning of the intra-op threads: on a shared machine (VS Code, other jobs) a spinning pool
 * waits on descheduled threads (ResNet-50 under load 16 on 2 cores: 6.4 s spinning, 4.1 s not).
 * No prepacking: it keeps a second, GEMM-packed copy of each weight (VGG16 at load 1.2: session creation
 * 4.0 → 2.0 s, peak RSS 3.98 → 2.79 GB, warm run 729 → 713 ms; ResNet-50: RSS 1.41 → 1.37 GB, warm the same).
 * Every mode but `full`: no NCHWc layout transform, which stores a blocked copy of every convolution
 * kernel next to the original that the transposed convolutions of the backward pass still read (ResNet-50,
 * CLI graph: RSS after session creation 818 → 631 MB, peak 1.14 → 0.96 GB) but makes the convolutions
 * faster (the same run 18–25 % slower without it, measured interleaved in one process).
 * `basic` (the backward-only graph fed with the forward values, the products' model, the extension's own
 * graph over the rule changes' kernel arrays): onnxruntime's basic optimisations only; its extended and layout
 * ones (levels 2–4) change nothing on the first two (its verbose log, ResNet-50) and took ~0.1–0.2 s of
 * the backward-only session's ~0.7–0.85 s (measured); on an own graph, see OnnxExplainer.cached.
 * `oneRun` (the CLI): no graph optimisation at all. Constant folding (the relaid and derived kernels),
 * common subexpressions and the transpose optimiser cost more at session creation than they save in one
 * run, and the folded kernels are held beside the originals while they are made (ResNet-50, CPU time:
 * session 0.79 → 0.32 s, run 0.82 → 1.0 s; peak RSS 882 → 826 MB; measured alternately, 3× each).
 * `unfolded` (the extension's own graphs of nets without layer norms, compiled `unfolded`): no graph
 * optimisation either, and no arena: the session lives on, and holds no folded kernel (ResNet-50,
 * in-process: RSS after the first explanation 612–614 → 397–398 MB, that explanation 536–586 → 397–405 ms;
 * see OnnxExplainer.cached).
 * `oneRunBasic` (the CLI on nets with layer norms, which unoptimised take seconds to plan: oneRun.ts):
 * the basic optimisations and the arena. Against all optimisations without the arena, as before (two
 * runs each): Swin-T session 822–833 → 708–711 ms, peak RSS 617 → 597–604 MB; ViT-B/16 session 778–831 →
 * 746–791 ms, peak 783–801 → 831 MB (its bound is 1291 MB, Swin-T's 631 MB); ConvNeXt-T the same.
 * `external` (the weights as in-memory files): onnxruntime reads them where they are instead of copying
 * them (`use_external_initializer_file_buffers_directly`), so every session of a model shares the
 * graph's kernels (VGG16 bench child: its two sessions added 1.02 / 0.63 GB of RSS, now 0.41 / 0.16 GB;
 * peak 2.45–2.57 → 1.69 GB; session creation 1.0–1.1 → 0.44–0.46 s). onnxruntime then holds raw
 * pointers into those arrays: they must stay unchanged (the graph's parameters are never written after
 * loading; a lazily relaid kernel gets a new array) and alive while the session is (`borrowed`).
 */
/**
 * A developer's view of where a run's time goes: onnxruntime writes per-node timings (scripts/ortProfile.ts
 * reads them) to files with this prefix, when a session is released.
 */
export function profilePrefix(): string | undefined {
  return process.env.RELEVANCE_LENS_ORT_PROFILE || undefined;
}

export type SessionMode = 'full' | 'basic' | 'oneRun' | 'oneRunBasic' | 'unfolded';

/** The arrays each session reads in place, kept reachable as long as the session object is. */
const borrowed = new WeakMap<Ort.InferenceSession, readonly { data: Uint8Array }[]>();

export async function createSession(
  model: Uint8Array | string, external?: { path: string; data: Uint8Array }[], mode: SessionMode = 'full',
): Promise<Ort.InferenceSession> {
  const m = ortModule();
  const lean = mode !== 'full';
  const opts: Ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: ortThreads(), interOpNumThreads: 1, graphOptimizationLevel: ({ oneRun: 'disabled', unfolded: 'disabled', oneRunBasic: 'basic', basic: 'basic', full: 'all' } as const)[mode],
    executionMode: 'sequential',
    enableCpuMemArena: mode === 'oneRun' || mode === 'oneRunBasic',
    enableMemPattern: false,
    extra: {
      session: { intra_op: { allow_spinning: '0' }, disable_prepacking: '1', use_external_initializer_file_buffers_directly: '1' },
      ...(lean ? { optimization: { disable_specified_optimizers: 'NchwcTransformer' } } : {}),
    },
  };
  if (external?.length) opts.externalData = external;
  const profile = profilePrefix();
  if (profile) Object.assign(opts, { enableProfiling: true, profileFilePrefix: profile });
  const session = await (typeof model === 'string' ? m.InferenceSession.create(model, opts) : m.InferenceSession.create(model, opts));
  if (external?.length) borrowed.set(session, external);
  return session;
}

/** Keeps the last few sessions by key (model + rule assignment); releases evicted ones. */
export class SessionCache<V extends { session: Ort.InferenceSession }> {
  private readonly map = new Map<string, Promise<V>>();
  constructor(private readonly capacity = 4) {}

  has(key: string): boolean {
    return this.map.has(key);
  }

  get(key: string, make: () => Promise<V>): Promise<V> {
    let v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
      return v;
    }
    v = make();
    this.map.set(key, v);
    v.catch(() => this.map.delete(key));
    while (this.map.size > this.capacity) {
      const [oldKey, old] = this.map.entries().next().value as [string, Promise<V>];
      this.map.delete(oldKey);
      void old.then((o) => o.session.release()).catch(() => undefined);
    }
    return v;
  }

  async clear(): Promise<void> {
    const all = [...this.map.values()];
    this.map.clear();
    for (const v of all) await v.then((o) => o.session.release()).catch(() => undefined);
  }
}
