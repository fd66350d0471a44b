/**
 * Region perturbation ("pixel flipping") after Samek et al. 2017, "Evaluating the visualization of
 * what a deep neural network has learned": the input is cut into non-overlapping r×r regions, the
 * regions are ranked by their summed relevance (MoRF: most relevant first; LeRF: least relevant
 * first), and perturbed cumulatively in that order; f_c(x^k) is recorded after each of L steps.
 *
 *   AOPC = 1/(L+1) · Σ_{k=0..L} (f(x⁰) − f(x^k))
 *
 * A steep MoRF decline (large AOPC) means the heatmap found what the model uses. A random region
 * order with the same perturbation is the chance level to read a method's AOPC against.
 *
 * All perturbed inputs of a curve are built on the backend from one rank map (the step at which each
 * pixel is replaced) and run through the model in batches; no intermediate activation is kept. The
 * batches of one or several curves form a job that a sample worker pool spreads over its threads (each
 * value is one batch's output, so who computed it changes nothing).
 */
import * as tf from '@tensorflow/tfjs-core';
import { consumers, sizeOf } from '../graph/ir';
import { runNode } from '../engine/forward';
import { PreparedGraph } from '../engine/prepared';
import { gaussianBlur } from '../methods/integratedGradients';
import { LensError } from '../errors';
import { ownBuffer, registerJob, type JobSpec } from '../parallel/jobs';
import { runJob, type SampleWorkerPool } from '../parallel/pool';
import { randomOrder, seededRandom } from '../seededRandom';

export type PerturbationKind = 'zeros' | 'mean' | 'uniform' | 'blur';
export const PERTURBATION_KINDS: readonly PerturbationKind[] = ['zeros', 'mean', 'uniform', 'blur'];
export type RegionOrder = 'morf' | 'lerf';
export const REGION_ORDERS: readonly RegionOrder[] = ['morf', 'lerf'];

export interface PerturbationOptions {
  /** side r of the square regions in pixels (default: 1 up to 64×64 inputs, else 4) */
  region?: number;
  /** what a perturbed pixel becomes (default 'mean': the image's per-channel mean) */
  perturbation?: PerturbationKind;
  /** seed of the uniform noise (default 0) */
  seed?: number;
  /** per-channel range of the uniform noise (default: the input's own min/max per channel) */
  bounds?: { low: number[]; high: number[] };
  /** 'blur': Gaussian σ in pixels (default 10 % of the shorter side) */
  blurSigma?: number;
  /** perturbed inputs per forward batch (default from the model's activation sizes, ≤ 64) */
  batch?: number;
  /** called between batches; throws to cancel */
  checkpoint?: () => void;
  /** spreads the perturbation batches over worker threads (absent: all on this thread) */
  pool?: SampleWorkerPool;
}

export const DEFAULT_PERTURBATION: PerturbationKind = 'mean';

/** 1 for inputs up to 64×64, else 4. */
export function defaultRegionSize(h: number, w: number): number {
  return Math.max(h, w) <= 64 ? 1 : 4;
}

/** min(100, number of regions). */
export function defaultSteps(regions: number): number {
  return Math.min(100, regions);
}

/** Non-overlapping r×r regions in row-major order; the last row/column may be narrower. */
export interface RegionGrid {
  r: number;
  rows: number;
  cols: number;
  count: number;
  /** region index of each pixel (row-major, H×W) */
  regionOf: Int32Array;
  /** pixels in each region */
  sizes: Int32Array;
}

export function regionGrid(h: number, w: number, r: number): RegionGrid {
  if (!Number.isInteger(r) || r < 1 || r > Math.min(h, w)) {
    throw new LensError('bad-usage', `--region must be an integer in 1..${Math.min(h, w)} for a ${h}×${w} input, got ${r}`);
  }
  const rows = Math.ceil(h / r);
  const cols = Math.ceil(w / r);
  const regionOf = new Int32Array(h * w);
  const sizes = new Int32Array(rows * cols);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const k = Math.floor(y / r) * cols + Math.floor(x / r);
      regionOf[y * w + x] = k;
      sizes[k]++;
    }
  }
  return { r, rows, cols, count: rows * cols, regionOf, sizes };
}

/** Summed relevance of each region (over its pixels and channels). */
export function regionScores(relevance: ArrayLike<number>, shape: readonly number[], grid: RegionGrid): Float64Array {
  const [h, w, c] = shape;
  if (relevance.length !== h * w * c || grid.regionOf.length !== h * w) {
    throw new RangeError(`regionScores: ${relevance.length} values do not match shape [${shape.join(', ')}]`);
  }
  const s = new Float64Array(grid.count);
  for (let p = 0; p < h * w; p++) {
    let v = 0;
    for (let ch = 0; ch < c; ch++) v += relevance[p * c + ch];
    s[grid.regionOf[p]] += v;
  }
  return s;
}

/**
 * Region indices by score: descending for MoRF, ascending for LeRF. Ties (e.g. the exactly-zero
 * relevance of a black background under z⁺) are broken in a seeded random order, not by position, so
 * a sweep from the top-left corner does not masquerade as the method's ranking.
 */
export function rankRegions(scores: ArrayLike<number>, order: RegionOrder, tieSeed = 0): Int32Array {
  const n = scores.length;
  const tie = new Int32Array(n);
  randomOrder(n, tieSeed ^ 0x5bd1e995).forEach((region, pos) => {
    tie[region] = pos;
  });
  const idx = Array.from({ length: n }, (_, i) => i);
  const sign = order === 'morf' ? -1 : 1;
  idx.sort((a, b) => sign * (scores[a] - scores[b]) || tie[a] - tie[b]);
  return Int32Array.from(idx);
}

export interface Aopc {
  aopc: number;
  /** AOPC / f(x⁰); NaN when f(x⁰) ≤ 0 (a relative drop is meaningless there) */
  normalized: number;
}

/** AOPC of one curve f(x⁰), f(x¹), …, f(x^L). */
export function aopc(curve: ArrayLike<number>): Aopc {
  const n = curve.length;
  if (n === 0) return { aopc: NaN, normalized: NaN };
  const f0 = curve[0];
  let s = 0;
  for (let k = 0; k < n; k++) s += f0 - curve[k];
  const a = s / n;
  return { aopc: a, normalized: f0 > 0 ? a / f0 : NaN };
}

/** Per-channel min and max of an HWC array. */
export function channelRange(data: ArrayLike<number>, channels: number): { low: number[]; high: number[] } {
  const low = new Array<number>(channels).fill(Infinity);
  const high = new Array<number>(channels).fill(-Infinity);
  for (let i = 0; i < data.length; i++) {
    const c = i % channels;
    if (data[i] < low[c]) low[c] = data[i];
    if (data[i] > high[c]) high[c] = data[i];
  }
  return { low, high };
}

function perChannel(v: number[], c: number, what: string): number[] {
  if (v.length === 1) return new Array<number>(c).fill(v[0]);
  if (v.length !== c) throw new LensError('bad-usage', `${what}: ${v.length} values given, the input has ${c} channel${c === 1 ? '' : 's'}`);
  return v;
}

/**
 * Runs the graph on a batch and returns only the output, freeing every activation as soon as its last
 * consumer has run (the explainer's forward keeps them all for the backward pass; this does not need to).
 */
export function forwardOutput(prep: PreparedGraph, x: tf.Tensor4D): tf.Tensor {
  const g = prep.graph;
  const uses = consumers(g).map((c) => c.length);
  const acts: (tf.Tensor | undefined)[] = new Array(g.nodes.length);
  acts[g.input] = x;
  const release = (id: number): void => {
    if (id !== g.input && id !== g.output) {
      acts[id]?.dispose();
      acts[id] = undefined;
    }
  };
  try {
    for (const node of g.nodes) {
      if (node.id === g.input) continue;
      acts[node.id] = tf.tidy(() => runNode(prep, node, node.inputs.map((i) => acts[i]!)));
      for (const i of node.inputs) if (--uses[i] === 0) release(i);
      if (uses[node.id] === 0) release(node.id);
    }
    const out = acts[g.output]!;
    acts[g.output] = undefined;
    return out;
  } finally {
    for (let i = 0; i < acts.length; i++) if (i !== g.input) acts[i]?.dispose();
  }
}

/** Perturbed inputs per batch: bounded by a budget of 16 M activation floats, at most 64. */
export function defaultPerturbationBatch(prep: Pick<PreparedGraph, 'graph'>): number {
  const perImage = prep.graph.nodes.reduce((s, n) => s + sizeOf(n.shape), 0);
  return Math.max(1, Math.min(64, Math.floor((16 << 20) / perImage)));
}

/** f_target of perturbed inputs: the batches of one or more curves over the same input. */
export interface CurveJobSpec extends JobSpec {
  kind: 'curve';
  /** the input and what each pixel becomes when perturbed, HWC */
  x: Float32Array;
  replacement: Float32Array;
  /** per curve: the step at which each pixel is replaced, H×W */
  rankMaps: Float32Array[];
  steps: number;
  target: number;
  batch: number;
}

/** f_target(x^k) for k = k0..k0+n−1: x^k has the pixels of rank ≤ k replaced. */
function perturbedOutputs(
  prep: PreparedGraph, x: tf.Tensor4D, replacement: tf.Tensor4D, rankMap: tf.Tensor4D, k0: number, n: number, target: number,
): Float32Array {
  const [, h, w, c] = x.shape;
  return tf.tidy(() => {
    const ks = tf.reshape(tf.range(k0, k0 + n, 1, 'float32'), [n, 1, 1, 1]);
    const mask = tf.lessEqual(rankMap, ks); // [n, H, W, 1]
    const xb = tf.where(tf.broadcastTo(mask, [n, h, w, c]), tf.broadcastTo(replacement, [n, h, w, c]),
      tf.broadcastTo(x, [n, h, w, c])) as tf.Tensor4D;
    const y = forwardOutput(prep, xb);
    return new Float32Array(tf.slice(tf.reshape(y, [n, -1]), [0, target], [n, 1]).dataSync());
  });
}

registerJob<CurveJobSpec, Float32Array>('curve', (prep, spec) => {
  const [h, w, c] = prep.graph.nodes[prep.graph.input].shape;
  const x = tf.tensor4d(spec.x, [1, h, w, c]);
  const replacement = tf.tensor4d(spec.replacement, [1, h, w, c]);
  const ranks = spec.rankMaps.map((r) => tf.tensor4d(r, [1, h, w, 1]));
  const perCurve = Math.ceil((spec.steps + 1) / spec.batch);
  return {
    count: perCurve * ranks.length,
    run(b) {
      const k0 = (b % perCurve) * spec.batch;
      return perturbedOutputs(prep, x, replacement, ranks[Math.floor(b / perCurve)], k0, Math.min(spec.batch, spec.steps + 1 - k0), spec.target);
    },
    transfer: ownBuffer,
    dispose: () => [x, replacement, ...ranks].forEach((t) => t.dispose()),
  };
});

/**
 * One input with its replacement image (what each pixel becomes when perturbed), ready to produce
 * perturbation curves for any region order. Holds two tensors until dispose().
 */
export class RegionPerturber {
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly grid: RegionGrid;
  readonly perturbation: PerturbationKind;
  readonly batch: number;
  /** the noise range used by 'uniform', per channel */
  readonly bounds?: { low: number[]; high: number[] };
  readonly blurSigma?: number;
  private readonly x: tf.Tensor4D;
  private readonly replacement: tf.Tensor4D;
  private readonly checkpoint: () => void;
  private readonly pool?: SampleWorkerPool;
  /** x and the replacement as arrays, for the curve jobs */
  private data?: { x: Float32Array; replacement: Float32Array };

  /** prep: the tfjs engine that runs `curves`; a graph alone when another engine runs `curveJob`'s batches */
  constructor(private readonly prep: PreparedGraph | Pick<PreparedGraph, 'graph'>, input: { shape: number[]; data: Float32Array }, opts: PerturbationOptions = {}) {
    const want = prep.graph.nodes[prep.graph.input].shape;
    if (want.length !== 3) throw new LensError('bad-usage', `region perturbation needs an image input (H×W×C), the model's input is [${want.join(', ')}]`);
    const [h, w, c] = want;
    if (input.data.length !== h * w * c) throw new LensError('bad-input', `input has ${input.data.length} values, expected ${h * w * c}`);
    this.h = h;
    this.w = w;
    this.c = c;
    this.grid = regionGrid(h, w, opts.region ?? defaultRegionSize(h, w));
    this.perturbation = opts.perturbation ?? DEFAULT_PERTURBATION;
    if (!PERTURBATION_KINDS.includes(this.perturbation)) {
      throw new LensError('bad-usage', `--perturbation must be one of ${PERTURBATION_KINDS.join(', ')}, got '${this.perturbation}'`);
    }
    this.batch = opts.batch ?? defaultPerturbationBatch(prep);
    if (!Number.isInteger(this.batch) || this.batch < 1) throw new LensError('bad-usage', `perturbation batch must be an integer ≥ 1, got ${this.batch}`);
    this.checkpoint = opts.checkpoint ?? (() => undefined);
    this.pool = opts.pool;
    let replacement: Float32Array | undefined;
    if (this.perturbation === 'uniform') {
      const r = opts.bounds ?? channelRange(input.data, c);
      const low = perChannel(r.low, c, '--low');
      const high = perChannel(r.high, c, '--high');
      this.bounds = { low, high };
      const rnd = seededRandom(opts.seed ?? 0);
      replacement = new Float32Array(h * w * c);
      for (let i = 0; i < replacement.length; i++) {
        const ch = i % c;
        replacement[i] = low[ch] + rnd() * (high[ch] - low[ch]);
      }
    } else if (this.perturbation === 'mean') {
      const mean = new Float64Array(c);
      for (let i = 0; i < input.data.length; i++) mean[i % c] += input.data[i];
      replacement = new Float32Array(h * w * c);
      for (let i = 0; i < replacement.length; i++) replacement[i] = mean[i % c] / (h * w);
    }
    this.x = tf.tensor4d(input.data, [1, h, w, c]);
    if (replacement) this.replacement = tf.tensor4d(replacement, [1, h, w, c]);
    else if (this.perturbation === 'zeros') this.replacement = tf.zerosLike(this.x);
    else {
      const sigma = opts.blurSigma ?? 0.1 * Math.min(h, w);
      if (!Number.isFinite(sigma) || sigma < 0) {
        this.x.dispose();
        throw new LensError('bad-usage', `blur σ must be a number ≥ 0 (pixels), got ${sigma}`);
      }
      this.blurSigma = sigma;
      this.replacement = gaussianBlur(this.x, sigma);
    }
  }

  /** Steps that perturb every region (the longest possible curve). */
  get regions(): number {
    return this.grid.count;
  }

  /** Region ranking of a relevance map (HWC, summed over channels per region). */
  rank(relevance: ArrayLike<number>, order: RegionOrder, tieSeed = 0): Int32Array {
    return rankRegions(regionScores(relevance, [this.h, this.w, this.c], this.grid), order, tieSeed);
  }

  /**
   * f_target(x^k) for k = 0..steps, where x^k has the first k regions of `order` replaced.
   * `target` is an index into the model's (flattened) output.
   */
  curve(order: Int32Array, steps: number, target: number): Float32Array {
    return this.curves([order], steps, target)[0];
  }

  /** The curves of several region orders, their batches computed as one job (spread over the pool's threads). */
  curves(orders: Int32Array[], steps: number, target: number): Float32Array[] {
    const spec = this.curveJob(orders, steps, target);
    if (!(this.prep instanceof PreparedGraph)) throw new Error('RegionPerturber.curves needs the tfjs engine: run curveJob elsewhere');
    const curves = orders.map(() => new Float32Array(steps + 1));
    const perCurve = Math.ceil((steps + 1) / this.batch);
    runJob<Float32Array>(this.prep, spec, this.pool, this.checkpoint, (b, values) => {
      curves[Math.floor(b / perCurve)].set(values, (b % perCurve) * this.batch);
    });
    return curves;
  }

  /** The job of several region orders' curves: the input, its replacement and one rank map per order. */
  curveJob(orders: Int32Array[], steps: number, target: number): CurveJobSpec {
    const { h, w, grid } = this;
    if (!Number.isInteger(steps) || steps < 0 || steps > grid.count) {
      throw new LensError('bad-usage', `--steps must be an integer in 0..${grid.count} (the number of ${grid.r}×${grid.r} regions), got ${steps}`);
    }
    const rankMaps = orders.map((order) => {
      if (order.length < steps) throw new RangeError(`curve: the order has ${order.length} regions, ${steps} steps asked`);
      // rank map: the step at which each pixel is replaced (steps + 1 = never within the curve)
      const stepOfRegion = new Float32Array(grid.count).fill(steps + 1);
      for (let k = 0; k < steps; k++) stepOfRegion[order[k]] = k + 1;
      const rankData = new Float32Array(h * w);
      for (let p = 0; p < h * w; p++) rankData[p] = stepOfRegion[grid.regionOf[p]];
      return rankData;
    });
    const outSize = sizeOf(this.prep.graph.nodes[this.prep.graph.output].shape);
    if (!Number.isInteger(target) || target < 0 || target >= outSize) throw new LensError('bad-usage', `class ${target} is out of range 0..${outSize - 1}`);
    this.data ??= { x: this.x.dataSync() as Float32Array, replacement: this.replacement.dataSync() as Float32Array };
    return { kind: 'curve', ...this.data, rankMaps, steps, target, batch: this.batch };
  }

  dispose(): void {
    this.x.dispose();
    this.replacement.dispose();
  }
}

export interface RandomBaseline {
  /** the mean curve over the random orders */
  curve: Float32Array;
  /** AOPC of each random order */
  aopcs: number[];
  /** mean and sample standard deviation of those */
  aopc: number;
  aopcStd: number;
  normalized: number;
  seeds: number[];
}

/** Random orders whose curves form one job (their rank maps travel with it). */
export const CURVES_PER_JOB = 8;

/** `count` seeded random region orders: the chance level's orders. */
export function randomRegionOrders(p: RegionPerturber, count: number, seed = 0): { seeds: number[]; orders: Int32Array[] } {
  if (!Number.isInteger(count) || count < 1) throw new LensError('bad-usage', `random orders must be an integer ≥ 1, got ${count}`);
  const seeds = Array.from({ length: count }, (_, i) => 1000003 * (seed + 1) + i);
  return { seeds, orders: seeds.map((s) => randomOrder(p.regions, s)) };
}

/** The random orders' curves summarized: mean curve, each AOPC, their mean and spread. */
export function randomBaseline(curves: Float32Array[], seeds: number[], steps: number): RandomBaseline {
  const count = curves.length;
  const mean = new Float64Array(steps + 1);
  const aopcs: number[] = [];
  for (const c of curves) {
    for (let k = 0; k <= steps; k++) mean[k] += c[k] / count;
    aopcs.push(aopc(c).aopc);
  }
  const m = aopcs.reduce((a, b) => a + b, 0) / count;
  const std = count > 1 ? Math.sqrt(aopcs.reduce((a, b) => a + (b - m) ** 2, 0) / (count - 1)) : 0;
  const curve = Float32Array.from(mean);
  return { curve, aopcs, aopc: m, aopcStd: std, normalized: curve[0] > 0 ? m / curve[0] : NaN, seeds };
}
