/** Fully connected layer, kernel [in, out]. */
import { valueSlot } from '../engine/prepared';
import * as tf from '@tensorflow/tfjs-core';
import type { OpDef } from './types';
import { needRank } from './common';
import { weightedOp } from './weighted';

export const dense: OpDef = weightedOp({
  kind: 'dense',
  group: 'dense',
  shape: (node, inputs) => {
    const a = inputs[0];
    needRank(node, a, 1);
    const k = node.params.kernel!.shape;
    if (k[0] !== a[0]) throw new Error(`layer '${node.name}': kernel expects ${k[0]} inputs, input has ${a[0]}`);
    return [k[1]];
  },
}, {
  weight: (prep, node) => prep.tensors[node.id].kernel!,
  bias: (prep, node) => prep.tensors[node.id].bias,
  forward: (_p, _n, x, w, bias) => tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias }),
  // an explicitly transposed (cached) kernel: matMul with transposeB is ~6× slower on wasm
  transposed: (prep, node, s, key, w) => tf.matMul(s as tf.Tensor2D, prep.derived(node.id, `T:${key}`, () => tf.transpose(w()), valueSlot(`T:${key}`)) as tf.Tensor2D),
}, {
  weight: (_e, node) => ({ data: node.params.kernel!.data, dims: node.params.kernel!.shape.slice() }),
  bias: (_e, node) => (node.params.bias ? { data: node.params.bias.data, dims: [node.params.bias.data.length] } : undefined),
  forward: (e, _n, x, w, b) => e.g.op('Gemm', b ? [x, w, b] : [x, w]),
  // Gemm with transB reads the kernel in place: no transposed copy of large dense weights
  transposed: (e, _n, s, w) => e.g.op('Gemm', [s, w], { transB: { i: 1 } }),
});
