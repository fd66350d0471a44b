/** Elementwise sum of same-shaped inputs (residual joins). LRP splits by the z-rule with a stabilizer. */
import * as tf from '@tensorflow/tfjs-core';
import type { OpDef } from './types';
import { allInputsNonNegative, never, zRuleSignal } from './common';

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
};
