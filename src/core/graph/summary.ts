/**
 * What `relevance-lens info` prints: every node with its op, output shape, parameter count and whether
 * the engine supports it, and the check that names an unsupported node before any computation starts.
 */
import type { Graph } from './ir';
import { paramCount } from './ir';
import { LensError } from '../errors';
import { opKinds, opSupport } from '../ops/registry';

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

/** Op kinds the forward and backward executors implement: the op table's. */
export function engineOps(): ReadonlySet<string> {
  return new Set(opKinds());
}

export function summarizeGraph(graph: Graph): GraphSummary {
  const rows: SummaryRow[] = graph.nodes.map((n) => {
    const s = opSupport(graph, n);
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
