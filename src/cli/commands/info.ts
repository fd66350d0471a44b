/**
 * `relevance-lens info MODEL [--card FILE] [--json] [--loaded]`: every node with its op, output shape,
 * parameter count, the default composite's rule and whether each method supports it. An unsupported
 * node is named (the table still lists every node; `explain` refuses such a model before computing).
 */
import { parseCommandArgs } from '../args';
import { openModel, type OpenedModel } from '../../core/pipeline';
import type { Graph } from '../../core/graph/ir';
import { summarizeGraph, type GraphSummary, type SummaryRow } from '../../core/graph/summary';
import { compositeRules, defaultComposite } from '../../core/composites/presets';
import { notReluOp, RELU_ONLY_METHODS } from '../../core/methods/reluOnly';
import { patternLayers } from '../../core/patterns/layers';
import type { MethodName } from '../../core/methods/types';
import { METHOD_NAMES } from '../../shared/methodParams';
import { DEFAULT_RULE_PARAMS, formatRule } from '../../shared/ruleSpec';
import { inputBounds } from '../../core/card/modelCard';
import { table } from '../format';
import { UsageError } from '../errors';
import { ortStatus } from '../../core/onnx/runtime';
import { compiledForward, compiledMethods } from '../../core/onnx/engineBackend';

const USAGE = 'usage: relevance-lens info MODEL [--card FILE] [--json] [--loaded]';

/**
 * Which methods run a node. Every method goes through the same forward executor and an explicit
 * backward pass over the same op kinds, so today support is per node, not per method; the map is
 * per method so the JSON stays stable when a method gains (or lacks) an op of its own.
 */
export function methodSupport(row: SummaryRow): Record<MethodName, boolean> {
  const reluOnly = notReluOp(row.op) !== undefined;
  return Object.fromEntries(METHOD_NAMES.map((m) => [m, row.supported && !(reluOnly && RELU_ONLY_METHODS.has(m))])) as Record<MethodName, boolean>;
}

export interface InfoNode {
  name: string;
  op: string;
  /** activation function, for op 'activation' */
  activation?: string;
  source: string;
  shape: number[];
  params: number;
  /** the default composite's rule ('' where the node takes none) */
  rule: string;
  supported: boolean;
  methods: Record<MethodName, boolean>;
  note?: string;
}

export interface InfoReport {
  model: string;
  format: string;
  input: number[];
  output: number[];
  outputSoftmax: boolean;
  card: string | null;
  params: number;
  nodesAsLoaded: number;
  /** dense / conv layers that take fitted patterns (pattern-net, pattern-attribution) */
  patternLayers: number;
  composite: string;
  /** why this composite is the model's default */
  compositeReason: string;
  /** the graph the engine explains (after canonization) */
  nodes: InfoNode[];
  /** every node as loaded, before canonization (BatchNorm folding, identity removal) */
  loaded: SummaryRow[];
  /** unsupported nodes of the graph as loaded and of the canonized graph, by name */
  unsupported: { name: string; op: string; source: string; note: string }[];
  /** the onnx backend (`explain --backend onnx`, picked by auto when it loads): whether it runs here, and per method */
  onnx: {
    available: boolean; reason: string; methods: Record<string, { compiled: boolean; reason?: string }>;
    /** evaluate's perturbation batches: a forward-only session, or wasm when the forward is not compiled */
    evaluate: { compiled: boolean; reason?: string };
  };
}

function unsupportedList(...summaries: GraphSummary[]): InfoReport['unsupported'] {
  const seen = new Set<string>();
  const out: InfoReport['unsupported'] = [];
  for (const s of summaries) {
    for (const r of s.unsupported) {
      if (seen.has(r.name)) continue;
      seen.add(r.name);
      out.push({ name: r.name, op: r.op, source: r.sourceClass, note: r.note ?? 'unsupported' });
    }
  }
  return out;
}

function countPatternLayers(g: Graph): number {
  try {
    return patternLayers(g).length;
  } catch {
    return g.nodes.filter((n) => n.op === 'conv2d' || n.op === 'depthwiseConv2d' || n.op === 'dense').length;
  }
}

export function infoReport(m: Pick<OpenedModel, 'file' | 'graph' | 'raw' | 'card' | 'cardPath'>): InfoReport {
  const g = m.graph;
  const summary = summarizeGraph(g);
  const loaded = summarizeGraph(m.raw);
  const def = defaultComposite(g);
  const rules = compositeRules(g, def.name);
  const bounds = inputBounds(m.card);
  const params = { ...DEFAULT_RULE_PARAMS, low: bounds.low, high: bounds.high };
  const nodes = g.nodes.map((n, i): InfoNode => {
    const row = summary.rows[i];
    return {
      name: n.name, op: n.op, ...(n.op === 'activation' ? { activation: n.attrs.activation } : {}),
      source: n.sourceClass ?? '', shape: n.shape, params: row.params,
      rule: rules.has(n.id) ? formatRule(rules.get(n.id)!, params) : '',
      supported: row.supported, methods: methodSupport(row), ...(row.note ? { note: row.note } : {}),
    };
  });
  return {
    model: m.file, format: g.format, input: summary.input, output: summary.output, outputSoftmax: !!g.outputSoftmax,
    card: m.cardPath ?? null, params: summary.params, nodesAsLoaded: m.raw.nodes.length, patternLayers: countPatternLayers(g),
    composite: def.name, compositeReason: def.reason, nodes, loaded: loaded.rows, unsupported: unsupportedList(loaded, summary),
    onnx: { ...ortStatus(), methods: compiledMethods(g, METHOD_NAMES), evaluate: compiledForward(g) },
  };
}

function methodsCell(n: { methods: Record<MethodName, boolean> }): string {
  const yes = METHOD_NAMES.filter((k) => n.methods[k]);
  if (yes.length === METHOD_NAMES.length) return 'all';
  if (yes.length === 0) return 'NONE';
  return yes.join(',');
}

function footer(r: InfoReport): string[] {
  const lines: string[] = [''];
  const reluOnly = r.nodes.filter((n) => n.supported && !n.methods['deep-taylor']);
  if (r.unsupported.length === 0 && reluOnly.length) {
    lines.push(`supported: every node runs with LRP (default composite ${r.composite}), the gradient family and pattern-net / `
      + `pattern-attribution; deep-taylor needs a ReLU network and refuses ${reluOnly.length} node${reluOnly.length > 1 ? 's' : ''} `
      + `(first: '${reluOnly[0].name}', ${reluOnly[0].op === 'activation' ? `activation:${reluOnly[0].activation}` : reluOnly[0].op})`);
    return lines;
  }
  if (r.unsupported.length === 0) {
    lines.push(`supported: every node runs with every method (all ${METHOD_NAMES.length}: see explain --help); `
      + `pattern-net / pattern-attribution first need 'patterns fit' (${r.patternLayers} dense/conv layers take patterns)`);
    return lines;
  }
  lines.push(`UNSUPPORTED: ${r.unsupported.length} node${r.unsupported.length > 1 ? 's' : ''} no method can run; explain refuses this model:`);
  for (const u of r.unsupported) lines.push(`  node '${u.name}' (${u.source}, op ${u.op}): ${u.note}`);
  return lines;
}

/** Which backend explain picks under auto, and which methods it compiles (the others run on wasm). */
function backendLines(r: InfoReport): string[] {
  if (!r.onnx.available) return [`backend: wasm (${r.onnx.reason})`];
  const on = Object.entries(r.onnx.methods);
  const compiled = on.filter(([, v]) => v.compiled).map(([m]) => m);
  const lines = [`backend: onnx under auto (${r.onnx.reason}); compiled to ONNX: ${compiled.length ? compiled.join(', ') : 'none'}`];
  const reasons = new Map<string, string[]>();
  for (const [m, v] of on) if (!v.compiled) reasons.set(v.reason!, [...(reasons.get(v.reason!) ?? []), m]);
  for (const [why, ms] of reasons) lines.push(`  ${why.startsWith('refused') ? why : `runs on wasm (${why})`}: ${ms.join(', ')}`);
  const ev = r.onnx.evaluate;
  lines.push(`  evaluate's perturbation batches: ${ev.compiled ? 'onnx (forward-only session, batched)' : `wasm (${ev.reason})`}`);
  return lines;
}

export function formatInfo(r: InfoReport, asLoaded = false): string {
  const lines: string[] = [];
  lines.push(`${r.model}  (${r.format}, ${r.nodes.length} nodes after canonization, ${r.nodesAsLoaded} as loaded, ${r.params} parameters)`);
  lines.push(`input ${r.input.join('×')}, output ${r.output.join('×')}${r.outputSoftmax ? ' (final softmax stripped: the logit is explained)' : ''}`);
  lines.push(`model card: ${r.card ?? 'none (defaults guessed: [0,1] scaling; relevance-lens card init MODEL writes one to edit)'}`);
  lines.push(`default composite: ${r.composite} (${r.compositeReason})`);
  lines.push('');
  if (asLoaded) {
    lines.push('as loaded, before canonization:');
    lines.push(table(['layer', 'op', 'source', 'output', 'params', 'methods', 'note'],
      r.loaded.map((n) => [n.name, n.op, n.sourceClass, n.shape.join('×'), n.params, n.supported ? 'all' : 'NONE', n.note ?? '']),
      [false, false, false, false, true, false, false]));
  } else {
    lines.push(table(['layer', 'op', 'source', 'output', 'params', `rule (${r.composite})`, 'methods', 'note'],
      r.nodes.map((n) => [n.name, n.activation ? `activation:${n.activation}` : n.op, n.source, n.shape.join('×'), n.params, n.rule, methodsCell(n), n.note ?? '']),
      [false, false, false, false, true, false, false, false]));
  }
  lines.push(...footer(r));
  lines.push(...backendLines(r));
  return lines.join('\n');
}

export async function runInfo(args: string[]): Promise<number> {
  const { positionals, values } = parseCommandArgs('info', {
    args, allowPositionals: true,
    options: { card: { type: 'string' }, json: { type: 'boolean' }, loaded: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(USAGE);
  const m = await openModel(positionals[0], values.card);
  const r = infoReport(m);
  if (values.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  else process.stdout.write(formatInfo(r, !!values.loaded) + '\n');
  return 0;
}
