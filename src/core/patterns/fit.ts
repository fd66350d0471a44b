/**
 * Fitting patterns: batches of images run through a streaming forward pass that frees each
 * activation as soon as its consumers and the statistics that need it are done (bounded memory),
 * and each dense/conv layer's batch moments are merged into float64 accumulators. Images whose
 * content hash falls in the held-out fraction feed the quality measure ρ instead; the split depends
 * on the image alone, so fitting two halves of a dataset holds out the same images as one fit.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Graph } from '../graph/ir';
import { sizeOf } from '../graph/ir';
import { PreparedGraph } from '../engine/prepared';
import { runNode } from '../engine/forward';
import { LensError } from '../errors';
import { modelFingerprint } from './fingerprint';
import { largestActivation, patternLayers, type PatternLayerSpec } from './layers';
import { batchJointMoments, mergeBatchMoments, rhoPlan, type LayerTensors } from './collect';
import { JointMoments, Moments } from './moments';
import { finalize, type LayerStats, type PatternStats, type RhoConfig } from './stats';

export const DEFAULT_RHO: RhoConfig = { neurons: 32, positions: 64, maxDim: 2048 };
export const DEFAULT_HOLDOUT = 0.1;

/** Images per batch so that one activation of the largest layer stays near 32 MB. */
export function defaultBatch(g: Graph): number {
  return Math.max(1, Math.min(64, Math.floor((8 << 20) / largestActivation(g))));
}

/** FNV-1a of an image's float bytes → [0, 1): the held-out decision. */
export function imageHash(data: Float32Array, offset: number, length: number): number {
  const bytes = new Uint8Array(data.buffer, data.byteOffset + offset * 4, length * 4);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche so nearby hashes spread over [0, 1)
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return (h >>> 0) / 4294967296;
}

export interface FitterOptions {
  rho?: RhoConfig | null;
  holdout?: number;
  /** a prepared copy of the graph to borrow (an Explainer's): no second copy of the weights; not disposed */
  prep?: PreparedGraph;
}

export class PatternFitter {
  readonly prep: PreparedGraph;
  readonly specs: PatternLayerSpec[];
  private readonly layers: LayerStats[];
  private readonly rhoConfig: RhoConfig | null;
  private fitImages = 0;
  private heldOutImages = 0;
  private readonly jobsAt = new Map<number, PatternLayerSpec[]>();
  private readonly baseUses: number[];

  constructor(readonly graph: Graph, private readonly opts: FitterOptions = {}) {
    this.prep = opts.prep ?? new PreparedGraph(graph);
    this.specs = patternLayers(graph);
    if (!this.specs.length) throw new LensError('bad-model', 'the model has no dense or convolution layer to fit patterns for');
    this.rhoConfig = opts.rho === undefined ? DEFAULT_RHO : opts.rho;
    this.layers = this.specs.map((s, i) => {
      const l: LayerStats = {
        name: s.node.name, op: s.op, kernelShape: s.kernelShape, regime: s.regime, d: s.d, k: s.k,
        all: new Moments(s.d, s.k, s.op !== 'depthwiseConv2d'),
        ...(s.regime === 'relu' ? { plus: new Moments(s.d, s.k, false) } : {}),
      };
      const rc = this.rhoConfig;
      if (!rc) l.rhoSkipped = 'not evaluated';
      else {
        const plan = rhoPlan(s, rc.neurons, rc.positions, i + 1);
        if (plan.gd > rc.maxDim) l.rhoSkipped = `patch size ${plan.gd} > ${rc.maxDim}`;
        else {
          const kernel = s.node.params.kernel!.data;
          const m = plan.neurons.length;
          const w = new Float64Array(plan.gd * m);
          for (let d = 0; d < plan.gd; d++) plan.neurons.forEach((k, j) => (w[d * m + j] = kernel[d * s.k + k]));
          l.rho = {
            neurons: plan.neurons, positions: plan.positions, w,
            groups: plan.groups.map((gr) => ({ ...gr, moments: new JointMoments(plan.gd, gr.neurons.length) })),
          };
        }
      }
      return l;
    });
    const g = graph;
    this.baseUses = g.nodes.map(() => 0);
    for (const n of g.nodes) for (const i of n.inputs) this.baseUses[i]++;
    for (const s of this.specs) {
      const at = s.actId ?? s.node.id;
      if (!this.jobsAt.has(at)) this.jobsAt.set(at, []);
      this.jobsAt.get(at)!.push(s);
      for (const id of this.tensorsOf(s)) this.baseUses[id]++;
    }
  }

  private tensorsOf(s: PatternLayerSpec): number[] {
    return [s.node.inputs[0], s.node.id, ...(s.actId !== undefined ? [s.actId] : [])];
  }

  /** One batch [n, H, W, C]: fit statistics, or held-out statistics for ρ. */
  addBatch(x: tf.Tensor4D, heldOut: boolean, checkpoint?: () => void): void {
    const n = x.shape[0];
    if (n === 0) return;
    if (heldOut && !this.rhoConfig) return;
    const g = this.graph;
    const acts: (tf.Tensor | undefined)[] = new Array(g.nodes.length);
    const uses = this.baseUses.slice();
    const release = (id: number): void => {
      if (--uses[id] <= 0) {
        acts[id]?.dispose();
        acts[id] = undefined;
      }
    };
    try {
      acts[g.input] = x.clone();
      if (uses[g.input] === 0) release(g.input);
      for (const node of g.nodes) {
        if (node.id === g.input) continue;
        checkpoint?.();
        acts[node.id] = tf.tidy(() => runNode(this.prep, node, node.inputs.map((i) => acts[i]!)));
        for (const i of node.inputs) release(i);
        for (const s of this.jobsAt.get(node.id) ?? []) {
          this.collect(s, { x: acts[s.node.inputs[0]]!, z: acts[s.node.id]!, ...(s.actId !== undefined ? { act: acts[s.actId] } : {}) }, heldOut);
          for (const id of this.tensorsOf(s)) release(id);
        }
        if (uses[node.id] === 0) release(node.id);
      }
    } finally {
      acts.forEach((t) => t?.dispose());
    }
    if (heldOut) this.heldOutImages += n;
    else this.fitImages += n;
  }

  private collect(s: PatternLayerSpec, t: LayerTensors, heldOut: boolean): void {
    const l = this.layers[this.specs.indexOf(s)];
    if (!heldOut) {
      mergeBatchMoments(this.prep, s, t, l);
      return;
    }
    if (!l.rho) return;
    const plan = { neurons: l.rho.neurons, positions: l.rho.positions, groups: l.rho.groups, gd: l.rho.groups[0].moments.d };
    const jms = batchJointMoments(this.prep, s, plan, t);
    jms.forEach((jm, i) => l.rho!.groups[i].moments.merge(jm));
  }

  get counts(): { fit: number; heldOut: number } {
    return { fit: this.fitImages, heldOut: this.heldOutImages };
  }

  /** The statistics so far, with ρ and (unless `patterns` is false: a writer derives them) the patterns computed. */
  finish(opts: { patterns?: boolean } = {}): PatternStats {
    if (this.fitImages === 0) throw new LensError('bad-input', 'no images were left to fit patterns on (all held out?)');
    return finalize({
      model: { name: this.graph.name, fingerprint: modelFingerprint(this.graph) },
      images: { fit: this.fitImages, heldOut: this.heldOutImages },
      holdout: this.opts.holdout ?? DEFAULT_HOLDOUT,
      rhoConfig: this.rhoConfig,
      created: new Date().toISOString(),
      layers: this.layers,
    }, opts);
  }

  dispose(): void {
    if (this.prep !== this.opts.prep) this.prep.dispose();
  }
}

/** A source of preprocessed images, read in order by index ranges. */
export interface ImageSource {
  /** number of images */
  count: number;
  /** per-image shape [H, W, C] */
  shape: number[];
  /** images start..start+n−1 as one NHWC Float32Array */
  read(start: number, n: number): Float32Array;
  close(): void;
}

export interface FitOptions extends FitterOptions {
  /** false: leave the patterns to writePatternsFile, which derives them block by block (default true) */
  patterns?: boolean;
  batchSize?: number;
  limit?: number;
  checkpoint?: () => void;
  onProgress?: (p: { done: number; total: number; fit: number; heldOut: number; elapsedMs: number }) => void;
}

export function fitPatterns(graph: Graph, source: ImageSource, opts: FitOptions = {}): PatternStats {
  const want = graph.nodes[graph.input].shape;
  if (source.shape.length !== 3 || source.shape.some((d, i) => d !== want[i])) {
    throw new LensError('bad-input', `images are ${source.shape.join('×')}, the model expects ${want.join('×')} (HWC)`);
  }
  const holdout = opts.holdout ?? DEFAULT_HOLDOUT;
  if (!(holdout >= 0 && holdout < 1)) throw new LensError('bad-usage', `--holdout must be in [0, 1), got ${holdout}`);
  const per = sizeOf(want);
  const total = Math.min(source.count, opts.limit ?? Infinity);
  const batch = opts.batchSize ?? defaultBatch(graph);
  const fitter = new PatternFitter(graph, { ...opts, holdout, rho: holdout > 0 ? opts.rho : null });
  const t0 = performance.now();
  try {
    for (let start = 0; start < total; start += batch) {
      opts.checkpoint?.();
      const n = Math.min(batch, total - start);
      const data = source.read(start, n);
      const fitIdx: number[] = [];
      const heldIdx: number[] = [];
      for (let i = 0; i < n; i++) (imageHash(data, i * per, per) < holdout ? heldIdx : fitIdx).push(i);
      for (const [idx, held] of [[fitIdx, false], [heldIdx, true]] as [number[], boolean][]) {
        if (!idx.length) continue;
        const sub = idx.length === n ? data : new Float32Array(idx.length * per);
        if (sub !== data) idx.forEach((i, j) => sub.set(data.subarray(i * per, (i + 1) * per), j * per));
        const x = tf.tensor4d(sub, [idx.length, want[0], want[1], want[2]]);
        try {
          fitter.addBatch(x, held, opts.checkpoint);
        } finally {
          x.dispose();
        }
      }
      opts.onProgress?.({ done: start + n, total, ...fitter.counts, elapsedMs: performance.now() - t0 });
    }
    return fitter.finish({ patterns: opts.patterns });
  } finally {
    fitter.dispose();
  }
}
