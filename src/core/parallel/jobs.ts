/**
 * Sample-parallel jobs: a job is `count` independent batches, each a pure function of (graph, spec,
 * batch index), so any thread that holds the graph on the same backend computes the same numbers for
 * it. The main thread and the pool's workers open a job from the same plain-data spec (typed arrays and
 * numbers: it crosses postMessage) and compute whichever batches they claim; the caller combines the
 * per-batch results in batch order. Job kinds register here from the module that owns their math
 * (gradient sums in ./gradientJob, perturbation curves in ../metrics/pixelFlipping).
 */
import type { PreparedGraph } from '../engine/prepared';

export interface JobSpec {
  kind: string;
}

export interface OpenedJob<R> {
  /** number of batches */
  readonly count: number;
  /** computes batch `b` (0 ≤ b < count); the result is plain data */
  run(b: number, checkpoint: () => void): R;
  /** the buffers a worker may transfer (not copy) when it posts a result */
  transfer(r: R): ArrayBuffer[];
  /** frees the job's tensors */
  dispose(): void;
}

export type JobOpener<S extends JobSpec, R> = (prep: PreparedGraph, spec: S) => OpenedJob<R>;

const OPENERS = new Map<string, JobOpener<JobSpec, unknown>>();

export function registerJob<S extends JobSpec, R>(kind: S['kind'], open: JobOpener<S, R>): void {
  OPENERS.set(kind, open as unknown as JobOpener<JobSpec, unknown>);
}

export function openJob<R>(prep: PreparedGraph, spec: JobSpec): OpenedJob<R> {
  const open = OPENERS.get(spec.kind);
  if (!open) throw new Error(`unknown sample job kind '${spec.kind}'`);
  return open(prep, spec) as OpenedJob<R>;
}

/** Layout of a job's shared control block (Int32Array over a SharedArrayBuffer). */
export const CTRL = {
  /** next unclaimed batch index (claimed with Atomics.add) */
  NEXT: 0,
  /** 1 once the job is over (all results in, or cancelled): workers stop claiming and abandon their batch */
  CLOSED: 1,
  /** incremented (and notified) by a worker after each result it posts */
  POSTED: 2,
  /** 1 once workers may claim (the caller opens it when the job proves long enough) */
  GATE: 3,
  /** from here, one slot per batch: the 1-based slot of the worker that claimed it (0 = not yet / the caller) */
  OWNER: 4,
} as const;

/** A plain buffer that owns exactly these bytes (so transferring it moves only them). */
export function ownBuffer(a: Float32Array): ArrayBuffer[] {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer ? [a.buffer] : [];
}
