/**
 * Transposed linear ops with a kernel of one's own (a pattern A, W∘A, an indicator 1[w > 0], …) in
 * the layer's own geometry, next to linearOps' named variants. Kernels are derived once per key and
 * cached in the PreparedGraph; the key must identify the kernel's content (e.g. a PatternSet id).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import type { PreparedGraph } from '../engine/prepared';
import { linearOf } from '../rules/linearOps';

/** The layer's weight: the kernel, or a stand-alone BatchNorm's scale. */
export function weightTensor(prep: PreparedGraph, node: Node): tf.Tensor {
  return linearOf(node).weight(prep, node);
}

/** A cached kernel of the layer's shape, made from its weight. */
export function customKernel(prep: PreparedGraph, node: Node, key: string, make: (w: tf.Tensor) => tf.Tensor): tf.Tensor {
  return prep.derived(node.id, `custom:${key}`, () => make(weightTensor(prep, node)));
}

/** Transpose of the layer's bias-free forward op with the kernel `key` applied to s (output-shaped). */
export function transposedWith(prep: PreparedGraph, node: Node, s: tf.Tensor, key: string, make: (w: tf.Tensor) => tf.Tensor): tf.Tensor {
  return linearOf(node).transposed(prep, node, s, `custom:${key}`, () => customKernel(prep, node, key, make));
}
