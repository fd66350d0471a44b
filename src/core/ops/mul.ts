/**
 * Elementwise product signal · gate (squeeze-excite, hard-swish): inputs [signal, gate], the gate of the
 * signal's shape or broadcast from [1, 1, C]. LRP treats the gate as a constant: relevance stays on the signal.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { OpDef } from './types';
import { allInputsNonNegative, never } from './common';

export const mul: OpDef = {
  kind: 'mul',
  shape: (node, inputs) => {
    const [a, g] = inputs;
    const c = a[a.length - 1];
    const ok = (g.length === a.length && g.every((d, i) => d === a[i])) || (a.length === 3 && g.length === 3 && g[0] === 1 && g[1] === 1 && g[2] === c);
    if (!ok) throw new Error(`layer '${node.name}': gate [${g.join(', ')}] does not broadcast to [${a.join(', ')}]`);
    return a.slice();
  },
  forward: (_p, _n, ins) => tf.mul(ins[0], ins[1]),
  lrp: (node, r, ctx) => [r, tf.zerosLike(ctx.acts[node.inputs[1]])],
  signal: (node, s, ctx) => {
    const a = ctx.acts[node.inputs[0]];
    const g = ctx.acts[node.inputs[1]];
    const sa = tf.mul(s, a);
    return [tf.mul(s, g), g.rank === 4 && g.shape[1] === 1 && g.shape[2] === 1 && a.shape[1] !== 1 ? tf.sum(sa, [1, 2], true) : sa];
  },
  lrpRuleText: () => 'gate',
  signalRuleText: () => 'gradient',
  nonNegative: allInputsNonNegative,
  carriesBounds: never,
  onnx: {
    forward: (e, _n, ins) => e.mul(ins[0], ins[1]),
    lrp: (e, node, r, ctx) => [r, e.g.op('ConstantOfShape', [e.g.op('Shape', [ctx.acts[node.inputs[1]]])])],
    signal: (e, node, s, ctx) => {
      const [a, g] = node.inputs;
      const sa = e.mul(s, ctx.acts[a]);
      const gs = e.graph.nodes[g].shape;
      const broadcast = gs.length === 3 && gs[0] === 1 && gs[1] === 1 && node.shape[0] !== 1;
      return [e.mul(s, ctx.acts[g]), broadcast ? e.g.op('ReduceSum', [sa, e.g.ints([2, 3])], { keepdims: { i: 1 } }) : sa];
    },
  },
};
