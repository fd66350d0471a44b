/**
 * The three weighted ops (conv2d, depthwise, dense) and a stand-alone BatchNorm (a diagonal weight)
 * behind one interface: forward without bias and transposed, each with a named kernel variant
 * (w, w+, w-, w+γw⁺, w², ones) that is derived once and cached in the PreparedGraph. The geometry of
 * each op (its forward and transpose) is its op-table entry's LinearOp.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import { valueSlot, type PreparedGraph } from '../engine/prepared';
import { opDef } from '../ops/lookup';
import { blockForward, blockTransposed, type KernelBlocks } from '../engine/denseOps';
import type { LinearOp } from '../ops/types';

export type KernelVariant = 'w' | 'w+' | 'w-' | `wg:${number}` | `wgn:${number}` | 'w2' | 'ones';

/** The op table's LinearOp of a weighted node. */
export function linearOf(node: Node): LinearOp {
  const lin = opDef(node.op).linear;
  if (!lin) throw new Error(`not a linear op: ${node.op}`);
  return lin;
}

function weightOf(prep: PreparedGraph, node: Node): tf.Tensor {
  return linearOf(node).weight(prep, node);
}

function deriveVariant(w: tf.Tensor, v: KernelVariant): tf.Tensor {
  if (v === 'w') return w.clone();
  if (v === 'w+') return tf.relu(w);
  if (v === 'w-') return tf.minimum(w, 0);
  if (v === 'w2') return tf.square(w);
  if (v === 'ones') return tf.onesLike(w);
  // wg: w + γw⁺ (favours positive contributions), wgn: w + γw⁻ (favours negative ones)
  if (v.startsWith('wgn:')) return tf.add(w, tf.mul(tf.minimum(w, 0), Number(v.slice(4))));
  return tf.add(w, tf.mul(tf.relu(w), Number(v.slice(3))));
}

export function kernel(prep: PreparedGraph, node: Node, v: KernelVariant): tf.Tensor {
  // the layer's own kernel is used as it is: a copy of VGG16's largest would take 392 MB more
  if (v === 'w') return weightOf(prep, node);
  return prep.derived(node.id, v, () => deriveVariant(weightOf(prep, node), v), valueSlot(v));
}

/** Bias variant matching the kernel variant (b, b⁺, b⁻, b+γb⁺), or undefined when there is none. */
export function biasVariant(prep: PreparedGraph, node: Node, v: 'b' | 'b+' | 'b-' | `bg:${number}` | `bgn:${number}`): tf.Tensor | undefined {
  const b = linearOf(node).bias(prep, node);
  if (!b) return undefined;
  return prep.derived(node.id, v, () => {
    if (v === 'b') return b.clone();
    if (v === 'b+') return tf.relu(b);
    if (v === 'b-') return tf.minimum(b, 0);
    if (v.startsWith('bgn:')) return tf.add(b, tf.mul(tf.minimum(b, 0), Number(v.slice(4))));
    return tf.add(b, tf.mul(tf.relu(b), Number(v.slice(3))));
  }, valueSlot(v));
}

/**
 * A variant of a large dense kernel in blocks of rows, each derived when a product needs it: the whole
 * variant is never held (the layer's own kernel, 'w', is used whole: it is no copy).
 */
function variantBlocks(prep: PreparedGraph, node: Node, v: KernelVariant): KernelBlocks | undefined {
  if (v === 'w' || node.op !== 'dense' || !prep.largeKernel(node.id)) return undefined;
  const [rows, cols] = node.params.kernel!.shape;
  return {
    rows,
    step: Math.max(1, Math.floor(prep.blockBytes / (4 * cols))),
    make: (k0, k1) => tf.tidy(() => deriveVariant(prep.kernelRows(node.id, k0, k1), v) as tf.Tensor2D),
  };
}

/** z = x ⋆ w_v (+ bias, fused where the backend can). */
export function linearForward(prep: PreparedGraph, node: Node, x: tf.Tensor, v: KernelVariant, bias?: tf.Tensor): tf.Tensor {
  const kb = variantBlocks(prep, node, v);
  if (kb) return denseOver(x, (x2) => blockForward(x2, kb, bias));
  return linearOf(node).forward(prep, node, x, kernel(prep, node, v), bias);
}

/** The transpose of linearForward applied to s (shape of the node's output) -> shape of its input. */
export function linearTransposed(prep: PreparedGraph, node: Node, s: tf.Tensor, v: KernelVariant): tf.Tensor {
  const kb = variantBlocks(prep, node, v);
  if (kb) return denseOver(s, (s2) => blockTransposed(s2, kb));
  return linearOf(node).transposed(prep, node, s, v, () => kernel(prep, node, v));
}

/** A dense layer applied over the last axis of a tensor of any rank (token-wise linear layers). */
export function denseOver(x: tf.Tensor, f: (x2: tf.Tensor2D) => tf.Tensor): tf.Tensor {
  if (x.rank === 2) return f(x as tf.Tensor2D);
  const lead = x.shape.slice(0, -1);
  const y = f(tf.reshape(x, [-1, x.shape[x.rank - 1]]));
  return tf.reshape(y, [...lead, y.shape[1]!]);
}
