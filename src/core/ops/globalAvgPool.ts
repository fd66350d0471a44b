/** Mean over H and W: [H, W, C] -> [C]. LRP splits by the z-rule, the gradient spreads by 1/(H·W). */
import * as tf from '@tensorflow/tfjs-core';
import type { OpDef } from './types';
import { allInputsNonNegative, needRank, never, onnxZRule, zRuleSignal } from './common';

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
  onnx: {
    forward: (e, _n, ins) => e.g.op('ReduceMean', [ins[0]], { axes: { ints: [2, 3] }, keepdims: { i: 0 } }),
    lrp: (e, node, r, ctx) => {
      const [h, w] = e.graph.nodes[node.inputs[0]].shape;
      const s = e.g.op('Unsqueeze', [e.div(onnxZRule(e, node, r, ctx), e.g.scalar(h * w)), e.g.ints([2, 3])]);
      return [e.mul(ctx.acts[node.inputs[0]], s)];
    },
    signal: (e, node, s, ctx) => {
      const [h, w] = e.graph.nodes[node.inputs[0]].shape;
      const x = ctx.acts[node.inputs[0]];
      return [e.g.op('Expand', [e.g.op('Unsqueeze', [e.div(s, e.g.scalar(h * w)), e.g.ints([2, 3])]), e.g.op('Shape', [x])])];
    },
  },
};
