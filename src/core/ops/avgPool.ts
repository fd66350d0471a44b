/** Average pooling ('same'/'valid' padding); LRP spreads by the z-rule, the gradient by 1/count. */
import * as tf from '@tensorflow/tfjs-core';
import { poolShape } from '../graph/shapes';
import { avgPoolTransposed } from '../engine/poolOps';
import { LensError } from '../errors';
import type { OpDef } from './types';
import { allInputsNonNegative, always, zRuleSignal } from './common';

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
};
