/**
 * Each output element copies one input element, or is zero (params.index: flat input position, −1 = zero):
 * slices, strided slices, pads, cyclic shifts, gathers of computed tensors, folded at load time into one
 * index map. Injective, so relevance and gradients go back by the inverse map.
 */
import type { OpDef } from './types';
import { sizeOf } from '../graph/ir';
import { dataMove } from './moves';

export const select: OpDef = {
  kind: 'select',
  shape: (node, ins) => {
    const ix = node.params.index!;
    const n = sizeOf(ins[0]);
    const seen = new Uint8Array(n);
    for (const v of ix.data) {
      if (v < -1 || v >= n || !Number.isInteger(v)) throw new Error(`layer '${node.name}': index ${v} outside the input of ${n} elements`);
      if (v >= 0 && seen[v]++) throw new Error(`layer '${node.name}': input element ${v} is copied twice`);
    }
    return ix.shape.slice();
  },
  ...dataMove,
};
