/** Flatten: [H, W, C] -> [H·W·C] in NHWC order; the backward reshapes back. */
import * as tf from '@tensorflow/tfjs-core';
import { sizeOf } from '../graph/ir';
import type { OpDef } from './types';
import { allInputsNonNegative, always, reshapeBack } from './common';

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
};
