/**
 * What a compiled explanation of a model with data movements holds beside its weights (Swin's cyclic
 * shifts and window partitions are `select` ops with an index map as long as their output). Read back
 * from the compiled model's protobuf and its in-memory external files, on the torchvision Swin fixture:
 * - each select's map is one int32 initializer that its forward Gather and its backward ScatterElements
 *   both read: no inverse map as long as the select's input (Swin-T: 107 → 31 MB of maps per graph);
 * - with the batch fixed at 1 (the CLI, the backward-only graph) a learnt constant is used as it is, not
 *   through an Expand that onnxruntime would fold into a second copy.
 * That the results are unchanged is onnxBackend.test.ts's (onnx = wasm on this fixture, every method).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { initBackend } from '../../src/core/engine/backend';
import { canonize } from '../../src/core/graph/canonize';
import { sizeOf } from '../../src/core/graph/ir';
import { loadModel } from '../../src/core/loaders/registry';
import { ruleParamsFor } from '../../src/core/methods/explain';
import type { ExplainOptions } from '../../src/core/methods/types';
import { compileExplanation } from '../../src/core/onnx/compile';
import { OnnxExplainer } from '../../src/core/onnx/onnxExplainer';
import { all, decodeFields, first, int, ints, str } from '../../src/core/loaders/protobuf';

const SWIN = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'transformers', 'swin.onnx');
const INT32 = 6;

interface Proto { nodes: { op: string; inputs: string[] }[]; int32Inits: Map<string, number> }

/** The nodes and the int32 initializers (name → element count) of a ModelProto. */
function readModel(model: Uint8Array): Proto {
  const graph = decodeFields(first(decodeFields(model), 7)!.bytes!);
  const nodes = all(graph, 1).map((f) => {
    const n = decodeFields(f.bytes!);
    return { op: str(first(n, 4)!), inputs: all(n, 1).map(str) };
  });
  const int32Inits = new Map<string, number>();
  for (const f of all(graph, 5)) {
    const t = decodeFields(f.bytes!);
    if (!first(t, 2) || int(first(t, 2)!) !== INT32) continue;
    const dims = ints(t, 1);
    int32Inits.set(str(first(t, 8)!), dims.reduce((a, b) => a * b, 1));
  }
  return { nodes, int32Inits };
}

test('a compiled Swin holds each select index map once (forward and backward read it) and no expanded copy of a constant', async () => {
  await initBackend('wasm');
  const g = canonize(await loadModel(SWIN));
  const selects = g.nodes.filter((n) => n.op === 'select');
  const constants = g.nodes.filter((n) => n.op === 'constant');
  assert.ok(selects.length >= 8 && constants.length >= 2, `fixture: ${selects.length} selects, ${constants.length} constants`);
  const mapEntries = selects.reduce((s, n) => s + sizeOf(n.shape), 0);
  const inputEntries = selects.reduce((s, n) => s + sizeOf(g.nodes[n.inputs[0]].shape), 0);
  const shape = g.nodes[g.input].shape;
  const input = { shape, data: new Float32Array(sizeOf(shape)).fill(0.1) };
  const o = new OnnxExplainer(g);
  try {
    const runs: ExplainOptions[] = [{ method: 'lrp', composite: 'attn-lrp' }, { method: 'gradient' }];
    for (const opts of runs) {
      const plan = o.plan(opts, ruleParamsFor(g, input, opts));
      assert.ok(!('reason' in plan), `${opts.method}: ${'reason' in plan ? plan.reason : ''}`);
      for (const batch of [undefined, 1]) {
        const what = `${opts.method}, batch ${batch ?? 'N'}`;
        const c = compileExplanation(g, { family: plan.family, leaks: true, batch, externalWeights: true });
        const { nodes, int32Inits } = readModel(c.proto.finish());
        const maps = [...int32Inits].filter(([name]) => name.startsWith('ix'));
        assert.equal(maps.length, selects.length, `${what}: ${maps.length} index maps for ${selects.length} selects`);
        const entries = maps.reduce((s, [, n]) => s + n, 0);
        // the old backward added an inverse map per select: inputEntries more
        assert.equal(entries, mapEntries, `${what}: ${entries} index entries, the selects' outputs have ${mapEntries} (inputs ${inputEntries})`);
        const readers = (name: string): string[] => nodes.filter((n) => n.inputs.includes(name)).map((n) => n.op);
        for (const [name] of maps) {
          const ops = readers(name);
          assert.ok(ops.includes('Gather'), `${what}: ${name} read by ${ops.join(', ')}`);
          // the batch-N graph expands the map to the batch first
          if (batch === 1) assert.ok(ops.includes('ScatterElements'), `${what}: ${name} read by ${ops.join(', ')}`);
        }
        // the in-memory external files carry the maps as they are: 4 bytes an entry
        const mapBytes = c.external.filter((x) => x.path.startsWith('ix')).reduce((s, x) => s + x.data.byteLength, 0);
        assert.equal(mapBytes, 4 * maps.filter(([, n]) => n * 4 >= 2 ** 16).reduce((s, [, n]) => s + n, 0));
        const expanded = nodes.filter((n) => n.op === 'Expand' && n.inputs.some((i) => /^c_/.test(i)));
        if (batch === 1) assert.deepEqual(expanded.map((n) => n.inputs[0]), [], `${what}: constants expanded to the batch`);
        else assert.ok(expanded.length >= constants.length, `${what}: ${expanded.length} constants expanded to a symbolic batch`);
      }
    }
  } finally {
    await o.dispose();
  }
});
