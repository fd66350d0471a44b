/** Fully connected layer, kernel [in, out]. */
import { valueSlot } from '../engine/prepared';
import * as tf from '@tensorflow/tfjs-core';
import type { OpDef } from './types';
import { weightedOp } from './weighted';
import { denseOver } from '../rules/linearOps';

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
  forward: (_p, _n, x, w, bias) => denseOver(x, (x2) => tf.fused.matMul({ a: x2, b: w as tf.Tensor2D, bias })),
  // an explicitly transposed (cached) kernel: matMul with transposeB is ~6× slower on wasm
  transposed: (prep, node, s, key, w) => denseOver(s, (s2) => tf.matMul(s2, prep.derived(node.id, `T:${key}`, () => tf.transpose(w()), valueSlot(`T:${key}`)) as tf.Tensor2D)),
}, {
  weight: (_e, node) => ({ data: node.params.kernel!.data, dims: node.params.kernel!.shape.slice() }),
  bias: (_e, node) => (node.params.bias ? { data: node.params.bias.data, dims: [node.params.bias.data.length] } : undefined),
  forward: (e, _n, x, w, b) => e.g.op('Gemm', b ? [x, w, b] : [x, w]),
  // Gemm with transB reads the kernel in place: no transposed copy of large dense weights
  transposed: (e, _n, s, w) => e.g.op('Gemm', [s, w], { transB: { i: 1 } }),
});
