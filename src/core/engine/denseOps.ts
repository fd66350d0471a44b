/**
 * Dense products with a large kernel as matMul's first operand. XNNPACK packs the second operand of a
 * product into a copy it keeps while that tensor lives (VGG16's 25088 × 4096 kernel: 392 MB more per
 * kernel variant), and the usual transpose needs a transposed copy of the kernel: with the kernel first,
 * only the small activation or relevance rows are packed and no kernel copy is made.
 */
import * as tf from '@tensorflow/tfjs-core';

/** x·w (+ bias) for x [m, k], w [k, n], computed as (wᵀ·xᵀ)ᵀ. */
export function kernelFirstForward(x: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const z = tf.transpose(tf.matMul(w, tf.transpose(x), true, false));
    return (bias ? tf.add(z, bias) : z) as tf.Tensor2D;
  });
}

/** s·wᵀ for s [m, n], w [k, n], computed as (w·sᵀ)ᵀ. */
export function kernelFirstTransposed(s: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.transpose(tf.matMul(w, tf.transpose(s))) as tf.Tensor2D);
}
