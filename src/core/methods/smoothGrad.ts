/**
 * SmoothGrad (Smilkov et al. 2017): the mean gradient over n noisy copies x + N(0, σ²), with σ a
 * fraction of the input's range (max − min); SmoothGrad² (Hooker et al. 2019) the mean squared gradient
 * and VarGrad (Adebayo et al. 2018) its variance over the copies, mean(g²) − mean(g)² (Captum's
 * NoiseTunnel smoothgrad_sq / vargrad). Samples run in batches through the ordinary forward
 * and the explicit gradient pass, spread over the sample worker pool when there is one; the noise of
 * sample i is seeded by (seed, i), so a seed gives the same result for any batch size and worker count
 * (up to float32 summation order). σ = 0 gives the gradient itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import { LensError } from '../errors';
import type { Graph } from '../graph/ir';
import { sizeOf } from '../graph/ir';
import { signalRuleText } from './gradient';
import { sampleGradientSum } from '../parallel/gradientJob';
import type { MethodContext, MethodRun } from './method';
import { registerMethod } from './method';
import { NOISE_METHODS, type NoiseMethod } from '../../shared/methodParams';

export const SMOOTHGRAD_DEFAULTS = { samples: 32, sigma: 0.15, seed: 0 };

/** Samples per forward+backward batch: up to 16, fewer when all activations of one image are large. */
export function defaultSampleBatch(g: Graph): number {
  const perImage = g.nodes.reduce((s, n) => s + sizeOf(n.shape), 0);
  return Math.max(1, Math.min(16, Math.floor((16 << 20) / perImage)));
}

export function checkCount(v: number, flag: string, max = 100000): number {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new LensError('bad-usage', `${flag} must be an integer in 1..${max}, got ${v}`);
  return v;
}

/**
 * The method's statistic per input element from Σ g and Σ g² over n samples, in float64: the mean, the
 * mean square, or the (population) variance mean(g²) − mean(g)², clamped at 0 against rounding.
 */
export function noiseStatistic(method: NoiseMethod, sum: Float32Array, sq: Float32Array | undefined, n: number): Float32Array {
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) {
    const mean = sum[i] / n;
    if (method === 'smoothgrad') out[i] = mean;
    else if (method === 'smoothgrad-squared') out[i] = sq![i] / n;
    else out[i] = Math.max(0, sq![i] / n - mean * mean);
  }
  return out;
}

const noiseTunnel = (method: NoiseMethod) => (ctx: MethodContext): MethodRun => {
  const o = ctx.opts;
  const samples = checkCount(o.samples ?? SMOOTHGRAD_DEFAULTS.samples, '--samples');
  const batch = checkCount(o.sampleBatch ?? defaultSampleBatch(ctx.prep.graph), 'sample batch', 4096);
  const sigma = o.sigma ?? SMOOTHGRAD_DEFAULTS.sigma;
  if (!Number.isFinite(sigma) || sigma < 0) throw new LensError('bad-usage', `--sigma must be a number ≥ 0 (a fraction of the input range), got ${sigma}`);
  const seed = o.seed ?? SMOOTHGRAD_DEFAULTS.seed;
  const x = ctx.x;
  const [, h, w, c] = x.shape;
  const range = tf.tidy(() => tf.sub(tf.max(x), tf.min(x)).dataSync()[0]);
  const std = sigma * (range > 0 ? range : 1);
  // sample i's noise is seeded by (seed, i): the same for any batch size or number of workers
  const { grad, sq, sums } = sampleGradientSum(ctx.prep, {
    target: ctx.target, samples: { kind: 'noise', x: x.dataSync() as Float32Array, std, seed }, total: samples, batch,
    ...(method === 'smoothgrad' ? {} : { squares: true }),
  }, ctx.pool, ctx.checkpoint);
  const relevance = tf.tensor4d(noiseStatistic(method, grad, sq, samples), [1, h, w, c]);
  return {
    relevance, sums: sums.mean(samples), ruleText: signalRuleText(ctx.prep.graph, 'gradient'), composite: null,
    extra: { smoothgrad: { samples, sigma, noiseStd: std, seed, statistic: method } },
  };
};

for (const m of NOISE_METHODS) registerMethod(m, noiseTunnel(m));
