/**
 * Each output element copies one input element, or is zero (params.index: flat input position, −1 = zero):
 * slices, strided slices, pads, cyclic shifts, gathers of computed tensors, folded at load time into one
 * index map. Injective, so relevance and gradients go back by the inverse map.
 */
import type { OpDef } from './types';
import { sizeOf, type Node } from '../graph/ir';
import { dataMove } from './moves';
import type { Emitter } from '../onnx/emitter';
import { gatherFlat, scatterFlat } from '../onnx/tensorEmit';

/** Compiled backward: every input position takes the output position that copied it (or zero). */
function back(e: Emitter, node: Node, s: string): string[] {
  return [e.fromIr(node.inputs[0], scatterFlat(e, e.toIr(node.id, s), node.params.index!.data, e.graph.nodes[node.inputs[0]].shape, node.shape))];
}

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
  onnx: {
    forward: (e, node, ins) => e.fromIr(node.id, gatherFlat(e, e.toIr(node.inputs[0], ins[0]), node.params.index!.data, e.graph.nodes[node.inputs[0]].shape, node.shape)),
    lrp: (e, node, r) => back(e, node, r),
    signal: (e, node, s) => back(e, node, s),
  },
};
