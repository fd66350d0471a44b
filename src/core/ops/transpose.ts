/** Permutes the axes (attrs.perm, batch excluded): any rank. Relevance and gradients follow the data. */
import type { OpDef } from './types';
import { dataMove } from './moves';
import type { Emitter } from '../onnx/emitter';
import type { Node } from '../graph/ir';

/** Compiled: the permutation of the batched IR-order value. */
function permute(e: Emitter, v: string, perm: number[]): string {
  return e.g.op('Transpose', [v], { perm: { ints: [0, ...perm.map((p) => p + 1)] } });
}

/** The signal at the output moved back to the input's positions. */
function back(e: Emitter, node: Node, s: string): string[] {
  const perm = node.attrs.perm!;
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => { inv[p] = i; });
  return [e.fromIr(node.inputs[0], permute(e, e.toIr(node.id, s), inv))];
}

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
  onnx: {
    forward: (e, node, ins) => e.fromIr(node.id, permute(e, e.toIr(node.inputs[0], ins[0]), node.attrs.perm!)),
    lrp: (e, node, r) => back(e, node, r),
    signal: (e, node, s) => back(e, node, s),
  },
};
