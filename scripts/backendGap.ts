/**
 * Where the compiled path and wasm part, layer by layer: the relevance at every node's output under one
 * composite, max |R_onnx − R_wasm| / max |R_wasm| beside max |R_wasm(x') − R_wasm(x)| / max |R_wasm|, where x'
 * is the input with every value moved by one float32 rounding (x·(1 ± 2⁻²⁴), seeded signs). Where the two
 * columns grow together the backends differ by what float32 rounding does to this explanation anyway; a rule
 * that differs shows as a jump in the first column alone.
 *
 *   node out/scripts/backendGap.js MODEL [--dir DIR] [--composite NAME] [--layers REGEX] [--method lrp|gradient] [--save DIR]
 *
 * MODEL: a torchvision export of scripts/models/export_torchvision.py (DIR, default ~/.cache/relevance-lens/zoo).
 * Rows in backward order (output first); `--layers` keeps only the matching node names (memory on big nets).
 * `--save DIR` writes each kept node's relevance (HWC, without batch) as DIR/{wasm,onnx}/NAME.npy (NAME's '/' → '.', no leading one),
 * for a float64 reference to compare with (scripts/fixtures/zennit_float64.py --layers-from DIR).
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { Explainer } from '../src/core/methods/explain';
import { defaultCompositeFor } from '../src/core/composites/presets';
import { writeNpy } from '../src/core/io/npy';
import { OnnxExplainer } from '../src/core/onnx/onnxExplainer';
import type { ExplainOptions, MethodName } from '../src/core/methods/types';
import { maxAbs, maxAbsDiff, oneRounding } from './float32Gap';
import { openZooExport } from './zooExport';

function fail(msg: string): never {
  process.stderr.write(`backendGap: ${msg}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { dir: { type: 'string' }, composite: { type: 'string' }, layers: { type: 'string' }, method: { type: 'string' }, save: { type: 'string' } },
  });
  const model = positionals[0] ?? fail('name a model, e.g. convnext_tiny');
  const { g, input } = await openZooExport(model, values.dir, fail);
  const moved = { shape: input.shape, data: oneRounding(input.data) };
  const method = (values.method ?? 'lrp') as MethodName;
  const opts: ExplainOptions = method === 'lrp' ? { method, composite: values.composite ?? defaultCompositeFor(g) } : { method };
  const filter = new RegExp(values.layers ?? '.');
  const names = g.nodes.filter((n) => n.id !== g.input && filter.test(n.name)).map((n) => n.name);

  const w = new Explainer(g);
  const a = w.explain(input, opts, { keepLayers: names });
  const p = w.explain(moved, opts, { keepLayers: names });
  w.dispose();
  const o = new OnnxExplainer(g);
  const b = await o.explain(input, opts, { keepLayers: names });
  await o.dispose();
  if (b.backend !== 'onnx') fail(`${model} ran on wasm: ${b.backendReason}`);

  if (values.save) {
    for (const [side, out] of [['wasm', a], ['onnx', b]] as const) {
      const d = path.join(values.save, side);
      fs.mkdirSync(d, { recursive: true });
      for (const [name, r] of Object.entries(out.layerRelevance ?? {})) fs.writeFileSync(path.join(d, `${name.replace(/^\//, '').replace(/\//g, '.')}.npy`), writeNpy(r.shape, r.data));
      fs.writeFileSync(path.join(d, 'input.npy'), writeNpy(out.relevance.shape, out.relevance.data));
    }
  }
  const rows = [`${model} ${method} ${opts.composite ?? ''}: relevance at each node's output, max |Δ| / max |R_wasm|`,
    `${'id'.padStart(4)}  ${'op'.padEnd(16)}${'max |R|'.padStart(9)}  ${'onnx−wasm'.padStart(9)}  ${'one rounding'.padStart(12)}  node`];
  for (const n of [...g.nodes].reverse()) {
    const ra = a.layerRelevance?.[n.name]?.data;
    const rb = b.layerRelevance?.[n.name]?.data;
    const rp = p.layerRelevance?.[n.name]?.data;
    if (!ra || !rb || !rp) continue;
    const m = maxAbs(ra);
    rows.push(`${String(n.id).padStart(4)}  ${n.op.padEnd(16)}${m.toExponential(2).padStart(9)}  ${(maxAbsDiff(ra, rb) / m).toExponential(2).padStart(9)}  `
      + `${(maxAbsDiff(ra, rp) / m).toExponential(2).padStart(12)}  ${n.name}`);
  }
  const m = maxAbs(a.relevance.data);
  rows.push(`${'in'.padStart(4)}  ${'input'.padEnd(16)}${m.toExponential(2).padStart(9)}  ${(maxAbsDiff(a.relevance.data, b.relevance.data) / m).toExponential(2).padStart(9)}  `
    + `${(maxAbsDiff(a.relevance.data, p.relevance.data) / m).toExponential(2).padStart(12)}`);
  process.stdout.write(rows.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(`backendGap: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
