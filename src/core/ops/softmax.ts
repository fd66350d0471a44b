/** Softmax over the last axis inside the network (attention weights): rules softmax-taylor / held-constant. */
import * as tf from '@tensorflow/tfjs-core';
import type { OpDef } from './types';
import { never, sameShape } from './common';
import { softmaxRelevance } from '../rules/transformerRules';

export const softmax: OpDef = {
  kind: 'softmax',
  shape: sameShape,
  forward: (_p, _n, ins) => tf.softmax(ins[0]),
  lrp: (node, r, ctx) => softmaxRelevance(node, r, ctx, ctx.rules.get(node.id)!),
  signal: (node, s, ctx) => {
    const y = ctx.acts[node.id];
    return [tf.mul(y, tf.sub(s, tf.sum(tf.mul(s, y), -1, true)))];
  },
  lrpRuleText: () => 'rule',
  signalRuleText: () => 'gradient',
  nonNegative: () => true,
  carriesBounds: never,
  rules: ['softmax-taylor', 'held-constant'],
};
