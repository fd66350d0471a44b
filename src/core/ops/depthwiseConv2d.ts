/** Depthwise convolution, kernel [kh, kw, inC, multiplier]; transposed with the spatially flipped kernel. */
import { valueSlot } from '../engine/prepared';
import * as tf from '@tensorflow/tfjs-core';
import { depthwiseFwd, depthwiseTransposed } from '../engine/convOps';
import type { OpDef } from './types';
import { cachedLayout, convForward, convForwardBiased, convShape, convTransposed, mapBias } from './conv2d';
import type { OnnxLinear } from '../onnx/emitter';

const onnxDepthwise: OnnxLinear = {
  weight: (e, node) => cachedLayout(e, node.params.kernel!, () => {
    // [kh, kw, C, m] -> [C·m, 1, kh, kw]: output channel c·m + j, as TF orders them
    const k = node.params.kernel!;
    const [kh, kw, c, m] = k.shape;
    const out = new Float32Array(k.data.length);
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < c; i++) for (let j = 0; j < m; j++) {
      out[((i * m + j) * kh + y) * kw + x] = k.data[((y * kw + x) * c + i) * m + j];
    }
    return { data: out, dims: [c * m, 1, kh, kw] };
  }),
  weightInGraph: (e, node) => {
    const k = node.params.kernel!;
    const [kh, kw, c, m] = k.shape;
    const raw = e.g.weight(k.data, k.shape, `k_${node.id}`);
    const t = e.g.op('Transpose', [raw], { perm: { ints: [2, 3, 0, 1] } });
    return { name: e.g.op('Reshape', [t, e.g.ints([c * m, 1, kh, kw])]), dims: [c * m, 1, kh, kw] };
  },
  bias: (_e, node) => mapBias(node),
  forward: (e, node, x, w, b) => convForward(e, node, x, w, b, node.params.kernel!.shape[2]),
  forwardBiased: (e, node, x, w, b) => convForwardBiased(e, node, x, w, b, node.params.kernel!.shape[2]),
  transposed: (e, node, s, w) => convTransposed(e, node, s, w, node.params.kernel!.shape[2]),
};
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
    const f = prep.derived(node.id, `flip:${key}`, () => tf.reverse(w(), [0, 1]) as tf.Tensor4D, valueSlot(`flip:${key}`));
    return depthwiseTransposed(s as tf.Tensor4D, f, [inShape[0], inShape[1]], node.attrs.conv!, prep.tensors[node.id].pads!);
  },
}, onnxDepthwise);
