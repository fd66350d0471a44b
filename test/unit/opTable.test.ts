/** The op table is the one source of what the engine supports: derived lists follow its entries. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Graph, Node, OpKind } from '../../src/core/graph/ir';
import { opDef, opKinds, rulesFor, takesRule, isWeighted } from '../../src/core/ops/registry';
import { summarizeGraph, engineOps } from '../../src/core/graph/summary';
import { inferShape } from '../../src/core/graph/builder';
import { resolveRules } from '../../src/core/composites/presets';
import { reluNet } from './helpers/methodNets';

const ALL: OpKind[] = ['input', 'conv2d', 'depthwiseConv2d', 'dense', 'batchNorm', 'activation', 'maxPool', 'avgPool',
  'globalAvgPool', 'flatten', 'reshape', 'add', 'concat', 'pad', 'identity', 'mul', 'prelu',
  'transpose', 'select', 'constant', 'matmul', 'layerNorm', 'softmax'];

test('op table: one entry per op kind, each declaring its own kind', () => {
  assert.deepEqual(new Set(opKinds()), new Set(ALL));
  for (const k of opKinds()) assert.equal(opDef(k).kind, k);
  assert.deepEqual(engineOps(), new Set(ALL));
  assert.throws(() => opDef('fancyNorm'), /op 'fancyNorm' is not in the op table/);
});

test('op table: rules and weighted layers derive from the entries', () => {
  for (const k of ALL) {
    const d = opDef(k);
    assert.equal(takesRule({ op: k }), d.rules !== undefined, k);
    // every op that takes a kernel rule has the LinearOp the rules work through; the transformer ops'
    // rules (norm-identity, softmax-taylor, bilinear-*) are their own (rules/transformerRules.ts)
    if (d.rules && d.rules.includes('epsilon')) assert.ok(d.linear, `${k} takes rules but has no LinearOp`);
    if (d.rules && !d.linear) assert.ok(['layerNorm', 'softmax', 'matmul'].includes(k), k);
  }
  assert.deepEqual(ALL.filter((k) => isWeighted({ op: k })), ['conv2d', 'depthwiseConv2d', 'dense']);
  assert.ok(rulesFor('batchNorm').includes('pass'));
  assert.ok(!rulesFor('conv2d').includes('pass'));
  assert.ok(rulesFor('dense').includes('z-box'));
  assert.deepEqual(rulesFor('maxPool'), []);
  assert.deepEqual(rulesFor('noSuchOp'), []);
});

test('op table: shape rules, support checks and rule overrides come from the entries', () => {
  const g = reluNet();
  // every node's recorded shape is what its entry's shape rule gives
  for (const n of g.nodes) {
    if (n.id === g.input) continue;
    assert.deepEqual(inferShape(n, n.inputs.map((i) => g.nodes[i].shape)), n.shape, n.name);
  }
  const dense = g.nodes.find((n) => n.op === 'dense')!;
  assert.throws(() => inferShape(dense, [[dense.params.kernel!.shape[0] + 1]]), /kernel expects \d+ inputs/);
  assert.throws(() => resolveRules(g, 'epsilon', { [dense.name]: { rule: 'pass' } }), /'pass' is for elementwise layers/);
  // an op the table lacks is reported as unsupported, by name
  const odd: Graph = { ...g, nodes: g.nodes.map((n) => (n.id === dense.id ? { ...n, op: 'fancyNorm' as OpKind } as Node : n)) };
  const s = summarizeGraph(odd);
  assert.equal(s.unsupported.length, 1);
  assert.match(s.unsupported[0].note!, /op 'fancyNorm' is not implemented by the engine/);
});
