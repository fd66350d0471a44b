/**
 * Deep Taylor and PatternNet / PatternAttribution are defined for ReLU networks: DTD's root points and
 * the patterns' two-regime signal model need a rectifier after every linear map. LayerNorm, attention
 * (softmax, the product of two activations) and smooth activations (GELU, SiLU) have neither, so these
 * methods refuse a model containing them, naming the node; LRP (attn-lrp / cp-lrp) and the gradient
 * family explain such models.
 */
import type { Graph, Node } from '../graph/ir';
import { LensError } from '../errors';

const SMOOTH = new Set(['gelu', 'geluTanh', 'silu']);

/** The op as `info` names it, when these methods cannot pass it; undefined otherwise. */
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
    + `${method.startsWith('pattern') ? 'pattern' : 'Taylor root point'}${more}: use lrp (composite attn-lrp or cp-lrp) or the gradient family`);
}

export const RELU_ONLY_METHODS: ReadonlySet<string> = new Set(['deep-taylor', 'deep-taylor-bounded', 'pattern-net', 'pattern-attribution']);
