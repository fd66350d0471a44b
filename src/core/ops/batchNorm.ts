/**
 * BatchNorm as y = x·scale + shift (scale, shift from γ, β, mean, variance, ε in PreparedGraph). Folded
 * into a preceding conv/dense by canonization; a stand-alone one is a diagonal weighted layer with a rule.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { OpDef } from './types';
import { always, sameShape } from './common';
import { weightedOp } from './weighted';
import { RULE_NAMES } from '../../shared/ruleSpec';
import { batchNormAffine } from '../graph/batchNormAffine';
import type { Emitter } from '../onnx/emitter';
import { kernelOf } from '../onnx/tensorEmit';
import type { Node } from '../graph/ir';

/** scale / shift shaped to broadcast over the compiled value ([C, 1, 1] for maps, [C] otherwise). */
function affineDims(e: Emitter, node: Node, v: Float32Array): { data: Float32Array; dims: number[] } {
  return { data: v, dims: e.isMap(node.inputs[0]) ? [v.length, 1, 1] : [v.length] };
}

export const batchNorm: OpDef = weightedOp({
  kind: 'batchNorm',
  shape: sameShape,
  group: 'batchNorm',
  rules: RULE_NAMES,
  weighted: false,
  carriesBounds: always,
  check: (g, n) => {
    const prev = g.nodes[n.inputs[0]];
    const linear = prev && (prev.op === 'conv2d' || prev.op === 'depthwiseConv2d' || prev.op === 'dense');
    return { supported: true, note: linear ? 'folded into the layer before it by canonization' : 'follows no linear layer: kept, gets its own rule' };
  },
}, {
  weight: (prep, node) => prep.tensors[node.id].scale!,
  bias: (prep, node) => prep.tensors[node.id].shift,
  forward: (_p, _n, x, w, bias) => (bias ? tf.add(tf.mul(x, w), bias) : tf.mul(x, w)),
  transposed: (_p, _n, s, _key, w) => tf.mul(s, w()),
}, {
  weight: (e, node) => affineDims(e, node, batchNormAffine(node).scale),
  bias: (e, node) => affineDims(e, node, batchNormAffine(node).shift),
  forward: (e, _n, x, w, b) => (b ? e.add(e.mul(x, w), b) : e.mul(x, w)),
  transposed: (e, _n, s, w) => e.mul(s, kernelOf(e, w)),
});
