/** Which node outputs are non-negative by construction (after ReLU-like ops), per node id. */
import type { Graph } from './ir';

export function nonNegativeOutputs(g: Graph): boolean[] {
  const nn: boolean[] = new Array(g.nodes.length).fill(false);
  for (const n of g.nodes) {
    const ins = n.inputs.map((i) => nn[i]);
    switch (n.op) {
      case 'activation':
        nn[n.id] = ['relu', 'relu6', 'sigmoid', 'softmax'].includes(n.attrs.activation!)
          || (n.attrs.activation === 'clip' && (n.attrs.clipMin ?? -1) >= 0)
          || (n.attrs.activation === 'linear' && ins[0]);
        break;
      case 'maxPool': case 'avgPool': case 'globalAvgPool': case 'flatten': case 'reshape': case 'pad':
      case 'identity': case 'add': case 'concat': case 'mul':
        nn[n.id] = ins.length > 0 && ins.every(Boolean);
        break;
      default:
        nn[n.id] = false;
    }
  }
  return nn;
}
