/**
 * SmoothGrad (and SmoothGrad², VarGrad) and Integrated Gradients on the compiled gradient: the samples (seeded noise, path
 * points: made exactly as the wasm path makes them) run as batches through one session; gradients and
 * per-node sums are added in sample order and averaged, as parallel/gradientJob.ts does.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Graph } from '../graph/ir';
import { sizeOf } from '../graph/ir';
import type { NodeSums } from '../engine/backward';
import { LensError } from '../errors';
import type { ExplainOptions } from '../methods/types';
import { checkCount, defaultSampleBatch, noiseStatistic, SMOOTHGRAD_DEFAULTS } from '../methods/smoothGrad';
import type { NoiseMethod } from '../../shared/methodParams';
import { IG_DEFAULT_STEPS, makeBaseline, describeBaseline } from '../methods/integratedGradients';
import { sampleSeed } from '../parallel/gradientJob';

export interface SampleRun {
  relevance: Float32Array;
  sums: (NodeSums | undefined)[];
  extra: Record<string, unknown>;
}

type RunBatch = (xs: Float32Array, n: number) => Promise<{ grad: Float32Array; sums: Float32Array; logits: Float32Array }>;

/** Σ over samples of the gradient (and, asked for, of its square) and of the per-node sums (session layout), batch by batch. */
async function gradientSum(
  g: Graph, total: number, batch: number, make: (k0: number, n: number) => Float32Array, run: RunBatch, checkpoint?: () => void, squares = false,
): Promise<{ grad: Float32Array; sq?: Float32Array; sums: Float32Array }> {
  const size = sizeOf(g.nodes[g.input].shape);
  const grad = new Float32Array(size);
  const sq = squares ? new Float32Array(size) : undefined;
  let sums: Float32Array | undefined;
  for (let k0 = 0; k0 < total; k0 += batch) {
    checkpoint?.();
    const n = Math.min(batch, total - k0);
    const r = await run(make(k0, n), n);
    // rows summed first (as tf.sum over the batch), then added to the running sum
    const rows = new Float32Array(size);
    for (let i = 0; i < n; i++) for (let j = 0; j < size; j++) rows[j] += r.grad[i * size + j];
    for (let j = 0; j < size; j++) grad[j] += rows[j];
    if (sq) {
      const rowsSq = new Float32Array(size);
      for (let i = 0; i < n; i++) for (let j = 0; j < size; j++) rowsSq[j] += Math.fround(r.grad[i * size + j] * r.grad[i * size + j]);
      for (let j = 0; j < size; j++) sq[j] += rowsSq[j];
    }
    sums ??= new Float32Array(r.sums.length);
    for (let j = 0; j < sums.length; j++) sums[j] += r.sums[j];
  }
  return { grad, ...(sq ? { sq } : {}), sums: sums! };
}

export async function noiseSamples(
  method: NoiseMethod, g: Graph, x: Float32Array, opts: ExplainOptions, run: RunBatch, decode: (s: Float32Array) => (NodeSums | undefined)[], checkpoint?: () => void,
): Promise<SampleRun> {
  const samples = checkCount(opts.samples ?? SMOOTHGRAD_DEFAULTS.samples, '--samples');
  const batch = checkCount(opts.sampleBatch ?? defaultSampleBatch(g), 'sample batch', 4096);
  const sigma = opts.sigma ?? SMOOTHGRAD_DEFAULTS.sigma;
  if (!Number.isFinite(sigma) || sigma < 0) throw new LensError('bad-usage', `--sigma must be a number ≥ 0 (a fraction of the input range), got ${sigma}`);
  const seed = opts.seed ?? SMOOTHGRAD_DEFAULTS.seed;
  const [h, w, c] = g.nodes[g.input].shape;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const range = Math.fround(hi - lo);
  const std = sigma * (range > 0 ? range : 1);
  const make = (k0: number, n: number): Float32Array => tf.tidy(() => {
    const base = tf.broadcastTo(tf.tensor4d(x, [1, h, w, c]), [n, h, w, c]);
    if (std === 0) return base.dataSync() as Float32Array;
    const noise = Array.from({ length: n }, (_, i) => tf.randomNormal([1, h, w, c], 0, std, 'float32', sampleSeed(seed, k0 + i)));
    return tf.add(base, n === 1 ? noise[0] : tf.concat(noise, 0)).dataSync() as Float32Array;
  });
  const { grad, sq, sums } = await gradientSum(g, samples, batch, make, run, checkpoint, method !== 'smoothgrad');
  const relevance = noiseStatistic(method, grad, sq, samples);
  return { relevance, sums: mean(decode(sums), samples), extra: { smoothgrad: { samples, sigma, noiseStd: std, seed, statistic: method } } };
}

export async function integratedGradientSamples(
  g: Graph, x: Float32Array, target: number, logit: number, opts: ExplainOptions, run: RunBatch,
  decode: (s: Float32Array) => (NodeSums | undefined)[], checkpoint?: () => void,
): Promise<SampleRun> {
  const steps = checkCount(opts.steps ?? IG_DEFAULT_STEPS, '--steps');
  const batch = checkCount(opts.sampleBatch ?? defaultSampleBatch(g), 'sample batch', 4096);
  const [h, w, c] = g.nodes[g.input].shape;
  const { base, delta } = tf.tidy(() => {
    const xt = tf.tensor4d(x, [1, h, w, c]);
    const b = makeBaseline(xt, opts.baseline);
    return { base: b.dataSync() as Float32Array, delta: tf.sub(xt, b).dataSync() as Float32Array };
  });
  const fBase = (await run(base, 1)).logits[target];
  const make = (k0: number, n: number): Float32Array => tf.tidy(() => {
    const alphas = Array.from({ length: n }, (_, i) => (k0 + i + 0.5) / steps);
    return tf.add(tf.tensor4d(base, [1, h, w, c]), tf.mul(tf.tensor4d(alphas, [n, 1, 1, 1]), tf.tensor4d(delta, [1, h, w, c]))).dataSync() as Float32Array;
  });
  const { grad, sums } = await gradientSum(g, steps, batch, make, run, checkpoint);
  const relevance = new Float32Array(x.length);
  let total = 0;
  for (let i = 0; i < x.length; i++) {
    relevance[i] = delta[i] * Math.fround(grad[i] / steps);
    total += relevance[i];
  }
  const diff = logit - fBase;
  return {
    relevance, sums: mean(decode(sums), steps),
    extra: {
      integratedGradients: {
        steps, baseline: describeBaseline(opts.baseline), outputAtInput: logit, outputAtBaseline: fBase,
        attributionSum: total, completenessError: diff !== 0 ? Math.abs(total - diff) / Math.abs(diff) : Math.abs(total),
      },
    },
  };
}

function mean(s: (NodeSums | undefined)[], n: number): (NodeSums | undefined)[] {
  return s.map((v) => (v ? { out: v.out / n, in: v.in / n } : undefined));
}

export type { RunBatch };
