/**
 * Backward executor: walks the graph from the explained output to the input, asking a method's
 * handler for each node how the signal at its output splits onto its inputs; signals from several
 * consumers add up. Records the per-node sums for the conservation table.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import type { PreparedGraph } from './prepared';
import { LensError } from '../errors';

/**
 * Sum of all elements in two levels (rows of ≈ √n, then the row sums): a flat float32 reduction of a
 * large layer drifts (VGG16's first conv, 3.2M values: 3.6e-4 of the logit against a float64 sum; two
 * levels: 2e-7), and the conservation table shows these sums.
 */
export function blockSum(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const n = x.size;
    if (n < 4096) return tf.sum(x);
    const cols = Math.ceil(Math.sqrt(n));
    const rows = Math.ceil(n / cols);
    const flat = tf.reshape(x, [n]);
    const padded = rows * cols === n ? flat : tf.pad(flat, [[0, rows * cols - n]]);
    return tf.sum(tf.sum(tf.reshape(padded, [rows, cols]), 1));
  });
}

/** Σ |x| by blockSum. */
function absSum(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => blockSum(tf.abs(x)));
}

export interface BackwardContext {
  prep: PreparedGraph;
  /** every node's forward output */
  acts: tf.Tensor[];
  /** when present, handlers record each node's closed-form leak here (kept scalars: bias, stabilizer) */
  leaks?: Map<number, [tf.Tensor, tf.Tensor]>;
}

/** Returns one tensor per input of the node (shapes of those inputs). */
export type NodeBackward = (node: Node, signal: tf.Tensor, ctx: BackwardContext) => tf.Tensor[];

export interface NodeSums {
  /** sum of the signal arriving at the node's output */
  out: number;
  /** sum of what it passes to its inputs */
  in: number;
  /** closed-form share of out − in absorbed by the bias / by the stabilizer (when recorded) */
  biasLeak?: number;
  stabilizerLeak?: number;
  /** Σ |signal| at the output / over the parts passed to the inputs (with `absSums`) */
  outAbs?: number;
  inAbs?: number;
}

/**
 * One node's values in the flat array of sums (both backends): out, in, then Σ|out|, Σ|in| (abs), then
 * the bias and stabilizer shares (leaks).
 */
export interface SumEntry { id: number; abs: boolean; leaks: boolean }

export function entrySize(e: SumEntry): number {
  return 2 + (e.abs ? 2 : 0) + (e.leaks ? 2 : 0);
}

/** The per-node sums from the flat array; `factor(j)`: entry j's rescaling to true units. */
export function decodeSums(nodes: number, entries: SumEntry[], values: Float32Array, factor: (j: number) => number = () => 1): (NodeSums | undefined)[] {
  const sums: (NodeSums | undefined)[] = new Array(nodes);
  let k = 0;
  entries.forEach((e, j) => {
    const f = factor(j);
    const at = (i: number): number => values[k + i] * f;
    const s: NodeSums = { out: at(0), in: at(1) };
    if (e.abs) [s.outAbs, s.inAbs] = [at(2), at(3)];
    if (e.leaks) [s.biasLeak, s.stabilizerLeak] = e.abs ? [at(4), at(5)] : [at(2), at(3)];
    sums[e.id] = s;
    k += entrySize(e);
  });
  return sums;
}

export interface BackwardResult {
  /** signal at the graph input (batched) */
  input: tf.Tensor;
  /** per node id; undefined for nodes the signal never reached */
  sums: (NodeSums | undefined)[];
  /** signals at the outputs of the requested nodes (caller disposes) */
  kept: Map<number, tf.Tensor>;
  /** with `rescale`: the input signal is the true one / 2^log2Scale, kept ones / 2^keptLog2Scale */
  log2Scale: number;
  keptLog2Scale: Map<number, number>;
}

export interface BackwardOptions {
  /** keep the signal arriving at these nodes' outputs */
  keep?: ReadonlySet<number>;
  /** checked between nodes; throw to cancel */
  checkpoint?: () => void;
  /**
   * Signals that grow layer by layer (PatternNet) would overflow float32: after a node for which
   * `after(node)` holds, when a signal it produced exceeds 2^log2, every pending signal is multiplied
   * by 2^-log2 (all branches keep their ratios). The input signal is then the true one / 2^log2Scale;
   * the sums are reported in true units.
   */
  rescale?: { after: (node: Node) => boolean; log2: number };
  /** also Σ |signal| at each node's output and inputs (the conservation table's float32 floor) */
  absSums?: boolean;
}

export function backward(
  ctx: BackwardContext, start: tf.Tensor, handler: NodeBackward, opts: BackwardOptions = {},
): BackwardResult {
  const g = ctx.prep.graph;
  const pending: (tf.Tensor | undefined)[] = new Array(g.nodes.length);
  pending[g.output] = start.clone();
  const sumTensors: (tf.Tensor[] | undefined)[] = new Array(g.nodes.length);
  const kept = new Map<number, tf.Tensor>();
  // A node's input sum is its inputs' output sums when it is their only consumer (saves one
  // reduction per node); inputs shared with other consumers are summed where they are produced.
  // The same for Σ|signal| (absSums): one cache per reduction.
  const nConsumers = new Array(g.nodes.length).fill(0);
  for (const n of g.nodes) for (const i of n.inputs) nConsumers[i]++;
  const reductions = opts.absSums ? [blockSum, absSum] : [blockSum];
  const outSums: (tf.Tensor | undefined)[][] = reductions.map(() => new Array(g.nodes.length));
  // per-input sums of shared inputs, folded into a node's total: disposed with the rest
  const extra: tf.Tensor[] = [];
  let log2Scale = 0;
  const sumScale: number[] = new Array(g.nodes.length).fill(0);
  const keptLog2Scale = new Map<number, number>();
  try {
    for (let id = g.output; id >= 0; id--) {
      const signal = pending[id];
      if (!signal || id === g.input) continue;
      opts.checkpoint?.();
      pending[id] = undefined;
      const node = g.nodes[id];
      const parts = tf.tidy(() => handler(node, signal, ctx));
      if (parts.length !== node.inputs.length) throw new Error(`handler for ${node.op} returned ${parts.length} parts`);
      sumTensors[id] = reductions.flatMap((reduce, r) => {
        const outSum = outSums[r];
        outSum[id] ??= reduce(signal);
        const inSums = parts.map((p, k) => {
          const i = node.inputs[k];
          const t = p === signal ? outSum[id]! : reduce(p);
          if (nConsumers[i] === 1) outSum[i] = t;
          else if (t !== outSum[id]) extra.push(t);
          return t;
        });
        return [outSum[id]!, inSums.length === 1 ? inSums[0] : inSums.length === 0 ? tf.scalar(0) : tf.addN(inSums)];
      });
      sumScale[id] = log2Scale;
      // a handler may pass the signal itself through (activations): then it lives on as that part
      if (opts.keep?.has(id)) {
        kept.set(id, parts.includes(signal) ? signal.clone() : signal);
        keptLog2Scale.set(id, log2Scale);
      } else if (!parts.includes(signal)) signal.dispose();
      node.inputs.forEach((i, k) => {
        const prev = pending[i];
        if (prev) {
          pending[i] = tf.add(prev, parts[k]);
          prev.dispose();
          parts[k].dispose();
        } else pending[i] = parts[k];
      });
      if (opts.rescale?.after(node)) {
        const { log2 } = opts.rescale;
        const peak = tf.tidy(() => tf.max(tf.stack(node.inputs.map((i) => tf.max(tf.abs(pending[i]!))))).dataSync()[0]);
        if (peak > 2 ** log2) {
          for (let i = 0; i < pending.length; i++) {
            const t = pending[i];
            if (!t) continue;
            pending[i] = tf.mul(t, 2 ** -log2);
            t.dispose();
            // a cached output sum is in the old units: sum again when the node is reached
            for (const outSum of outSums) {
              if (outSum[i]) extra.push(outSum[i]!);
              outSum[i] = undefined;
            }
          }
          log2Scale += log2;
        }
      }
    }
  } catch (e) {
    pending.forEach((t) => t?.dispose());
    sumTensors.forEach((s) => s?.forEach((t) => t.dispose()));
    new Set(outSums.flat()).forEach((t) => t?.dispose());
    extra.forEach((t) => t.dispose());
    kept.forEach((t) => t.dispose());
    ctx.leaks?.forEach((l) => l.forEach((t) => t.dispose()));
    ctx.leaks?.clear();
    throw e;
  }
  const input = pending[g.input];
  if (!input) throw new LensError('bad-model', 'the explained output does not depend on the input');
  // one read-back for all sums
  for (const [id, [b, st]] of ctx.leaks ?? []) sumTensors[id]?.push(b, st);
  const ids = sumTensors.map((s, i) => (s ? i : -1)).filter((i) => i >= 0);
  const flat = ids.length ? tf.tidy(() => tf.stack(ids.flatMap((i) => sumTensors[i]!))) : undefined;
  const values = flat ? flat.dataSync() as Float32Array : new Float32Array(0);
  flat?.dispose();
  const all = new Set<tf.Tensor>();
  sumTensors.forEach((s) => s?.forEach((t) => all.add(t)));
  outSums.forEach((o) => o.forEach((t) => t && all.add(t)));
  extra.forEach((t) => all.add(t));
  all.forEach((t) => t.dispose());
  const entries = ids.map((id) => ({ id, abs: !!opts.absSums, leaks: !!ctx.leaks?.has(id) }));
  const sums = decodeSums(g.nodes.length, entries, values, (j) => 2 ** sumScale[ids[j]]);
  ctx.leaks?.clear();
  return { input, sums, kept, log2Scale, keptLog2Scale };
}
