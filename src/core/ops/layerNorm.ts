/** Normalisation over the last axis with optional affine part (LayerNorm; ConvNeXt's LayerNorm2d after a permute). */
import type { OpDef } from './types';
import { never } from './common';
import { tensorBackward, tensorForward } from '../engine/tensorOps';
import { layerNormRelevance } from '../rules/transformerRules';

export const layerNorm: OpDef = {
  kind: 'layerNorm',
  shape: (node, ins) => {
    const a = ins[0];
    const d = a[a.length - 1];
    for (const p of [node.params.gamma, node.params.beta]) if (p && p.data.length !== d) throw new Error(`layer '${node.name}': ${p.data.length} affine values for ${d} features`);
    return a.slice();
  },
  forward: (prep, node, ins) => tensorForward(prep, node, ins),
  lrp: (node, r, ctx) => layerNormRelevance(node, r, ctx, ctx.rules.get(node.id)!),
  signal: (node, s, ctx) => tensorBackward(ctx.prep, node, s, ctx.acts),
  lrpRuleText: () => 'rule',
  signalRuleText: () => 'gradient',
  nonNegative: never,
  carriesBounds: never,
  rules: ['norm-identity', 'pass'],
};
