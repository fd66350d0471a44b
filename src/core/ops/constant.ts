/**
 * A learnt constant (params.value): class token, position embedding, attention bias and masks. Its one
 * input is the graph input, read for the batch size only; the constant absorbs the relevance that
 * reaches it (the conservation table's bias share) and passes nothing back.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { OpDef } from './types';
import { never } from './common';
import { tensorForward } from '../engine/tensorOps';
import { constantRelevance } from '../rules/transformerRules';

export const constant: OpDef = {
  kind: 'constant',
  shape: (node) => node.params.value!.shape.slice(),
  forward: (prep, node, ins) => tensorForward(prep, node, ins),
  lrp: (node, r, ctx) => constantRelevance(node, r, ctx),
  signal: (node, _s, ctx) => [tf.zerosLike(ctx.acts[node.inputs[0]])],
  lrpRuleText: () => 'absorbs',
  signalRuleText: () => 'constant',
  nonNegative: (node) => node.params.value!.data.every((v) => v >= 0),
  carriesBounds: never,
};
