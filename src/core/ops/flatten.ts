/** Flatten: [H, W, C] -> [H·W·C] in NHWC order; the backward reshapes back. */
import * as tf from '@tensorflow/tfjs-core';
import { sizeOf } from '../graph/ir';
import type { OpDef } from './types';
import { allInputsNonNegative, always, onnxReshape, reshapeBack } from './common';

export const flatten: OpDef = {
  kind: 'flatten',
  shape: (_n, ins) => [sizeOf(ins[0])],
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
