/** `relevance-lens info MODEL`: nodes, shapes, parameters, and what the engine supports. */
import { parseArgs } from 'util';
import { openModel } from '../../core/pipeline';
import { paramCount } from '../../core/graph/ir';
import { compositeRules, DEFAULT_COMPOSITE } from '../../core/composites/presets';
import { DEFAULT_RULE_PARAMS, formatRule } from '../../shared/ruleSpec';
import { inputBounds } from '../../core/card/modelCard';
import { table } from '../format';
import { UsageError } from '../errors';

export async function runInfo(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { card: { type: 'string' }, json: { type: 'boolean' } } });
  if (positionals.length !== 1) throw new UsageError('usage: relevance-lens info MODEL [--card FILE] [--json]');
  const m = await openModel(positionals[0], values.card);
  const g = m.graph;
  const rules = compositeRules(g, DEFAULT_COMPOSITE);
  const bounds = inputBounds(m.card);
  const params = { ...DEFAULT_RULE_PARAMS, low: bounds.low, high: bounds.high };
  const rows = g.nodes.map((n) => ({
    name: n.name, op: n.op, source: n.sourceClass ?? '', shape: n.shape, params: paramCount(n),
    rule: rules.has(n.id) ? formatRule(rules.get(n.id)!, params) : '',
  }));
  if (values.json) {
    process.stdout.write(JSON.stringify({ model: m.file, format: g.format, input: g.nodes[g.input].shape, outputSoftmax: !!g.outputSoftmax, card: m.cardPath ?? null, nodes: rows }, null, 2) + '\n');
    return 0;
  }
  const total = g.nodes.reduce((s, n) => s + paramCount(n), 0);
  process.stdout.write(`${m.file}  (${g.format}, ${g.nodes.length} nodes after canonization, ${m.raw.nodes.length} as loaded, ${total} parameters)\n`);
  process.stdout.write(`input ${g.nodes[g.input].shape.join('×')}, output ${g.nodes[g.output].shape.join('×')}${g.outputSoftmax ? ' (final softmax stripped: the logit is explained)' : ''}\n`);
  process.stdout.write(`model card: ${m.cardPath ?? 'none (defaults guessed: [0,1] scaling)'}\n\n`);
  process.stdout.write(table(['layer', 'op', 'source', 'output', 'params', `rule (${DEFAULT_COMPOSITE})`],
    rows.map((r) => [r.name, r.op, r.source, r.shape.join('×'), r.params, r.rule]), [false, false, false, false, true, false]) + '\n');
  return 0;
}
