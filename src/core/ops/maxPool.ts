/** Max pooling; every backward routes the signal to the window's first maximum (winner-take-all). */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import { poolShape } from '../graph/shapes';
import { maxPoolBackward } from '../engine/poolOps';
import type { BackwardContext } from '../engine/backward';
import type { OpDef } from './types';
import type { Emitter } from '../onnx/emitter';
import { onnxPads, poolPadsOf } from '../onnx/geometry';
import { allInputsNonNegative, always } from './common';

function winners(node: Node, s: tf.Tensor, ctx: BackwardContext): tf.Tensor[] {
  return [maxPoolBackward(ctx.acts[node.inputs[0]] as tf.Tensor4D, ctx.acts[node.id] as tf.Tensor4D, s as tf.Tensor4D, node.attrs.pool!)];
}

export const maxPool: OpDef = {
  kind: 'maxPool',
  shape: poolShape,
  forward: (_p, node, ins) => {
    const p = node.attrs.pool!;
    let x = ins[0] as tf.Tensor4D;
    let pad: 'same' | 'valid' = 'valid';
    if (Array.isArray(p.padding)) x = tf.pad(x, [[0, 0], p.padding[0], p.padding[1], [0, 0]], -Infinity);
    else pad = p.padding;
    return tf.maxPool(x, p.poolSize, p.strides, pad);
  },
  lrp: winners,
  signal: winners,
  lrpRuleText: () => 'winner-take-all',
  signalRuleText: () => 'winner-take-all',
  nonNegative: allInputsNonNegative,
  carriesBounds: always,
  onnx: {
    forward: (e, node, ins) => {
      const p = node.attrs.pool!;
      const [y, idx] = e.g.opN('MaxPool', [ins[0]], {
        kernel_shape: { ints: p.poolSize }, strides: { ints: p.strides }, pads: { ints: onnxPads(poolPadsOf(e.graph, node)) },
      }, 2);
      // the first emission is the model's own forward; later ones (z^B bound images) are constants
      if (!e.aux.has(`argmax:${node.id}`)) e.aux.set(`argmax:${node.id}`, idx);
      return y;
    },
    lrp: (e, node, r, ctx) => [onnxWinners(e, node, r, ctx.acts[node.inputs[0]])],
    signal: (e, node, s, ctx) => [onnxWinners(e, node, s, ctx.acts[node.inputs[0]])],
  },
};

/** Winner-take-all in the compiled graph: the signal scattered (added) to each window's argmax (its first maximum). */
function onnxWinners(e: Emitter, node: Node, s: string, x: string): string {
  const idx = e.aux.get(`argmax:${node.id}`)!;
  const flatX = e.g.op('Reshape', [x, e.g.ints([-1])]);
  const zeros = e.g.op('ConstantOfShape', [e.g.op('Shape', [flatX])]);
  const flat = e.g.op('ScatterElements', [zeros, e.g.op('Reshape', [idx, e.g.ints([-1])]), e.g.op('Reshape', [s, e.g.ints([-1])])], {
    axis: { i: 0 }, reduction: { s: 'add' },
  });
  return e.g.op('Reshape', [flat, e.g.op('Shape', [x])]);
}
