/**
 * Integrated Gradients (Sundararajan et al. 2017): (x − x') ⊙ ∫₀¹ ∇f(x' + α(x − x')) dα, by the
 * midpoint rule over `steps` path points, in batches (spread over the sample worker pool when there
 * is one; batch sums are added in batch order). Completeness — Σ attribution = f(x) − f(x') —
 * is reported in the result's `extra` so its quadrature error is visible.
 */
import * as tf from '@tensorflow/tfjs-core';
import { LensError } from '../errors';
import { sizeOf } from '../graph/ir';
import { forward } from '../engine/forward';
import type { PreparedGraph } from '../engine/prepared';
import type { BaselineSpec } from './types';
import { signalRuleText } from './gradient';
import { sampleGradientSum } from '../parallel/gradientJob';
import { checkCount, defaultSampleBatch } from './smoothGrad';
import type { MethodContext, MethodRun } from './method';
import { registerMethod } from './method';

export const IG_DEFAULT_STEPS = 64;

/** 1-D Gaussian taps for sigma (px), radius 3σ clipped so a symmetric mirror pad fits the image. */
function gaussianTaps(sigma: number, maxRadius: number): Float32Array {
  const r = Math.max(0, Math.min(Math.ceil(3 * sigma), maxRadius));
  const taps = new Float32Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) {
    taps[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
    s += taps[i + r];
  }
  for (let i = 0; i < taps.length; i++) taps[i] /= s;
  return taps;
}

/** Separable Gaussian blur per channel with symmetric (mirror) borders: a baseline without edges. */
export function gaussianBlur(x: tf.Tensor4D, sigma: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w, c] = x.shape;
    if (!(sigma > 0)) return x.clone();
    const ty = gaussianTaps(sigma, h);
    const tx = gaussianTaps(sigma, w);
    const ry = (ty.length - 1) / 2;
    const rx = (tx.length - 1) / 2;
    const ky = tf.tile(tf.tensor4d(ty, [ty.length, 1, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
    const kx = tf.tile(tf.tensor4d(tx, [1, tx.length, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
    let y = tf.mirrorPad(x, [[0, 0], [ry, ry], [rx, rx], [0, 0]], 'symmetric');
    y = tf.depthwiseConv2d(y, ky, 1, 'valid');
    return tf.depthwiseConv2d(y, kx, 1, 'valid');
  });
}

/** The baseline as a [1, H, W, C] tensor. */
export function makeBaseline(x: tf.Tensor4D, spec: BaselineSpec | undefined): tf.Tensor4D {
  const [, h, w, c] = x.shape;
  const s = spec ?? { kind: 'zeros' };
  switch (s.kind) {
    case 'zeros': return tf.zerosLike(x);
    case 'constant':
      if (!Number.isFinite(s.value)) throw new LensError('bad-usage', `baseline constant must be a finite number, got ${s.value}`);
      return tf.fill([1, h, w, c], s.value) as tf.Tensor4D;
    case 'blur': {
      const sigma = s.sigma ?? 0.1 * Math.min(h, w);
      if (!Number.isFinite(sigma) || sigma < 0) throw new LensError('bad-usage', `baseline blur sigma must be ≥ 0 pixels, got ${sigma}`);
      return gaussianBlur(x, sigma);
    }
    case 'array': {
      const shape = s.shape.length === 4 && s.shape[0] === 1 ? s.shape.slice(1) : s.shape;
      if (shape.length !== 3 || shape[0] !== h || shape[1] !== w || shape[2] !== c || s.data.length !== sizeOf([h, w, c])) {
        throw new LensError('bad-input', `baseline has shape [${s.shape.join(', ')}], the model expects [${h}, ${w}, ${c}] (HWC)`);
      }
      for (let i = 0; i < s.data.length; i++) {
        if (!Number.isFinite(s.data[i])) throw new LensError('non-finite', `baseline contains NaN or Inf at index ${i}`);
      }
      return tf.tensor4d(s.data, [1, h, w, c]);
    }
  }
}

export function describeBaseline(s: BaselineSpec | undefined): string {
  if (!s || s.kind === 'zeros') return 'zeros';
  if (s.kind === 'constant') return `constant:${s.value}`;
  if (s.kind === 'blur') return s.sigma === undefined ? 'blur' : `blur:${s.sigma}`;
  return 'array';
}

function outputOf(prep: PreparedGraph, x: tf.Tensor4D, target: number): number {
  const acts = forward(prep, x);
  try {
    return acts[prep.graph.output].dataSync()[target];
  } finally {
    acts.forEach((t) => t.dispose());
  }
}

export function integratedGradients(ctx: MethodContext): MethodRun {
  const steps = checkCount(ctx.opts.steps ?? IG_DEFAULT_STEPS, '--steps');
  const batch = checkCount(ctx.opts.sampleBatch ?? defaultSampleBatch(ctx.prep.graph), 'sample batch', 4096);
  const x = ctx.x;
  const [, h, w, c] = x.shape;
  const base = makeBaseline(x, ctx.opts.baseline);
  const delta = tf.sub(x, base) as tf.Tensor4D;
  try {
    const fBase = outputOf(ctx.prep, base, ctx.target);
    const { grad, sums } = sampleGradientSum(ctx.prep, {
      target: ctx.target, total: steps, batch,
      samples: { kind: 'path', base: base.dataSync() as Float32Array, delta: delta.dataSync() as Float32Array, steps },
    }, ctx.pool, ctx.checkpoint);
    const relevance = tf.tidy(() => tf.mul(delta, tf.div(tf.tensor4d(grad, [1, h, w, c]), steps)));
    const total = tf.tidy(() => tf.sum(relevance).dataSync()[0]);
    const diff = ctx.logit - fBase;
    return {
      relevance, sums: sums.mean(steps), ruleText: signalRuleText(ctx.prep.graph, 'gradient'), composite: null,
      extra: {
        integratedGradients: {
          steps, baseline: describeBaseline(ctx.opts.baseline), outputAtInput: ctx.logit, outputAtBaseline: fBase,
          attributionSum: total, completenessError: diff !== 0 ? Math.abs(total - diff) / Math.abs(diff) : Math.abs(total),
        },
      },
    };
  } finally {
    base.dispose();
    delta.dispose();
  }
}

registerMethod('integrated-gradients', integratedGradients);
