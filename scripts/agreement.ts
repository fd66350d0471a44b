/**
 * `npm run agreement`: the onnx and wasm backends on real models with real photos. Per model × photo ×
 * method: |R_onnx − R_wasm| over max |R_wasm| — its maximum, its 99th percentile and how many input values
 * exceed 1e-4 — and the largest conservation-table difference (out / in sums and leaks, over the largest
 * |sum|). Prints a markdown table; exit 1 when the 99th percentile or the table exceeds 1e-4 or the class
 * differs. The maximum is printed, not judged: where a max-pool window's two largest inputs, or a ReLU's
 * input, lie within the backends' float32 difference (~1e-6 of the layer's scale), each backend takes its
 * own side of the kink and the relevance under it moves (as against Zennit: README, Zennit check).
 *
 *   node out/scripts/agreement.js [--dir DIR] [--models resnet50,vgg16] [--photos a.jpg,b.png,...]
 *                                 [--methods lrp:epsilon-gamma-box,gradient,...] [--save DIR]
 * --save DIR writes each case's input and both backends' relevances as .npy (MODEL.PHOTO.METHOD.{input,wasm,onnx}.npy)
 * for scripts/models/gradient_floor.py, which measures how far PyTorch's own float32 gradients lie from float64
 * ones on the same inputs: the floor under which no float32 implementation can be expected to agree.
 * Models missing from DIR (default ~/.cache/relevance-lens/zoo) are written first by
 * scripts/models/export_torchvision.py (Debian python3-torch / python3-torchvision / python3-onnx); the
 * photos default to scikit-image's sample photos (Debian python3-skimage): retina and rocket have
 * max-pool windows that float32 rounding used to break differently on the two backends (ResNet-50).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { parseArgs } from 'util';
import { initBackend } from '../src/core/engine/backend';
import { cardBounds, openModel, readInput, type OpenedModel } from '../src/core/pipeline';
import { inputBounds } from '../src/core/card/modelCard';
import { Explainer, type ExplainOutput } from '../src/core/methods/explain';
import { OnnxExplainer } from '../src/core/onnx/onnxExplainer';
import { writeNpy } from '../src/core/io/npy';
import type { ExplainOptions, MethodName } from '../src/core/methods/types';

const TOL = 1e-4;
const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';

interface Row {
  model: string; photo: string; method: string; maxR: number; diff: number; p99: number; over: number; table: number; ok: boolean;
  wasmMs: number; onnxMs: number;
}

function methodOptions(spec: string, low?: number[], high?: number[]): ExplainOptions {
  const [method, composite] = spec.split(':');
  const params = { low, high };
  return composite ? { method: method as MethodName, composite, params, conservationDetail: true } : { method: method as MethodName, params };
}

/** Largest difference of the conservation tables' entries over the largest |entry|. */
function tableDiff(a: ExplainOutput, b: ExplainOutput): number {
  let d = 0;
  let s = Math.abs(a.target.logit);
  a.layers.forEach((l, i) => {
    const m = b.layers[i];
    if (m.name !== l.name || m.rule !== l.rule) d = Infinity;
    for (const k of ['outputRelevanceSum', 'inputRelevanceSum', 'biasLeak', 'stabilizerLeak'] as const) {
      if (l[k] === undefined) continue;
      s = Math.max(s, Math.abs(l[k]!));
      d = Math.max(d, Math.abs(l[k]! - (m[k] ?? NaN)) || (Number.isNaN(m[k]) ? Infinity : 0));
    }
  });
  return d / s;
}

/** The case's input (HWC) and both relevances as float32 .npy under DIR/STEM.{input,wasm,onnx}.npy. */
function save(dir: string, stem: string, input: { shape: number[]; data: Float32Array }, w: ExplainOutput, o: ExplainOutput): void {
  fs.mkdirSync(dir, { recursive: true });
  const shape = input.shape.slice(-3);
  fs.writeFileSync(path.join(dir, `${stem}.input.npy`), writeNpy(shape, input.data));
  fs.writeFileSync(path.join(dir, `${stem}.wasm.npy`), writeNpy(shape, w.relevance.data));
  fs.writeFileSync(path.join(dir, `${stem}.onnx.npy`), writeNpy(shape, o.relevance.data));
}

function ensureModels(dir: string, models: string[]): void {
  const missing = models.filter((m) => !fs.existsSync(path.join(dir, `${m}.onnx`)));
  if (!missing.length) return;
  console.log(`exporting ${missing.join(', ')} to ${dir} …`);
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', '..', 'scripts', 'models', 'export_torchvision.py'), '--models', missing.join(','), '--out', dir], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`export_torchvision.py failed for ${missing.join(', ')} (needs Debian python3-torch, python3-torchvision, python3-onnx)`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { dir: { type: 'string' }, models: { type: 'string' }, photos: { type: 'string' }, methods: { type: 'string' }, save: { type: 'string' } },
  });
  const dir = values.dir ?? process.env.RELEVANCE_LENS_ZOO ?? path.join(os.homedir(), '.cache', 'relevance-lens', 'zoo');
  const models = (values.models ?? 'resnet50,vgg16').split(',');
  const photos = values.photos ? values.photos.split(',') : ['retina.jpg', 'rocket.jpg', 'astronaut.png'].map((f) => path.join(SKIMAGE, f));
  for (const p of photos) if (!fs.existsSync(p)) throw new Error(`${p}: photo not found (default photos: apt-get install python3-skimage)`);
  const methods = (values.methods ?? 'lrp:epsilon-gamma-box,deconvnet,gradient').split(',');
  ensureModels(dir, models);
  await initBackend('wasm');
  const rows: Row[] = [];
  for (const name of models) {
    const model: OpenedModel = await openModel(path.join(dir, `${name}.onnx`), undefined, { keepRaw: false });
    const b = cardBounds(model) ?? inputBounds(model.card);
    const cases = photos.flatMap((photo) => methods.map((m) => ({ photo, m, input: readInput(photo, model).input, opts: methodOptions(m, b.low, b.high) })));
    // one backend at a time: each holds its own copy of the weights
    const wasm: { r: ExplainOutput; ms: number }[] = [];
    const we = new Explainer(model.graph);
    try {
      for (const c of cases) {
        const t0 = performance.now();
        wasm.push({ r: we.explain(c.input, c.opts), ms: performance.now() - t0 });
      }
    } finally {
      we.dispose();
    }
    const oe = new OnnxExplainer(model.graph);
    try {
      for (const [i, c] of cases.entries()) {
        const t0 = performance.now();
        const o = await oe.explain(c.input, c.opts);
        const ms = performance.now() - t0;
        if (o.backend !== 'onnx') throw new Error(`${name} ${c.m}: ran on ${o.backend} (${o.backendReason})`);
        const w = wasm[i].r;
        if (values.save) save(values.save, [name, path.basename(c.photo), c.m.replace(':', '_')].join('.'), c.input, w, o);
        let maxR = 0;
        let diff = 0;
        for (let k = 0; k < w.relevance.data.length; k++) {
          maxR = Math.max(maxR, Math.abs(w.relevance.data[k]));
          diff = Math.max(diff, Math.abs(w.relevance.data[k] - o.relevance.data[k]));
        }
        const d = Float64Array.from(w.relevance.data, (v, k) => Math.abs(v - o.relevance.data[k]) / maxR).sort();
        const p99 = d[Math.floor(0.99 * (d.length - 1))];
        const over = d.length - d.findIndex((v) => v > TOL);
        const table = tableDiff(w, o);
        const ok = maxR > 0 && p99 <= TOL && table <= TOL && o.target.class === w.target.class;
        rows.push({ model: name, photo: path.basename(c.photo), method: c.m, maxR, diff: diff / maxR, p99, over: d[d.length - 1] > TOL ? over : 0, table, ok, wasmMs: wasm[i].ms, onnxMs: ms });
        const r = rows[rows.length - 1];
        console.log(`${name} ${r.photo} ${c.m}: |diff|/max|R| max ${r.diff.toExponential(2)} p99 ${p99.toExponential(2)}, ${r.over} values over ${TOL}, table ${table.toExponential(2)}${ok ? '' : '  DISAGREE'}`);
      }
    } finally {
      await oe.dispose();
    }
  }
  console.log('\n| model | photo | method | max\\|R\\| | \\|diff\\|/max\\|R\\|: max | p99 | values > 1e-4 | table diff | wasm ms | onnx ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.model} | ${r.photo} | ${r.method} | ${r.maxR.toExponential(2)} | ${r.diff.toExponential(2)} | ${r.p99.toExponential(2)} | ${r.over} | ${r.table.toExponential(2)} | ${r.wasmMs.toFixed(0)} | ${r.onnxMs.toFixed(0)} |`);
  }
  const bad = rows.filter((r) => !r.ok);
  console.log(bad.length ? `\n${bad.length} of ${rows.length} disagree (99th percentile or table beyond ${TOL})` : `\nall ${rows.length} agree: 99th percentile and tables within ${TOL} (maxima above)`);
  return bad.length ? 1 : 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(`agreement: ${(e as Error).message}`);
  process.exit(2);
});
