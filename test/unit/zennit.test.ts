/**
 * The engine against an outside LRP implementation: Zennit 0.5.1 (PyTorch) on the loader fixtures' small
 * CNN (residual Sum, concat, depthwise conv, ReLU6, max/avg pooling, a stand-alone BatchNorm before a
 * LeakyReLU, so γ and αβ see negative inputs). test/fixtures/zennit holds Zennit's input relevances and
 * per-layer sums, written by scripts/fixtures/zennit_reference.py (see its docstring for how each
 * convention was matched). Every composite of the engine must have a reference.
 *
 * Tolerance: both sides compute in float32 with different summation orders; on this net they agree to
 * ≈ 6e-7 of max |R| (measured when the fixtures were made). TOL = 1e-5 leaves a 15× margin for backend
 * and BLAS order differences and is still far below any rule change: γ 0.25 → 0.26 moves the result by
 * more than 100 × TOL (asserted below), and a code mutation of the γ rule fails this file.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer, type ExplainOutput, type InputArray } from '../../src/core/methods/explain';
import { COMPOSITE_NAMES } from '../../src/core/composites/presets';
import type { RuleSpec } from '../../src/shared/ruleSpec';
import { openModel } from '../../src/core/pipeline';
import { readNpy } from '../../src/core/io/npy';
import { runCli } from './helpers/cli';
import { GAMMA_NOBIAS, maxRelDiff, moduleName, NOT_IN_ZENNIT, WEIGHTED_OPS, type ZennitComposite } from './helpers/zennit';

const TOL = 1e-5;
const NOBIAS_TOL = 5e-5;
const ROOT = path.join(__dirname, '..', '..', '..');
const DIR = path.join(ROOT, 'test', 'fixtures', 'zennit');
const MODEL = path.join(ROOT, 'test', 'fixtures', 'loaders', 'cnn.onnx');

interface ZennitManifest { zennit: string; low: number; high: number; composites: Record<string, ZennitComposite> }
const manifest = JSON.parse(fs.readFileSync(path.join(DIR, 'cnn.zennit.json'), 'utf8')) as ZennitManifest;
const npy = (f: string): Float32Array => readNpy(fs.readFileSync(f), f).data;
const input: InputArray = { shape: [16, 16, 3], data: npy(path.join(DIR, 'input.npy')) };
const reference = (c: string): Float32Array => npy(path.join(DIR, manifest.composites[c].file));

let ex: Explainer;
const results = new Map<string, ExplainOutput>();
const report: string[] = [];

function ours(composite: string, gamma?: number): ExplainOutput {
  const key = `${composite}:${gamma ?? ''}`;
  let r = results.get(key);
  if (!r) {
    const params = { low: [manifest.low, manifest.low, manifest.low], high: [manifest.high, manifest.high, manifest.high], ...(gamma ? { gamma } : {}) };
    // bias-free variants: the stand-alone BatchNorm keeps ε with its shift on both sides (zennit_reference.py
    // says why), so the comparison covers the bias-free conv / dense rules
    const rules: Record<string, RuleSpec> = composite.endsWith('-nobias') ? { '/pool_bn/BatchNormalization': { rule: 'epsilon' } } : {};
    r = ex.explain(input, { method: 'lrp', composite, params, rules });
    results.set(key, r);
  }
  return r;
}

test.before(async () => {
  await initBackend('wasm');
  ex = new Explainer((await openModel(MODEL)).graph);
});

test.after(() => {
  ex.dispose();
  console.log(`engine vs Zennit ${manifest.zennit}, small CNN, max |ours − zennit| / max |zennit|:\n${report.join('\n')}`);
});

/**
 * Engine composites Zennit has no counterpart for: the depthwise-w² preset (our own) and the transformer
 * composites (on a CNN they reduce to ε / γ presets already covered; their attention and LayerNorm rules
 * are checked by the float64 transformer oracle).
 */
const SHARED = COMPOSITE_NAMES.filter((c) => !NOT_IN_ZENNIT.test(c));
// GAMMA_NOBIAS (helpers/zennit.ts): the engine picks bias-free γ's branch by z without bias, Zennit by the
// output with bias. With Zennit's choice put into the engine they came within 3.6e-5 / 1.1e-3 of Zennit's
// references, so the difference is that choice.

test('every engine composite Zennit shares (bias-free variants included) has a Zennit reference, and the references tell composites apart', () => {
  assert.deepEqual(Object.keys(manifest.composites).sort(), [...SHARED].sort());
  assert.ok(SHARED.some((c) => c.endsWith('-nobias')), 'bias-free variants are compared too');
  // lrp-0 is the z-rule with the 1e-6 stabilizer, i.e. epsilon at its default: the only identical pair;
  // a bias-free flat first layer differs from the non-flat one only where the first layer's bias mattered
  const names = SHARED.filter((c) => c !== 'lrp-0');
  for (const a of names) {
    for (const b of names) {
      if (a < b) assert.ok(maxRelDiff(reference(a), reference(b)) > 100 * TOL, `${a} and ${b} references should differ`);
    }
  }
});

for (const composite of SHARED.filter((c) => !GAMMA_NOBIAS.has(c))) {
  test(`${composite}: input relevance and per-layer sums match Zennit`, () => {
    const z = manifest.composites[composite];
    const r = ours(composite);
    assert.equal(r.target.class, z.class, 'explained class');
    assert.ok(Math.abs(r.target.logit - z.logit) <= TOL * Math.abs(z.logit), `logit ${r.target.logit} vs ${z.logit}`);
    const rel = maxRelDiff(r.relevance.data, reference(composite));
    // Bias-free variants do not conserve: layer sums reach 17× the logit here, and their ε = 1e-6 dense
    // layers without bias divide by sums near 0, which amplifies float32 rounding on both sides. Their
    // sums are compared relative to the larger of the logit and the sum itself, with NOBIAS_TOL (measured:
    // ≤ 2.1e-5).
    const nobias = composite.endsWith('-nobias');
    const tol = nobias ? NOBIAS_TOL : TOL;
    const scaleOf = (want: number): number => (nobias ? Math.max(Math.abs(z.logit), Math.abs(want)) : Math.abs(z.logit));
    const scale = scaleOf(z.inputSum);
    let worstSum = Math.abs(r.inputRelevanceSum - z.inputSum) / scale;
    const matched = new Set<string>();
    for (const row of r.layers) {
      const want = z.layerOutputSums[moduleName(row.name)];
      if (want === undefined || !WEIGHTED_OPS.includes(row.op)) continue;
      matched.add(moduleName(row.name));
      const d = Math.abs(row.outputRelevanceSum - want) / scaleOf(want);
      assert.ok(d <= tol, `${composite}: ${row.name} output relevance sum ${row.outputRelevanceSum} vs Zennit ${want}`);
      worstSum = Math.max(worstSum, d);
    }
    assert.deepEqual([...matched].sort(), Object.keys(z.layerOutputSums).sort(), 'every Zennit layer compared');
    report.push(`  ${composite.padEnd(26)} input ${rel.toExponential(2)}   sums (of |f_c|) ${worstSum.toExponential(2)}`);
    assert.ok(rel <= tol, `${composite}: max relative difference ${rel.toExponential(2)} > ${tol}`);
    assert.ok(Math.abs(r.inputRelevanceSum - z.inputSum) <= tol * scale, `input sum ${r.inputRelevanceSum} vs ${z.inputSum}`);
  });
}

test('the comparison sees a small rule change: γ = 0.26 instead of 0.25 is far outside the tolerance', () => {
  for (const composite of ['gamma', 'epsilon-gamma-box']) {
    const rel = maxRelDiff(ours(composite, 0.26).relevance.data, reference(composite));
    assert.ok(rel > 100 * TOL, `${composite} with γ = 0.26: ${rel.toExponential(2)}`);
  }
});

test('CLI: explain cnn.onnx --npy gives Zennit\'s epsilon-gamma-box relevance', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-zennit-'));
  try {
    const out = path.join(tmp, 'r.npy');
    const r = runCli(['explain', MODEL, path.join(DIR, 'input.npy'), '--low', '0', '--high', '1', '--npy', out]);
    assert.equal(r.code, 0, r.stderr);
    const rel = maxRelDiff(npy(out), reference('epsilon-gamma-box'));
    assert.ok(rel <= TOL, `CLI: ${rel.toExponential(2)}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
