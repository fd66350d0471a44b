/** Which node outputs are non-negative by construction (after ReLU-like ops), per node id: the op table's rule. */
import type { Graph } from './ir';
import { opDef } from '../ops/registry';

export function nonNegativeOutputs(g: Graph): boolean[] {
  const nn: boolean[] = new Array(g.nodes.length).fill(false);
  for (const n of g.nodes) nn[n.id] = opDef(n.op).nonNegative(n, n.inputs.map((i) => nn[i]));
  return nn;
}
