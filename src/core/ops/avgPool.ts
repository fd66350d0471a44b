/** Average pooling ('same'/'valid' padding); LRP spreads by the z-rule, the gradient by 1/count. */
import * as tf from '@tensorflow/tfjs-core';
import { poolShape } from '../graph/shapes';
import { avgPoolTransposed } from '../engine/poolOps';
import { LensError } from '../errors';
import type { OpDef } from './types';
import type { Node } from '../graph/ir';
import type { Emitter } from '../onnx/emitter';
import { convTransposeAttrs, onnxPads, poolPadsOf } from '../onnx/geometry';
import { allInputsNonNegative, always, onnxZRule, zRuleSignal } from './common';

export const avgPool: OpDef = {
  kind: 'avgPool',
  shape: poolShape,
  check: (_g, n) => {
    const p = n.attrs.pool?.padding;
    if (Array.isArray(p) && p.flat().some((v) => v !== 0)) return { supported: false, note: 'average pooling with explicit padding is not supported' };
    return { supported: true };
  },
  forward: (_p, node, ins) => {
    const p = node.attrs.pool!;
    if (Array.isArray(p.padding) && p.padding.flat().some((v) => v !== 0)) {
      throw new LensError('unsupported-op', `layer '${node.name}': average pooling with explicit padding is not supported`);
    }
    return tf.avgPool(ins[0] as tf.Tensor4D, p.poolSize, p.strides, Array.isArray(p.padding) ? 'valid' : p.padding);
  },
  lrp: (node, r, ctx) => {
    const a = ctx.acts[node.inputs[0]];
    const s = zRuleSignal(node, r, ctx) as tf.Tensor4D;
    return [tf.mul(a, avgPoolTransposed(s, node.attrs.pool!, [a.shape[1]!, a.shape[2]!]))];
  },
  signal: (node, s, ctx) => {
    const a = ctx.acts[node.inputs[0]];
    return [avgPoolTransposed(s as tf.Tensor4D, node.attrs.pool!, [a.shape[1]!, a.shape[2]!])];
  },
  lrpRuleText: () => 'z-rule',
  signalRuleText: () => 'gradient',
  nonNegative: allInputsNonNegative,
  carriesBounds: always,
  onnx: {
    forward: (e, node, ins) => {
      const p = node.attrs.pool!;
      return e.g.op('AveragePool', [ins[0]], {
        kernel_shape: { ints: p.poolSize }, strides: { ints: p.strides }, pads: { ints: onnxPads(poolPadsOf(e.graph, node)) }, count_include_pad: { i: 0 },
      });
    },
    lrp: (e, node, r, ctx) => [e.mul(ctx.acts[node.inputs[0]], onnxAvgTransposed(e, node, onnxZRule(e, node, r, ctx)))],
    signal: (e, node, s) => [onnxAvgTransposed(e, node, s)],
  },
};

/** Transpose of average pooling: divide by each window's count of non-padding positions, spread back with ones. */
function onnxAvgTransposed(e: Emitter, node: Node, s: string): string {
  const p = node.attrs.pool!;
  const [h, w, c] = e.graph.nodes[node.inputs[0]].shape;
  const [oh, ow] = node.shape;
  const pads = poolPadsOf(e.graph, node);
  const counts = new Float32Array(oh * ow);
  for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    const y0 = i * p.strides[0] - pads[0][0];
    const x0 = j * p.strides[1] - pads[1][0];
    const ny = Math.min(y0 + p.poolSize[0], h) - Math.max(y0, 0);
    const nx = Math.min(x0 + p.poolSize[1], w) - Math.max(x0, 0);
    counts[i * ow + j] = ny * nx;
  }
  const ones = e.g.floats(new Float32Array(c * p.poolSize[0] * p.poolSize[1]).fill(1), [c, 1, p.poolSize[0], p.poolSize[1]]);
  const sc = e.div(s, e.g.floats(counts, [1, 1, oh, ow]));
  return e.g.op('ConvTranspose', [sc, ones], convTransposeAttrs([h, w], [oh, ow], p.poolSize, p.strides, [1, 1], pads, c));
}
