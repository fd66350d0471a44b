/** Permutes the axes (attrs.perm, batch excluded): any rank. Relevance and gradients follow the data. */
import type { OpDef } from './types';
import { allInputsNonNegative, always } from './common';
import { tensorBackward, tensorForward } from '../engine/tensorOps';

export const transpose: OpDef = {
  kind: 'transpose',
  shape: (node, ins) => {
    const a = ins[0];
    const perm = node.attrs.perm!;
    if (perm.length !== a.length || [...perm].sort((x, y) => x - y).some((p, i) => p !== i)) {
      throw new Error(`layer '${node.name}': perm [${perm.join(', ')}] does not permute [${a.join(', ')}]`);
    }
    return perm.map((p) => a[p]);
  },
  forward: (prep, node, ins) => tensorForward(prep, node, ins),
  lrp: (node, r, ctx) => tensorBackward(ctx.prep, node, r, ctx.acts),
  signal: (node, s, ctx) => tensorBackward(ctx.prep, node, s, ctx.acts),
  lrpRuleText: () => 'moves',
  signalRuleText: () => 'gradient',
  nonNegative: allInputsNonNegative,
  carriesBounds: always,
};
