/** 2-D convolution, kernel [kh, kw, inC, outC]; transposed as a conv with the flipped kernel (convOps). */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import { spatial } from '../graph/shapes';
import { conv2dFwd, conv2dTransposed, flipKernel } from '../engine/convOps';
import type { OpDef } from './types';
import { needRank } from './common';
import { weightedOp } from './weighted';

/** Output shape of conv2d / depthwiseConv2d. */
export function convShape(node: Pick<Node, 'op' | 'attrs' | 'params' | 'name'>, inputs: number[][]): number[] {
  const a = inputs[0];
  needRank(node, a, 3);
  const k = node.params.kernel!.shape;
  const c = node.attrs.conv!;
  if (k[2] !== a[2]) throw new Error(`layer '${node.name}': kernel expects ${k[2]} input channels, input has ${a[2]}`);
  const [oh, ow] = spatial(a, k[0], k[1], c.strides, c.padding, c.dilations);
  if (oh <= 0 || ow <= 0) throw new Error(`layer '${node.name}': input [${a.join(', ')}] is smaller than its kernel`);
  return [oh, ow, node.op === 'conv2d' ? k[3] : k[2] * k[3]];
}

export const conv2d: OpDef = weightedOp({ kind: 'conv2d', shape: convShape, group: 'conv' }, {
  weight: (prep, node) => prep.tensors[node.id].kernel!,
  bias: (prep, node) => prep.tensors[node.id].bias,
  forward: (prep, node, x, w, bias) => conv2dFwd(x as tf.Tensor4D, w as tf.Tensor4D, node.attrs.conv!, prep.tensors[node.id].pads!, bias),
  transposed: (prep, node, s, key, w) => {
    const inShape = prep.graph.nodes[node.inputs[0]].shape;
    const f = prep.derived(node.id, `flip:${key}`, () => flipKernel(w() as tf.Tensor4D));
    return conv2dTransposed(s as tf.Tensor4D, f, [inShape[0], inShape[1]], node.attrs.conv!, prep.tensors[node.id].pads!);
  },
});
