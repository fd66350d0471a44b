/**
 * Dense products with a large kernel that keep no copy of it. XNNPACK packs the second operand of a
 * product into a copy it keeps while that tensor lives (VGG16's 25088 × 4096 kernel: 392 MB more per
 * kernel variant), and the usual transpose needs a transposed copy of the kernel. With the kernel as the
 * first operand only the small activation or relevance rows are packed and no kernel copy is made. The
 * forward of a single row does that too (wᵀ·xᵀ); for several rows it multiplies as usual, packing the
 * kernel: the transposed-operand product is a plain loop (16 rows of VGG16's kernel: 20 s, packed 0.7 s).
 */
import * as tf from '@tensorflow/tfjs-core';

/** x·w for x [m, k], w [k, n]: one row as (wᵀ·xᵀ)ᵀ, reading w in place; more rows packed. */
function times(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  if (x.shape[0] !== 1) return tf.matMul(x, w);
  return tf.tidy(() => tf.reshape(tf.matMul(w, tf.reshape(x, [x.shape[1], 1]), true, false), [1, w.shape[1]]) as tf.Tensor2D);
}

/** x·w (+ bias) for x [m, k], w [k, n]. */
export function kernelFirstForward(x: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor): tf.Tensor2D {
  if (x.shape[0] !== 1) return tf.fused.matMul({ a: x, b: w, bias }) as tf.Tensor2D;
  return tf.tidy(() => {
    const z = times(x, w);
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

/** x·w (+ bias) block by block: Σ over row blocks of x[:, k0:k1]·w[k0:k1, :]. */
export function blockForward(x: tf.Tensor2D, kb: KernelBlocks, bias?: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    let z: tf.Tensor | undefined;
    eachBlock(kb, (k0, k1) => {
      const part = tf.tidy(() => times(tf.slice(x, [0, k0], [-1, k1 - k0]), kb.make(k0, k1)));
      const sum = z ? tf.add(z, part) : part;
      if (z) {
        z.dispose();
        part.dispose();
      }
      z = sum;
    });
    return (bias ? tf.add(z!, bias) : z!) as tf.Tensor2D;
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
