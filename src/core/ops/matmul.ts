/** Product of two activations over the last two axes (attention Q·Kᵀ and A·V): rules bilinear-uniform / bilinear-value. */
import type { OpDef } from './types';
import { never } from './common';
import { tensorBackward, tensorForward } from '../engine/tensorOps';
import { matmulRelevance } from '../rules/transformerRules';

export const matmul: OpDef = {
  kind: 'matmul',
  shape: (node, ins) => {
    const [a, b] = ins;
    const r = a.length;
    if (r < 2 || b.length !== r || a.slice(0, -2).some((d, i) => d !== b[i]) || a[r - 1] !== b[r - 2]) {
      throw new Error(`layer '${node.name}': cannot multiply [${a.join(', ')}] by [${b?.join(', ')}]`);
    }
    return [...a.slice(0, -1), b[r - 1]];
  },
  forward: (prep, node, ins) => tensorForward(prep, node, ins),
  lrp: (node, r, ctx) => matmulRelevance(node, r, ctx, ctx.rules.get(node.id)!),
  signal: (node, s, ctx) => tensorBackward(ctx.prep, node, s, ctx.acts),
  lrpRuleText: () => 'rule',
  signalRuleText: () => 'gradient',
  nonNegative: never,
  carriesBounds: never,
  rules: ['bilinear-uniform', 'bilinear-value'],
};
