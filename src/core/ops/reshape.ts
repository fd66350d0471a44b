/** Reshape to attrs.targetShape (without batch; one -1 allowed). */
import * as tf from '@tensorflow/tfjs-core';
import { sizeOf } from '../graph/ir';
import type { OpDef } from './types';
import { allInputsNonNegative, always, onnxReshape, reshapeBack } from './common';

export const reshape: OpDef = {
  kind: 'reshape',
  shape: (node, ins) => {
    const a = ins[0];
    const t = node.attrs.targetShape!.slice();
    const known = t.filter((d) => d !== -1).reduce((x, y) => x * y, 1);
    const iu = t.indexOf(-1);
    if (iu >= 0) t[iu] = sizeOf(a) / known;
    if (sizeOf(t) !== sizeOf(a) || !t.every(Number.isInteger)) {
      throw new Error(`layer '${node.name}': cannot reshape [${a.join(', ')}] to [${node.attrs.targetShape!.join(', ')}]`);
    }
    return t;
  },
  forward: (_p, node, ins) => tf.reshape(ins[0], [ins[0].shape[0], ...node.shape]),
  lrp: (node, r, ctx) => reshapeBack(node, r, ctx),
  signal: (node, s, ctx) => reshapeBack(node, s, ctx),
  lrpRuleText: () => 'pass',
  signalRuleText: () => 'gradient',
  nonNegative: allInputsNonNegative,
  carriesBounds: always,
  onnx: {
    forward: (e, node, ins) => onnxReshape(e, ins[0], e.isMap(node.inputs[0]), node.shape, e.isMap(node.id)),
    lrp: (e, node, r) => [onnxReshape(e, r, e.isMap(node.id), e.graph.nodes[node.inputs[0]].shape, e.isMap(node.inputs[0]))],
    signal: (e, node, s) => [onnxReshape(e, s, e.isMap(node.id), e.graph.nodes[node.inputs[0]].shape, e.isMap(node.inputs[0]))],
  },
};
