/** Checks shared by the loader tests: predictions against a reference, every LRP preset, conservation. */
import * as assert from 'node:assert/strict';
import type { Graph } from '../../../src/core/graph/ir';
import { canonize } from '../../../src/core/graph/canonize';
import { Explainer, type InputArray } from '../../../src/core/methods/explain';
import { COMPOSITE_NAMES } from '../../../src/core/composites/presets';

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, `lengths differ: ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

export function softmax(x: ArrayLike<number>): Float32Array {
  const m = Math.max(...Array.from(x));
  const e = Array.from(x, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return Float32Array.from(e, (v) => v / s);
}

/** The model's output as the model computes it (uncanonized graph; softmax included where it has one). */
export function modelOutput(g: Graph, input: InputArray): Float32Array {
  const e = new Explainer(g);
  try {
    return e.predict(input).logits;
  } finally {
    e.dispose();
  }
}

/** The canonized graph's output in the model's terms (softmax re-applied where canonization stripped it). */
export function canonizedOutput(g: Graph, input: InputArray): Float32Array {
  const c = canonize(g);
  const e = new Explainer(c);
  try {
    const logits = e.predict(input).logits;
    return c.outputSoftmax && !g.outputSoftmax ? softmax(logits) : logits;
  } finally {
    e.dispose();
  }
}

/**
 * Nodes on the relevance path: every ancestor of the output except through the gate input of an
 * elementwise product (squeeze-excite / hard-swish gates receive no relevance, so their offsets,
 * e.g. hard-sigmoid's +0.5, are part of the nonlinearity and absorb nothing).
 */
function relevancePath(g: Graph): Set<number> {
  const on = new Set<number>([g.output]);
  for (let i = g.output; i >= 0; i--) {
    if (!on.has(i)) continue;
    const n = g.nodes[i];
    n.inputs.forEach((j, k) => {
      if (!((n.op as string) === 'mul' && k === 1)) on.add(j);
    });
  }
  return on;
}

/** A copy without biases on the relevance path: linear biases, BatchNorm β and mean, affine shifts zero. */
export function stripBiases(g: Graph): Graph {
  const on = relevancePath(g);
  return {
    ...g,
    nodes: g.nodes.map((n) => {
      if (!on.has(n.id)) return { ...n, inputs: n.inputs.slice() };
      const p = { ...n.params };
      if (p.bias) p.bias = { shape: p.bias.shape.slice(), data: new Float32Array(p.bias.data.length) };
      if (p.beta) p.beta = { shape: p.beta.shape.slice(), data: new Float32Array(p.beta.data.length) };
      if (p.mean) p.mean = { shape: p.mean.shape.slice(), data: new Float32Array(p.mean.data.length) };
      return { ...n, params: p, inputs: n.inputs.slice() };
    }),
  };
}

export interface PresetRun {
  composite: string;
  ms: number;
  inputRelevanceSum: number;
  logit: number;
  layers: number;
  worstRatio: string;
}

/** Runs every LRP preset on the canonized graph; each must give finite relevance of the input's shape. */
export function runAllPresets(g: Graph, input: InputArray, log = false): PresetRun[] {
  const e = new Explainer(canonize(g));
  const runs: PresetRun[] = [];
  try {
    for (const composite of COMPOSITE_NAMES) {
      const t0 = performance.now();
      const r = e.explain(input, { method: 'lrp', composite });
      const ms = performance.now() - t0;
      assert.equal(r.relevance.data.length, input.data.length, `${composite}: relevance has the input's size`);
      for (const v of r.relevance.data) assert.ok(Number.isFinite(v), `${composite}: relevance is finite`);
      assert.ok(r.layers.length > 0, `${composite}: conservation table has rows`);
      const worst = r.layers.reduce((w, l) => (Math.abs(l.ratio - 1) > Math.abs(w.ratio - 1) ? l : w), r.layers[0]);
      runs.push({
        composite, ms: Math.round(ms), inputRelevanceSum: r.inputRelevanceSum, logit: r.target.logit, layers: r.layers.length,
        worstRatio: `${worst.name} (${worst.op}, ${worst.rule}) ${worst.ratio.toFixed(4)}`,
      });
      if (log && composite === COMPOSITE_NAMES[0]) {
        console.log(`conservation table (${composite}):`);
        for (const l of r.layers) console.log(`  ${l.name.padEnd(48)} ${l.op.padEnd(16)} ${l.rule.padEnd(22)} out ${l.outputRelevanceSum.toPrecision(5).padStart(12)} in ${l.inputRelevanceSum.toPrecision(5).padStart(12)} ratio ${l.ratio.toFixed(4)}`);
      }
    }
  } finally {
    e.dispose();
  }
  if (log) console.table(runs);
  return runs;
}

/** LRP-0 on the bias-free copy: the input relevance sums to the explained logit (relative error). */
export function biasFreeConservation(g: Graph, input: InputArray): { rel: number; sum: number; logit: number } {
  const e = new Explainer(canonize(stripBiases(g)));
  try {
    const r = e.explain(input, { method: 'lrp', composite: 'lrp-0' });
    const rel = Math.abs(r.inputRelevanceSum - r.target.logit) / Math.max(Math.abs(r.target.logit), 1e-12);
    return { rel, sum: r.inputRelevanceSum, logit: r.target.logit };
  } finally {
    e.dispose();
  }
}
