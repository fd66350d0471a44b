/**
 * Deep Taylor is defined for ReLU networks: its root points need a rectifier after every linear map.
 * LayerNorm, attention (softmax, the product of two activations) and smooth activations (GELU, SiLU)
 * have none, so Deep Taylor refuses a model containing them, naming the node; LRP (attn-lrp / cp-lrp),
 * the gradient family and the pattern methods (the gradient's backward with patterns at the linear
 * layers) explain such models.
 */
import type { Graph, Node } from '../graph/ir';
import { LensError } from '../errors';

const SMOOTH = new Set(['gelu', 'geluTanh', 'silu']);

/** The op as `info` names it, when Deep Taylor cannot pass it; undefined otherwise. */
export function notReluOp(op: string): string | undefined {
  if (op === 'layerNorm' || op === 'matmul' || op === 'softmax') return op;
  if (op.startsWith('activation:') && SMOOTH.has(op.slice('activation:'.length))) return op;
  return undefined;
}

function opName(n: Node): string {
  return n.op === 'activation' ? `activation:${n.attrs.activation}` : n.op;
}

export function assertReluNetwork(g: Graph, method: string): void {
  const bad = g.nodes.filter((n) => notReluOp(opName(n)) !== undefined);
  if (!bad.length) return;
  const n = bad[0];
  const more = bad.length > 1 ? ` (and ${bad.length - 1} more such node${bad.length > 2 ? 's' : ''})` : '';
  throw new LensError('unsupported-op', `${method} is defined for ReLU networks; node '${n.name}' (${opName(n)}) has no `
    + `Taylor root point${more}: use lrp (composite attn-lrp or cp-lrp), the gradient family or the pattern methods`);
}

export const RELU_ONLY_METHODS: ReadonlySet<string> = new Set(['deep-taylor', 'deep-taylor-bounded']);
