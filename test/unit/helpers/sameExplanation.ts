/** Two explanations of one input compared: the onnx backend's against wasm's, the reference. */
import * as assert from 'node:assert/strict';
import type { ExplainOutput } from '../../../src/core/methods/explain';

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Asserts two explanations agree: relevance, target, and every conservation row. */
export function assertSameExplanation(w: ExplainOutput, o: ExplainOutput, what: string, tol = 1e-4): void {
  assert.equal(o.target.class, w.target.class, `${what}: class`);
  // the composite used ('auto' and no composite name the model's default), as the table and panel show it
  assert.equal(o.composite, w.composite, `${what}: composite`);
  const scale = maxAbs(w.relevance.data);
  assert.ok(scale > 0, `${what}: zero relevance`);
  const d = maxDiff(w.relevance.data, o.relevance.data);
  assert.ok(d <= tol * scale, `${what}: max |diff| ${d.toExponential(2)} > ${tol} · ${scale.toExponential(2)}`);
  assert.deepEqual(o.layers.map((l) => [l.name, l.rule]), w.layers.map((l) => [l.name, l.rule]), `${what}: rows`);
  const total = Math.max(Math.abs(w.target.logit), ...w.layers.map((l) => Math.abs(l.outputRelevanceSum)), 1e-12);
  w.layers.forEach((l, i) => {
    const m = o.layers[i];
    for (const k of ['outputRelevanceSum', 'inputRelevanceSum', 'biasLeak', 'stabilizerLeak'] as const) {
      if (l[k] === undefined) {
        assert.equal(m[k], undefined, `${what}: ${l.name}.${k}`);
        continue;
      }
      assert.ok(Math.abs(l[k]! - m[k]!) <= 1e-4 * total, `${what}: ${l.name}.${k} wasm ${l[k]} onnx ${m[k]}`);
    }
    // Σ|R| (the float32 floor's scale): on both backends or neither, the same to 1e-4 of itself
    for (const k of ['outputAbsSum', 'inputAbsSum'] as const) {
      assert.equal(m[k] === undefined, l[k] === undefined, `${what}: ${l.name}.${k} on one backend only`);
      if (l[k] !== undefined) assert.ok(Math.abs(l[k]! - m[k]!) <= 1e-4 * Math.max(l[k]!, total), `${what}: ${l.name}.${k} wasm ${l[k]} onnx ${m[k]}`);
    }
  });
}
