/**
 * What `relevance-lens info` prints: every node with its op, output shape, parameter count and whether
 * the engine supports it, and the check that names an unsupported node before any computation starts.
 */
import type { Graph, Node } from './ir';
import { paramCount } from './ir';
import { LensError } from '../errors';

export interface SummaryRow {
  name: string;
  op: string;
  /** the layer / operator class in the source format */
  sourceClass: string;
  /** output shape without batch */
  shape: number[];
  params: number;
  /** the engine runs this node forwards and backwards for every method */
  supported: boolean;
  note?: string;
}

export interface GraphSummary {
  name: string;
  format: string;
  input: number[];
  output: number[];
  nodes: number;
  params: number;
  rows: SummaryRow[];
  unsupported: SummaryRow[];
}

/** Op kinds the forward and backward executors implement. */
export const ENGINE_OPS: ReadonlySet<string> = new Set([
  'input', 'conv2d', 'depthwiseConv2d', 'dense', 'batchNorm', 'activation', 'maxPool', 'avgPool', 'globalAvgPool',
  'flatten', 'reshape', 'add', 'concat', 'pad', 'identity', 'mul', 'transpose', 'select', 'constant', 'matmul', 'layerNorm',
]);

/** Activation functions the executors implement. */
export const ENGINE_ACTIVATIONS: ReadonlySet<string> = new Set([
  'relu', 'relu6', 'leakyRelu', 'elu', 'sigmoid', 'tanh', 'softmax', 'linear', 'clip', 'gelu', 'geluTanh', 'silu',
]);

export function isOpSupported(op: string): boolean {
  return ENGINE_OPS.has(op);
}

const PENDING: Record<string, string> = {
  mul: 'elementwise gate (squeeze-excite / hard-swish): the engine has no forward/backward for it yet',
};

function check(g: Graph, n: Node): { supported: boolean; note?: string } {
  if (!ENGINE_OPS.has(n.op)) return { supported: false, note: PENDING[n.op] ?? `op '${n.op}' is not implemented by the engine` };
  switch (n.op) {
    case 'activation': {
      const fn = n.attrs.activation ?? '';
      if (!ENGINE_ACTIVATIONS.has(fn)) return { supported: false, note: `activation '${fn}' is not implemented by the engine` };
      if (fn === 'softmax' && n.id !== g.output) return { supported: true, note: 'softmax inside the network (attention): its own rule (softmax-taylor or held-constant)' };
      if (fn === 'softmax') return { supported: true, note: 'final softmax: stripped by canonization, the logit is explained' };
      return { supported: true };
    }
    case 'avgPool': {
      const p = n.attrs.pool?.padding;
      if (Array.isArray(p) && p.flat().some((v) => v !== 0)) return { supported: false, note: 'average pooling with explicit padding is not supported' };
      return { supported: true };
    }
    case 'batchNorm': {
      const prev = g.nodes[n.inputs[0]];
      const linear = prev && (prev.op === 'conv2d' || prev.op === 'depthwiseConv2d' || prev.op === 'dense');
      return { supported: true, note: linear ? 'folded into the layer before it by canonization' : 'follows no linear layer: kept, gets its own rule' };
    }
    case 'identity':
      return { supported: true, note: 'removed by canonization' };
    default:
      return { supported: true };
  }
}

export function summarizeGraph(graph: Graph): GraphSummary {
  const rows: SummaryRow[] = graph.nodes.map((n) => {
    const s = check(graph, n);
    return {
      name: n.name, op: n.op === 'activation' ? `activation:${n.attrs.activation}` : n.op, sourceClass: n.sourceClass ?? n.op,
      shape: Array.isArray(n.shape) ? n.shape.slice() : [], params: paramCount(n), supported: s.supported, ...(s.note ? { note: s.note } : {}),
    };
  });
  return {
    name: graph.name, format: graph.format,
    input: graph.nodes[graph.input].shape.slice(), output: graph.nodes[graph.output].shape.slice(),
    nodes: graph.nodes.length, params: rows.reduce((a, r) => a + r.params, 0), rows,
    unsupported: rows.filter((r) => !r.supported),
  };
}

/** Throws a one-line LensError naming the first unsupported node (and how many more there are). */
export function assertSupported(graph: Graph, file?: string): void {
  const bad = summarizeGraph(graph).unsupported;
  if (bad.length === 0) return;
  const r = bad[0];
  const more = bad.length > 1 ? ` (and ${bad.length - 1} more unsupported node${bad.length > 2 ? 's' : ''})` : '';
  throw new LensError('unsupported-op', `node '${r.name}' (${r.sourceClass}, op ${r.op}) is not supported: ${r.note ?? 'unsupported'}${more}`, file);
}
