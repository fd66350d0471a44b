/** Mean over H and W: [H, W, C] -> [C]. LRP splits by the z-rule, the gradient spreads by 1/(H·W). */
import * as tf from '@tensorflow/tfjs-core';
import type { OpDef } from './types';
import { allInputsNonNegative, needRank, never, zRuleSignal } from './common';

export const globalAvgPool: OpDef = {
  kind: 'globalAvgPool',
  shape: (node, ins) => {
    needRank(node, ins[0], 3);
    return [ins[0][2]];
  },
  forward: (_p, _n, ins) => tf.mean(ins[0], [1, 2]),
  lrp: (node, r, ctx) => {
    const a = ctx.acts[node.inputs[0]];
    const [n, h, w, c] = a.shape;
    const s = tf.reshape(tf.div(zRuleSignal(node, r, ctx), h * w), [n, 1, 1, c]);
    return [tf.mul(a, s)];
  },
  signal: (node, s, ctx) => {
    const [n, h, w, c] = ctx.acts[node.inputs[0]].shape;
    return [tf.broadcastTo(tf.reshape(tf.div(s, h * w), [n, 1, 1, c]), [n, h, w, c])];
  },
  lrpRuleText: () => 'z-rule',
  signalRuleText: () => 'gradient',
  nonNegative: allInputsNonNegative,
  carriesBounds: never,
};
