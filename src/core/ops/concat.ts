/** Concatenation on attrs.axis (Keras convention: counts the batch axis); the backward splits. */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import type { BackwardContext } from '../engine/backward';
import type { OpDef } from './types';
import { allInputsNonNegative, always, batchedAxis } from './common';

function split(node: Node, signal: tf.Tensor, ctx: BackwardContext): tf.Tensor[] {
  const axis = batchedAxis(node, signal.rank);
  const sizes = node.inputs.map((i) => ctx.acts[i].shape[axis]);
  return tf.split(signal, sizes, axis);
}

export const concat: OpDef = {
  kind: 'concat',
  shape: (node, inputs) => {
    const a = inputs[0];
    const rank = a.length;
    let axis = node.attrs.axis ?? -1;
    // axis counts the batch dimension (Keras convention); shapes here have none.
    axis = axis < 0 ? rank + axis : axis - 1;
    if (axis < 0 || axis >= rank) throw new Error(`layer '${node.name}': bad concat axis ${node.attrs.axis}`);
    const out = a.slice();
    out[axis] = 0;
    for (const s of inputs) {
      if (s.length !== rank || s.some((d, i) => i !== axis && d !== a[i])) {
        throw new Error(`layer '${node.name}': cannot concatenate [${a.join(', ')}] and [${s.join(', ')}] on axis ${node.attrs.axis}`);
      }
      out[axis] += s[axis];
    }
    return out;
  },
  forward: (_p, node, ins) => tf.concat(ins, batchedAxis(node, ins[0].rank)),
  lrp: split,
  signal: split,
  lrpRuleText: () => 'split',
  signalRuleText: () => 'gradient',
  nonNegative: allInputsNonNegative,
  carriesBounds: always,
};
