/** Permutes the axes (attrs.perm, batch excluded): any rank. Relevance and gradients follow the data. */
import type { OpDef } from './types';
import { dataMove } from './moves';

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
  ...dataMove,
};
