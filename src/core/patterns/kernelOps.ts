/**
 * Transposed linear ops with a kernel of one's own (a pattern A, W∘A, an indicator 1[w > 0], …) in
 * the layer's own geometry, next to linearOps' named variants. Kernels are derived once per key and
 * cached in the PreparedGraph; the key must identify the kernel's content (e.g. a PatternSet id).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import type { PreparedGraph } from '../engine/prepared';
import { conv2dTransposed, depthwiseTransposed, flipKernel } from '../engine/convOps';

/** The layer's weight: the kernel, or a stand-alone BatchNorm's scale. */
export function weightTensor(prep: PreparedGraph, node: Node): tf.Tensor {
  const t = prep.tensors[node.id];
  const w = node.op === 'batchNorm' ? t.scale : t.kernel;
  if (!w) throw new Error(`layer '${node.name}' has no weights`);
  return w;
}

/** A cached kernel of the layer's shape, made from its weight. */
export function customKernel(prep: PreparedGraph, node: Node, key: string, make: (w: tf.Tensor) => tf.Tensor): tf.Tensor {
  return prep.derived(node.id, `custom:${key}`, () => make(weightTensor(prep, node)));
}

/** Transpose of the layer's bias-free forward op with the kernel `key` applied to s (output-shaped). */
export function transposedWith(prep: PreparedGraph, node: Node, s: tf.Tensor, key: string, make: (w: tf.Tensor) => tf.Tensor): tf.Tensor {
  const inShape = prep.graph.nodes[node.inputs[0]].shape;
  const t = prep.tensors[node.id];
  switch (node.op) {
    case 'conv2d': {
      const f = prep.derived(node.id, `custom:${key}:flip`, () => flipKernel(customKernel(prep, node, key, make) as tf.Tensor4D));
      return conv2dTransposed(s as tf.Tensor4D, f, [inShape[0], inShape[1]], node.attrs.conv!, t.pads!);
    }
    case 'depthwiseConv2d': {
      const f = prep.derived(node.id, `custom:${key}:flip`, () => tf.reverse(customKernel(prep, node, key, make), [0, 1]) as tf.Tensor4D);
      return depthwiseTransposed(s as tf.Tensor4D, f, [inShape[0], inShape[1]], node.attrs.conv!, t.pads!);
    }
    case 'dense': return tf.matMul(s as tf.Tensor2D, customKernel(prep, node, key, make) as tf.Tensor2D, false, true);
    case 'batchNorm': return tf.mul(s, customKernel(prep, node, key, make));
    default: throw new Error(`not a linear op: ${node.op}`);
  }
}
