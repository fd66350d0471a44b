/**
 * Max pooling; every backward routes the signal to the window's first entry that ties its maximum
 * (winner-take-all; ties within a relative MAX_POOL_TIE, engine/poolOps.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import { poolShape } from '../graph/shapes';
import { MAX_POOL_TIE, maxPoolBackward } from '../engine/poolOps';
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
      const y = e.g.op('MaxPool', [ins[0]], {
        kernel_shape: { ints: p.poolSize }, strides: { ints: p.strides }, pads: { ints: onnxPads(poolPadsOf(e.graph, node)) },
      });
      // the first emission is the model's own forward; later ones (z^B bound images) are constants
      if (!e.aux.has(`argmax:${node.id}`)) e.aux.set(`argmax:${node.id}`, onnxWinnerIndex(e, node, ins[0], y));
      return y;
    },
    lrp: (e, node, r, ctx) => [onnxWinners(e, node, r, ctx.acts[node.inputs[0]])],
    signal: (e, node, s, ctx) => [onnxWinners(e, node, s, ctx.acts[node.inputs[0]])],
  },
};

/**
 * Each window's winner as an index into its channel's H·W plane, [N, C, oh, ow] (int64): the first
 * offset (row-major) whose value is ≥ y − MAX_POOL_TIE·|y|, as engine/poolOps.ts picks it. The
 * window's entries are strided slices of the input padded with the lowest float (padding never wins).
 */
function onnxWinnerIndex(e: Emitter, node: Node, x: string, y: string): string {
  const p = node.attrs.pool!;
  const pads = poolPadsOf(e.graph, node);
  const w = e.graph.nodes[node.inputs[0]].shape[1];
  const [oh, ow] = node.shape;
  const [kh, kw] = p.poolSize;
  const [sh, sw] = p.strides;
  const xp = pads.flat().some((v) => v !== 0)
    ? e.g.op('Pad', [x, e.g.ints([0, 0, pads[0][0], pads[1][0], 0, 0, pads[0][1], pads[1][1]]), e.g.scalar(-3.4e38)])
    : x;
  const thr = e.sub(y, e.mul(e.g.op('Abs', [y]), e.g.scalar(MAX_POOL_TIE)));
  const ties: string[] = [];
  const offsets: number[] = [];
  for (let dy = 0; dy < kh; dy++) {
    for (let dx = 0; dx < kw; dx++) {
      const at = e.g.op('Slice', [xp, e.g.ints([dy, dx]), e.g.ints([dy + sh * (oh - 1) + 1, dx + sw * (ow - 1) + 1]), e.g.ints([2, 3]), e.g.ints([sh, sw])]);
      const tie = e.g.op('Cast', [e.g.op('GreaterOrEqual', [at, thr])], { to: { i: 1 } });
      ties.push(e.g.op('Unsqueeze', [tie, e.g.ints([2])]));
      offsets.push(dy * w + dx);
    }
  }
  // ArgMax returns the first maximum: the first offset that ties
  const k = e.g.op('ArgMax', [e.g.op('Concat', ties, { axis: { i: 2 } })], { axis: { i: 2 }, keepdims: { i: 0 } });
  const base = new Array<number>(oh * ow);
  for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) base[oy * ow + ox] = (oy * sh - pads[0][0]) * w + ox * sw - pads[1][0];
  return e.add(e.g.op('Gather', [e.g.ints(offsets), k]), e.g.op('Reshape', [e.g.ints(base), e.g.ints([1, 1, oh, ow])]));
}

/** Winner-take-all in the compiled graph: the signal scattered (added) to each window's winner in its channel plane. */
function onnxWinners(e: Emitter, node: Node, s: string, x: string): string {
  const idx = e.aux.get(`argmax:${node.id}`)!;
  const [h, w, c] = e.graph.nodes[node.inputs[0]].shape;
  const [oh, ow] = node.shape;
  const planes = e.g.ints([0, c, h * w]);
  const zeros = e.g.op('ConstantOfShape', [e.g.op('Shape', [e.g.op('Reshape', [x, planes])])]);
  const flat = e.g.op('ScatterElements', [zeros, e.g.op('Reshape', [idx, e.g.ints([0, c, oh * ow])]), e.g.op('Reshape', [s, e.g.ints([0, c, oh * ow])])], {
    axis: { i: 2 }, reduction: { s: 'add' },
  });
  return e.g.op('Reshape', [flat, e.g.op('Shape', [x])]);
}
