/**
 * Leaky ReLU with a learnt slope per channel (ONNX PRelu, Keras PReLU): y = x for x > 0, else slope_c·x
 * (params.slope: [C], along the last axis). LRP passes relevance through unchanged, as at every
 * elementwise activation; for the gradient family it is ReLU-like: deconvnet applies the unit itself to
 * the signal, guided backprop also drops negative signal.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import type { OpDef } from './types';
import type { PreparedGraph } from '../engine/prepared';
import type { Emitter } from '../onnx/emitter';

function slope(prep: PreparedGraph, node: Node): tf.Tensor1D {
  return prep.derived(node.id, 'slope', () => tf.tensor1d(node.params.slope!.data));
}

/** The slope in the compiled layout: [C, 1, 1] on a map (NCHW), [C] otherwise. */
function onnxSlope(e: Emitter, node: Node): string {
  const s = node.params.slope!.data;
  return e.g.floats(s, e.isMap(node.inputs[0]) ? [s.length, 1, 1] : [s.length]);
}

export const prelu: OpDef = {
  kind: 'prelu',
  shape: (node, inputs) => {
    const a = inputs[0];
    const c = node.params.slope?.shape;
    if (!c || c.length !== 1 || c[0] !== a[a.length - 1]) {
      throw new Error(`layer '${node.name}': slope [${c?.join(', ')}] is not one value per channel of [${a.join(', ')}]`);
    }
    return a.slice();
  },
  forward: (prep, node, ins) => tf.prelu(ins[0], slope(prep, node)),
  lrp: (_n, r) => [r],
  signal: (node, s, ctx, rule) => {
    if (rule === 'deconvnet') return [tf.prelu(s, slope(ctx.prep, node))];
    const g = tf.where(tf.greater(ctx.acts[node.inputs[0]], 0), s, tf.mul(s, slope(ctx.prep, node)));
    return [rule === 'guided' ? tf.relu(g) : g];
  },
  lrpRuleText: () => 'pass',
  signalRuleText: (_n, rule) => rule,
  // x ≥ 0 passes unchanged
  nonNegative: (_n, ins) => ins[0],
  carriesBounds: () => false,
  onnx: {
    forward: (e, node, ins) => e.g.op('PRelu', [ins[0], onnxSlope(e, node)]),
    lrp: (_e, _n, r) => [r],
    signal: (e, node, s, ctx, rule) => {
      if (rule === 'deconvnet') return [e.g.op('PRelu', [s, onnxSlope(e, node)])];
      const pos = e.g.op('Greater', [ctx.acts[node.inputs[0]], e.g.scalar(0)]);
      const g = e.g.op('Where', [pos, s, e.mul(s, onnxSlope(e, node))]);
      return [rule === 'guided' ? e.relu(g) : g];
    },
  },
};
