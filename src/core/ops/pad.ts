/** Constant-zero padding of H and W; the backward crops the padded border away. */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import type { OpDef } from './types';
import type { Emitter } from '../onnx/emitter';
import { allInputsNonNegative, always, needRank } from './common';

function cropPad(node: Node, signal: tf.Tensor): tf.Tensor[] {
  const p = node.attrs.pads!;
  const [n, h, w, c] = signal.shape;
  return [tf.slice(signal, [0, p[0][0], p[1][0], 0], [n, h - p[0][0] - p[0][1], w - p[1][0] - p[1][1], c])];
}

export const pad: OpDef = {
  kind: 'pad',
  shape: (node, ins) => {
    const a = ins[0];
    needRank(node, a, 3);
    const p = node.attrs.pads!;
    return [a[0] + p[0][0] + p[0][1], a[1] + p[1][0] + p[1][1], a[2]];
  },
  forward: (_p, node, ins) => {
    const p = node.attrs.pads!;
    return tf.pad(ins[0], [[0, 0], p[0], p[1], [0, 0]]);
  },
  lrp: (node, r) => cropPad(node, r),
  signal: (node, s) => cropPad(node, s),
  lrpRuleText: () => 'pass',
  signalRuleText: () => 'gradient',
  nonNegative: allInputsNonNegative,
  carriesBounds: always,
  onnx: {
    forward: (e, node, ins) => {
      const p = node.attrs.pads!;
      return e.g.op('Pad', [ins[0], e.g.ints([0, 0, p[0][0], p[1][0], 0, 0, p[0][1], p[1][1]])]);
    },
    lrp: (e, node, r) => [onnxCrop(e, node, r)],
    signal: (e, node, s) => [onnxCrop(e, node, s)],
  },
};

function onnxCrop(e: Emitter, node: Node, s: string): string {
  const p = node.attrs.pads!;
  const [h, w] = e.graph.nodes[node.inputs[0]].shape;
  return e.g.op('Slice', [s, e.g.ints([p[0][0], p[1][0]]), e.g.ints([p[0][0] + h, p[1][0] + w]), e.g.ints([2, 3])]);
}
