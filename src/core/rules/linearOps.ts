/**
 * The three weighted ops (conv2d, depthwise, dense) and a stand-alone BatchNorm (a diagonal weight)
 * behind one interface: forward without bias and transposed, each with a named kernel variant
 * (w, w+, w-, w+γw⁺, w², ones) that is derived once and cached in the PreparedGraph.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import type { PreparedGraph } from '../engine/prepared';
import { conv2dFwd, conv2dTransposed, depthwiseFwd, depthwiseTransposed, flipKernel } from '../engine/convOps';

export type KernelVariant = 'w' | 'w+' | 'w-' | `wg:${number}` | `wgn:${number}` | 'w2' | 'ones';

function weightOf(prep: PreparedGraph, node: Node): tf.Tensor {
  const t = prep.tensors[node.id];
  return (node.op === 'batchNorm' ? t.scale : t.kernel)!;
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
  return prep.derived(node.id, v, () => deriveVariant(weightOf(prep, node), v));
}

function flipped(prep: PreparedGraph, node: Node, v: KernelVariant): tf.Tensor4D {
  return prep.derived(node.id, `flip:${v}`, () => {
    const w = kernel(prep, node, v) as tf.Tensor4D;
    return node.op === 'conv2d' ? flipKernel(w) : tf.reverse(w, [0, 1]);
  });
}

/** Bias variant matching the kernel variant (b, b⁺, b⁻, b+γb⁺), or undefined when there is none. */
export function biasVariant(prep: PreparedGraph, node: Node, v: 'b' | 'b+' | 'b-' | `bg:${number}` | `bgn:${number}`): tf.Tensor | undefined {
  const t = prep.tensors[node.id];
  const b = node.op === 'batchNorm' ? t.shift : t.bias;
  if (!b) return undefined;
  return prep.derived(node.id, v, () => {
    if (v === 'b') return b.clone();
    if (v === 'b+') return tf.relu(b);
    if (v === 'b-') return tf.minimum(b, 0);
    if (v.startsWith('bgn:')) return tf.add(b, tf.mul(tf.minimum(b, 0), Number(v.slice(4))));
    return tf.add(b, tf.mul(tf.relu(b), Number(v.slice(3))));
  });
}

/** A dense layer applied over the last axis of a tensor of any rank (token-wise linear layers). */
export function denseOver(x: tf.Tensor, f: (x2: tf.Tensor2D) => tf.Tensor): tf.Tensor {
  if (x.rank === 2) return f(x as tf.Tensor2D);
  const lead = x.shape.slice(0, -1);
  const y = f(tf.reshape(x, [-1, x.shape[x.rank - 1]]));
  return tf.reshape(y, [...lead, y.shape[1]!]);
}

/** z = x ⋆ w_v (+ bias, fused where the backend can). */
export function linearForward(prep: PreparedGraph, node: Node, x: tf.Tensor, v: KernelVariant, bias?: tf.Tensor): tf.Tensor {
  const w = kernel(prep, node, v);
  const t = prep.tensors[node.id];
  const plus = (y: tf.Tensor): tf.Tensor => (bias ? tf.add(y, bias) : y);
  switch (node.op) {
    case 'conv2d': return conv2dFwd(x as tf.Tensor4D, w as tf.Tensor4D, node.attrs.conv!, t.pads!, bias);
    case 'depthwiseConv2d': return plus(depthwiseFwd(x as tf.Tensor4D, w as tf.Tensor4D, node.attrs.conv!, t.pads!));
    case 'dense': return denseOver(x, (x2) => tf.fused.matMul({ a: x2, b: w as tf.Tensor2D, bias }));
    case 'batchNorm': return plus(tf.mul(x, w));
    default: throw new Error(`not a linear op: ${node.op}`);
  }
}

/** The transpose of linearForward applied to s (shape of the node's output) -> shape of its input. */
export function linearTransposed(prep: PreparedGraph, node: Node, s: tf.Tensor, v: KernelVariant): tf.Tensor {
  const inShape = prep.graph.nodes[node.inputs[0]].shape;
  const t = prep.tensors[node.id];
  switch (node.op) {
    case 'conv2d':
      return conv2dTransposed(s as tf.Tensor4D, flipped(prep, node, v), [inShape[0], inShape[1]], node.attrs.conv!, t.pads!);
    case 'depthwiseConv2d':
      return depthwiseTransposed(s as tf.Tensor4D, flipped(prep, node, v), [inShape[0], inShape[1]], node.attrs.conv!, t.pads!);
    case 'dense': {
      // an explicitly transposed (cached) kernel: matMul with transposeB is ~6× slower on wasm
      const kt = prep.derived(node.id, `T:${v}`, () => tf.transpose(kernel(prep, node, v)));
      return denseOver(s, (s2) => tf.matMul(s2, kt as tf.Tensor2D));
    }
    case 'batchNorm': return tf.mul(s, kernel(prep, node, v));
    default: throw new Error(`not a linear op: ${node.op}`);
  }
}
