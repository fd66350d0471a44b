/** Softmax over the last axis inside the network (attention weights): rules softmax-taylor / held-constant. */
import * as tf from '@tensorflow/tfjs-core';
import type { OpDef } from './types';
import { never, sameShape } from './common';
import { softmaxRelevance } from '../rules/transformerRules';
import type { Emitter, OnnxBackward } from '../onnx/emitter';
import type { Node } from '../graph/ir';
import { sumLast, zerosLike } from '../onnx/tensorEmit';

/** Compiled softmax-taylor or held-constant (rules/transformerRules.ts), in IR order. */
function softmaxLrp(e: Emitter, node: Node, rIn: string, ctx: OnnxBackward): string[] {
  const rule = ctx.rules.get(node.id);
  const xIn = ctx.acts[node.inputs[0]];
  if (rule?.kind === 'held-constant') {
    ctx.leak?.(node.id, e.sum(rIn), e.g.floats([0]));
    return [zerosLike(e, xIn)];
  }
  if (rule?.kind !== 'softmax-taylor') throw new Error(`rule ${rule?.kind} does not apply to softmax '${node.name}'`);
  const x = e.toIr(node.inputs[0], xIn);
  const y = e.toIr(node.id, ctx.acts[node.id]);
  const r = e.toIr(node.id, rIn);
  const rowSum = sumLast(e, r);
  const out = e.mul(x, e.sub(r, e.mul(y, rowSum)));
  const xy = sumLast(e, e.mul(x, y));
  ctx.leak?.(node.id, e.add(e.sum(e.mul(r, e.sub(e.g.scalar(1), x))), e.sum(e.mul(xy, rowSum))), e.g.floats([0]));
  return [e.fromIr(node.inputs[0], out)];
}

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
  onnx: {
    forward: (e, node, ins) => e.fromIr(node.id, e.g.op('Softmax', [e.toIr(node.inputs[0], ins[0])], { axis: { i: -1 } })),
    lrp: softmaxLrp,
    signal: (e, node, sIn, ctx) => {
      const y = e.toIr(node.id, ctx.acts[node.id]);
      const s = e.toIr(node.id, sIn);
      return [e.fromIr(node.inputs[0], e.mul(y, e.sub(s, sumLast(e, e.mul(s, y)))))];
    },
  },
};
