/** Depthwise convolution, kernel [kh, kw, inC, multiplier]; transposed with the spatially flipped kernel. */
import * as tf from '@tensorflow/tfjs-core';
import { depthwiseFwd, depthwiseTransposed } from '../engine/convOps';
import type { OpDef } from './types';
import { convShape } from './conv2d';
import { weightedOp } from './weighted';

export const depthwiseConv2d: OpDef = weightedOp({ kind: 'depthwiseConv2d', shape: convShape, group: 'conv' }, {
  weight: (prep, node) => prep.tensors[node.id].kernel!,
  bias: (prep, node) => prep.tensors[node.id].bias,
  forward: (prep, node, x, w, bias) => {
    const y = depthwiseFwd(x as tf.Tensor4D, w as tf.Tensor4D, node.attrs.conv!, prep.tensors[node.id].pads!);
    return bias ? tf.add(y, bias) : y;
  },
  transposed: (prep, node, s, key, w) => {
    const inShape = prep.graph.nodes[node.inputs[0]].shape;
    const f = prep.derived(node.id, `flip:${key}`, () => tf.reverse(w(), [0, 1]) as tf.Tensor4D);
    return depthwiseTransposed(s as tf.Tensor4D, f, [inShape[0], inShape[1]], node.attrs.conv!, prep.tensors[node.id].pads!);
  },
});
