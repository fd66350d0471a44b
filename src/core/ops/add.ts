/** Elementwise sum of same-shaped inputs (residual joins). LRP splits by the z-rule with a stabilizer. */
import * as tf from '@tensorflow/tfjs-core';
import type { OpDef } from './types';
import { allInputsNonNegative, never, onnxZRule, zRuleSignal } from './common';

export const add: OpDef = {
  kind: 'add',
  shape: (node, inputs) => {
    const a = inputs[0];
    for (const s of inputs) {
      if (s.length !== a.length || s.some((d, i) => d !== a[i])) {
        throw new Error(`layer '${node.name}': cannot add shapes [${a.join(', ')}] and [${s.join(', ')}]`);
      }
    }
    return a.slice();
  },
  forward: (_p, _n, ins) => (ins.length === 2 ? tf.add(ins[0], ins[1]) : tf.addN(ins)),
  lrp: (node, r, ctx) => {
    const s = zRuleSignal(node, r, ctx);
    return node.inputs.map((i) => tf.mul(ctx.acts[i], s));
  },
  signal: (node, s) => node.inputs.map(() => s.clone()),
  lrpRuleText: () => 'z-rule',
  signalRuleText: () => 'gradient',
  nonNegative: allInputsNonNegative,
  carriesBounds: never,
  onnx: {
    forward: (e, _n, ins) => (ins.length === 2 ? e.add(ins[0], ins[1]) : e.g.op('Sum', ins)),
    lrp: (e, node, r, ctx) => {
      const s = onnxZRule(e, node, r, ctx);
      return node.inputs.map((i) => e.mul(ctx.acts[i], s));
    },
    signal: (_e, node, s) => node.inputs.map(() => s),
  },
};
