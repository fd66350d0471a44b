/**
 * The sample loop of SmoothGrad and Integrated Gradients as a job: batch b holds samples
 * [b·batch, min((b+1)·batch, total)); each batch's result is its gradient summed over its rows and
 * its per-node sums. Batches are added in batch order, so the result does not depend on which thread
 * computed which batch. The sample inputs depend on the sample index only (SmoothGrad's noise is seeded
 * per sample), so a different batch size changes nothing but the float32 summation order.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NodeSums } from '../engine/backward';
import type { PreparedGraph } from '../engine/prepared';
import { batchGradient, SumAccumulator } from '../methods/gradient';
import { ownBuffer, registerJob, type JobSpec } from './jobs';
import { runJob, type SampleWorkerPool } from './pool';

/** How sample i is made from the input. */
export type SampleSpec =
  /** SmoothGrad: x + N(0, std²), the noise of sample i drawn with seed sampleSeed(seed, i) */
  | { kind: 'noise'; x: Float32Array; std: number; seed: number }
  /** Integrated Gradients: base + α_i · delta with α_i = (i + 0.5) / steps (midpoint rule) */
  | { kind: 'path'; base: Float32Array; delta: Float32Array; steps: number };

export interface GradientJobSpec extends JobSpec {
  kind: 'gradient';
  target: number;
  samples: SampleSpec;
  /** number of samples */
  total: number;
  /** samples per forward+backward batch */
  batch: number;
  /** also Σ of the squared gradients (SmoothGrad², VarGrad) */
  squares?: boolean;
}

export interface GradientBatch {
  /** Σ over the batch's rows of ∂f_target/∂x, [H·W·C] */
  grad: Float32Array;
  /** Σ over the batch's rows of the squared gradient, when the spec asks for squares */
  sq?: Float32Array;
  sums: (NodeSums | undefined)[];
}

/**
 * The tf.randomNormal seed of SmoothGrad sample `index` under run seed `seed`: a 32-bit mix of both
 * (never 0: tfjs draws an unseeded stream for seed 0). Per sample, not per batch, so a fixed seed gives
 * the same noise for any batch size or worker count.
 */
export function sampleSeed(seed: number, index: number): number {
  let h = (Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h === 0 ? 1 : h;
}

/** Samples [k0, k0 + n) of a spec as a batch [n, H, W, C]. */
function sampleBatch(samples: SampleSpec, t: tf.Tensor4D[], k0: number, n: number): tf.Tensor4D {
  const [, h, w, c] = t[0].shape;
  return tf.tidy(() => {
    if (samples.kind === 'path') {
      const alphas = Array.from({ length: n }, (_, i) => (k0 + i + 0.5) / samples.steps);
      return tf.add(t[0], tf.mul(tf.tensor4d(alphas, [n, 1, 1, 1]), t[1])) as tf.Tensor4D;
    }
    const base = tf.broadcastTo(t[0], [n, h, w, c]);
    if (samples.std === 0) return base.clone() as tf.Tensor4D;
    const noise = Array.from({ length: n }, (_, i) => tf.randomNormal([1, h, w, c], 0, samples.std, 'float32', sampleSeed(samples.seed, k0 + i)));
    return tf.add(base, n === 1 ? noise[0] : tf.concat(noise, 0)) as tf.Tensor4D;
  });
}

registerJob<GradientJobSpec, GradientBatch>('gradient', (prep, spec) => {
  const [h, w, c] = prep.graph.nodes[prep.graph.input].shape;
  const s = spec.samples;
  const arrays = s.kind === 'path' ? [s.base, s.delta] : [s.x];
  const t = arrays.map((a) => tf.tensor4d(a, [1, h, w, c]));
  return {
    count: Math.ceil(spec.total / spec.batch),
    run(b, checkpoint) {
      const k0 = b * spec.batch;
      const xs = sampleBatch(s, t, k0, Math.min(spec.batch, spec.total - k0));
      try {
        const g = batchGradient(prep, xs, spec.target, checkpoint);
        try {
          const grad = tf.tidy(() => tf.sum(g.grad, 0).dataSync() as Float32Array);
          const sq = spec.squares ? tf.tidy(() => tf.sum(tf.square(g.grad), 0).dataSync() as Float32Array) : undefined;
          return { grad: new Float32Array(grad), ...(sq ? { sq: new Float32Array(sq) } : {}), sums: g.sums };
        } finally {
          g.grad.dispose();
        }
      } finally {
        xs.dispose();
      }
    },
    transfer: (r) => [...ownBuffer(r.grad), ...(r.sq ? ownBuffer(r.sq) : [])],
    dispose: () => t.forEach((x) => x.dispose()),
  };
});

/**
 * Σ over all samples of the target's gradient, [H·W·C] in float32, and the per-node sums: batch
 * results added in batch order as they come (float32, as a running tensor sum on the backend would).
 */
export function sampleGradientSum(
  prep: PreparedGraph, spec: Omit<GradientJobSpec, 'kind'>, pool: SampleWorkerPool | undefined, checkpoint: () => void,
): { grad: Float32Array; sq?: Float32Array; sums: SumAccumulator } {
  let grad: Float32Array | undefined;
  let sq: Float32Array | undefined;
  const sums = new SumAccumulator();
  runJob<GradientBatch>(prep, { kind: 'gradient', ...spec }, pool, checkpoint, (_, r) => {
    grad ??= new Float32Array(r.grad.length);
    for (let i = 0; i < grad.length; i++) grad[i] += r.grad[i];
    if (r.sq) {
      sq ??= new Float32Array(r.sq.length);
      for (let i = 0; i < sq.length; i++) sq[i] += r.sq[i];
    }
    sums.add(r.sums);
  });
  if (!grad) throw new RangeError('no samples');
  return { grad, ...(sq ? { sq } : {}), sums };
}
