/** Concatenation on attrs.axis (Keras convention: counts the batch axis); the backward splits. */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import type { BackwardContext } from '../engine/backward';
import type { OpDef } from './types';
import type { Emitter } from '../onnx/emitter';
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
  onnx: {
    forward: (e, node, ins) => e.g.op('Concat', ins, { axis: { i: onnxAxis(e, node) } }),
    lrp: (e, node, r) => onnxSplit(e, node, r),
    signal: (e, node, s) => onnxSplit(e, node, s),
  },
};

/** The concat axis in the compiled layout (NHWC axes 1, 2, 3 of a map are NCHW 2, 3, 1). */
function onnxAxis(e: Emitter, node: Node): number {
  const rank = node.shape.length + 1;
  const a = batchedAxis(node, rank);
  return e.isMap(node.id) ? [0, 2, 3, 1][a] : a;
}

function onnxSplit(e: Emitter, node: Node, s: string): string[] {
  const a = batchedAxis(node, node.shape.length + 1);
  const sizes = node.inputs.map((i) => e.graph.nodes[i].shape[a - 1]);
  return e.g.opN('Split', [s, e.g.ints(sizes)], { axis: { i: onnxAxis(e, node) } }, sizes.length);
}
