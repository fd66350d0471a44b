/**
 * Every node of a compiled explanation feeds a graph output: a node nobody reads costs session creation
 * (onnxruntime plans its buffers) and, without graph optimisation (the CLI's one-run session), its run.
 * Read back from the model's protobuf. The pattern family's in-graph rescaling once wrapped every visited
 * node's consumed entries in a dead Mul at each later weighted node (EfficientNet-B0: 12 k nodes, 35 s of
 * session creation, against 2.4 k and 0.4 s).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/core/engine/backend';
import { ruleParamsFor } from '../../src/core/methods/explain';
import { OnnxExplainer } from '../../src/core/onnx/onnxExplainer';
import { compileExplanation } from '../../src/core/onnx/compile';
import { skipsOptimisation } from '../../src/core/onnx/oneRun';
import { all, decodeFields, first, str } from '../../src/core/loaders/protobuf';
import type { Graph } from '../../src/core/graph/ir';
import { sizeOf } from '../../src/core/graph/ir';
import type { ExplainOptions } from '../../src/core/methods/types';
import { quickPatterns, Rand, reluNet, smoothNet } from './helpers/methodNets';
import { makeNet } from './oracle/randomNets';
import { NET_SEEDS } from './oracle/cases';
import { randomBlock } from './oracle/transformer';
import { blockGraph } from './oracle/transformerGraph';

/**
 * Node count, the nodes none of whose outputs is read by a node or is a graph output (ModelProto 7 →
 * GraphProto), and the nodes that repeat an earlier one (the same op on the same inputs with the same
 * attributes): onnxruntime's one-run session on nets without layer norms has no common-subexpression
 * pass to merge them (the repeated γ bias terms: 104 of ResNet-50's 2,537 CLI nodes).
 */
function deadNodes(model: Uint8Array): { nodes: number; dead: string[]; repeated: string[] } {
  const graph = decodeFields(first(decodeFields(model), 7)!.bytes!);
  const nodes = all(graph, 1).map((f) => {
    const n = decodeFields(f.bytes!);
    const attrs = all(n, 5).map((a) => Buffer.from(a.bytes!).toString('hex')).join('|');
    return { op: str(first(n, 4)!), inputs: all(n, 1).map(str), outputs: all(n, 2).map(str), attrs };
  });
  const read = new Set([...nodes.flatMap((n) => n.inputs), ...all(graph, 12).map((f) => str(first(decodeFields(f.bytes!), 1)!))]);
  const seen = new Set<string>();
  const repeated: string[] = [];
  for (const n of nodes) {
    const key = `${n.op}(${n.inputs.join(',')})${n.attrs}`;
    if (seen.has(key)) repeated.push(`${n.op}(${n.inputs.join(',')})`);
    seen.add(key);
  }
  return { nodes: nodes.length, dead: nodes.filter((n) => !n.outputs.some((o) => read.has(o))).map((n) => `${n.op}(${n.outputs.join(',')})`), repeated };
}

test('compiled explanations (LRP, gradient, PatternNet, PatternAttribution) have no node that feeds nothing', async () => {
  await initBackend('wasm');
  const residual = (await makeNet('residual', NET_SEEDS.residual, {})).graph;
  const nets: Graph[] = [reluNet(), smoothNet(1), residual, blockGraph(randomBlock(3))];
  for (const g of nets) {
    const shape = g.nodes[g.input].shape;
    const input = { shape, data: new Rand(3).array(sizeOf(shape), 1, 0) };
    const ps = quickPatterns(g);
    const o = new OnnxExplainer(g);
    try {
      const runs: ExplainOptions[] = [
        { method: 'lrp', composite: g.name === 'oracle-block' ? 'attn-lrp' : 'epsilon-gamma-box', params: { low: -1, high: 1 } },
        { method: 'gradient' }, { method: 'pattern-net', patterns: ps }, { method: 'pattern-attribution', patterns: ps },
      ];
      for (const opts of runs) {
        const plan = o.plan(opts, ruleParamsFor(g, input, opts));
        assert.ok(!('reason' in plan), `${g.name} ${opts.method}: ${'reason' in plan ? plan.reason : ''}`);
        for (const unfolded of [false, true]) {
          const { nodes, dead, repeated } = deadNodes(compileExplanation(g, { family: plan.family, leaks: true, unfolded }).proto.finish());
          assert.deepEqual(dead, [], `${g.name} ${opts.method}: ${dead.length} of ${nodes} nodes feed nothing`);
          // the graphs that run without onnxruntime's optimisations (the CLI's and the extension's own, on nets
          // without layer norms)
          if (unfolded && skipsOptimisation(g)) assert.deepEqual(repeated, [], `${g.name} ${opts.method}: ${repeated.length} of ${nodes} nodes repeat another`);
        }
      }
    } finally {
      await o.dispose();
    }
  }
});
