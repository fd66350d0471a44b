/** Max pooling; every backward routes the signal to the window's first maximum (winner-take-all). */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import { poolShape } from '../graph/shapes';
import { maxPoolBackward } from '../engine/poolOps';
import type { BackwardContext } from '../engine/backward';
import type { OpDef } from './types';
import { allInputsNonNegative, always } from './common';

function winners(node: Node, s: tf.Tensor, ctx: BackwardContext): tf.Tensor[] {
  return [maxPoolBackward(ctx.acts[node.inputs[0]] as tf.Tensor4D, ctx.acts[node.id] as tf.Tensor4D, s as tf.Tensor4D, node.attrs.pool!)];
}

export const maxPool: OpDef = {
  kind: 'maxPool',
  shape: poolShape,
  forward: (_p, node, ins) => {
    const p = node.attrs.pool!;
    let x = ins[0] as tf.Tensor4D;
    let pad: 'same' | 'valid' = 'valid';
    if (Array.isArray(p.padding)) x = tf.pad(x, [[0, 0], p.padding[0], p.padding[1], [0, 0]], -Infinity);
    else pad = p.padding;
    return tf.maxPool(x, p.poolSize, p.strides, pad);
  },
  lrp: winners,
  signal: winners,
  lrpRuleText: () => 'winner-take-all',
  signalRuleText: () => 'winner-take-all',
  nonNegative: allInputsNonNegative,
  carriesBounds: always,
};
