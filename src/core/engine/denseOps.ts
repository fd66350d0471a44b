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

/** A kernel [rows, cols] handed out in blocks of `step` rows, each made on demand (and freed by the caller). */
export interface KernelBlocks {
  rows: number;
  step: number;
  make(k0: number, k1: number): tf.Tensor2D;
}

function eachBlock(kb: KernelBlocks, f: (k0: number, k1: number) => void): void {
  for (let k0 = 0; k0 < kb.rows; k0 += kb.step) f(k0, Math.min(kb.rows, k0 + kb.step));
}

/** x·w (+ bias) block by block: Σ over row blocks of x[:, k0:k1]·w[k0:k1, :], each block kernel first. */
export function blockForward(x: tf.Tensor2D, kb: KernelBlocks, bias?: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    let zT: tf.Tensor | undefined;
    eachBlock(kb, (k0, k1) => {
      const part = tf.tidy(() => tf.matMul(kb.make(k0, k1), tf.transpose(tf.slice(x, [0, k0], [-1, k1 - k0])), true, false));
      const sum = zT ? tf.add(zT, part) : part;
      if (zT) {
        zT.dispose();
        part.dispose();
      }
      zT = sum;
    });
    const z = tf.transpose(zT!);
    return (bias ? tf.add(z, bias) : z) as tf.Tensor2D;
  });
}

/** s·wᵀ block by block: the columns k0:k1 of the result are s·w[k0:k1, :]ᵀ. */
export function blockTransposed(s: tf.Tensor2D, kb: KernelBlocks): tf.Tensor2D {
  return tf.tidy(() => {
    const sT = tf.transpose(s);
    const parts: tf.Tensor[] = [];
    eachBlock(kb, (k0, k1) => parts.push(tf.tidy(() => tf.matMul(kb.make(k0, k1), sT))));
    return tf.transpose(parts.length === 1 ? parts[0] : tf.concat(parts, 0)) as tf.Tensor2D;
  });
}
