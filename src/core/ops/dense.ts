/** Fully connected layer, kernel [in, out]. */
import { valueSlot } from '../engine/prepared';
import * as tf from '@tensorflow/tfjs-core';
import type { OpDef } from './types';
import { weightedOp } from './weighted';
import { denseOver } from '../rules/linearOps';
import { kernelFirstForward, kernelFirstTransposed } from '../engine/denseOps';
import type { Emitter } from '../onnx/emitter';
import type { Node } from '../graph/ir';
import { kernelOf } from '../onnx/tensorEmit';

export const dense: OpDef = weightedOp({
  kind: 'dense',
  group: 'dense',
  shape: (node, inputs) => {
    // over the last axis: [K] -> [N], [T, K] -> [T, N] (token-wise linear layers)
    const a = inputs[0];
    if (!a || a.length < 1) throw new Error(`layer '${node.name}' (dense) expects an input of rank ≥ 1`);
    const k = node.params.kernel!.shape;
    const last = a[a.length - 1];
    if (k[0] !== last) throw new Error(`layer '${node.name}': kernel expects ${k[0]} inputs, input has ${last}`);
    return [...a.slice(0, -1), k[1]];
  },
}, {
  weight: (prep, node) => prep.tensors[node.id].kernel!,
  bias: (prep, node) => prep.tensors[node.id].bias,
  forward: (prep, node, x, w, bias) => denseOver(x, (x2) => (prep.largeKernel(node.id)
    ? kernelFirstForward(x2, w as tf.Tensor2D, bias)
    : tf.fused.matMul({ a: x2, b: w as tf.Tensor2D, bias }))),
  // an explicitly transposed (cached) kernel: matMul with transposeB is ~6× slower on wasm; a large kernel
  // goes first instead (engine/denseOps.ts), without a transposed copy
  transposed: (prep, node, s, key, w) => denseOver(s, (s2) => (prep.largeKernel(node.id)
    ? kernelFirstTransposed(s2, w() as tf.Tensor2D)
    : tf.matMul(s2, prep.derived(node.id, `T:${key}`, () => tf.transpose(w()), valueSlot(`T:${key}`)) as tf.Tensor2D))),
}, {
  weight: (_e, node) => ({ data: node.params.kernel!.data, dims: node.params.kernel!.shape.slice() }),
  // over the channel axis of a compiled map ([N, C, H, W]), else over the last axis
  bias: (e, node) => (node.params.bias ? { data: node.params.bias.data, dims: e.isMap(node.id) ? [node.params.bias.data.length, 1, 1] : [node.params.bias.data.length] } : undefined),
  forward: denseForward,
  forwardBiased: denseForward,
  // Gemm with transB reads the kernel in place: no transposed copy of large dense weights
  transposed: (e, node, s, k) => {
    const w = kernelOf(e, k);
    if (node.shape.length === 1) return e.g.op('Gemm', [s, w], { transB: { i: 1 } });
    const inShape = e.graph.nodes[node.inputs[0]].shape;
    return e.fromIr(node.inputs[0], overRows(e, e.toIr(node.id, s), node.params.kernel!.shape[1], inShape, (s2) => e.g.op('Gemm', [s2, w], { transB: { i: 1 } })));
  },
});

/** Compiled dense, the bias (if given) inside the Gemm of a vector. */
function denseForward(e: Emitter, node: Node, x: string, w: string, b?: string): string {
  if (node.shape.length === 1) return e.g.op('Gemm', b ? [x, w, b] : [x, w]);
  const y = e.fromIr(node.id, overRows(e, e.toIr(node.inputs[0], x), node.params.kernel!.shape[0], node.shape, (x2) => e.g.op('Gemm', [x2, w])));
  return b ? e.add(y, b) : y;
}

/**
 * Compiled dense over the last axis of any rank (token-wise linear layers): the rows as a 2-D Gemm
 * (rather than MatMul, whose transpose would need a transposed copy of the kernel), reshaped back.
 */
function overRows(e: Emitter, x: string, k: number, out: number[], f: (x2: string) => string): string {
  return e.g.op('Reshape', [f(e.g.op('Reshape', [x, e.g.ints([-1, k])])), e.g.ints([-1, ...out])]);
}
