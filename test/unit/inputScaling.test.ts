/**
 * A model that scales its own input (x·2 − 1 as a stand-alone BatchNorm, as converted TF.js graph
 * models do) before zero padding and the first conv: the scaling passes relevance through, the z^B
 * bounds are carried through it (and through the pad), the first layer conserves exactly, and the
 * engine agrees with the dense-matrix oracle. Also γ on mixed-sign inputs (sign-aware) against the oracle.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/core/engine/backend';
import { GraphBuilder } from '../../src/core/graph/builder';
import type { Graph } from '../../src/core/graph/ir';
import { Explainer } from '../../src/core/methods/explain';
import { oracleLrp } from './oracle/oracle';
import { diff, sum } from './oracle/compare';
import { randomParam } from '../../bench/models';

function scaledInputNet(): Graph {
  const b = new GraphBuilder('scaled');
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [8, 8, 2] });
  // mean 0.5, variance 0.25 - eps, no gamma/beta: y = (x - 0.5) / 0.5 = 2x - 1
  const eps = 1e-3;
  x = b.add({
    name: 'scale', op: 'batchNorm', inputs: [x], attrs: { epsilon: eps },
    params: { mean: { shape: [2], data: new Float32Array([0.5, 0.5]) }, variance: { shape: [2], data: new Float32Array([0.25 - eps, 0.25 - eps]) } },
  });
  x = b.add({ name: 'zp', op: 'pad', inputs: [x], attrs: { pads: [[1, 1], [1, 1]] } });
  x = b.add({
    name: 'conv1', op: 'conv2d', inputs: [x], attrs: { conv: { strides: [2, 2], padding: 'valid', dilations: [1, 1] } },
    params: { kernel: randomParam([3, 3, 2, 4], 18, 11), bias: randomParam([4], 1, 12) },
  });
  x = b.add({ name: 'relu1', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  x = b.add({
    name: 'conv2', op: 'conv2d', inputs: [x], attrs: { conv: { strides: [1, 1], padding: 'same', dilations: [1, 1] } },
    params: { kernel: randomParam([3, 3, 4, 4], 36, 13), bias: randomParam([4], 1, 14) },
  });
  x = b.add({ name: 'relu2', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  x = b.add({ name: 'flat', op: 'flatten', inputs: [x] });
  x = b.add({ name: 'fc', op: 'dense', inputs: [x], params: { kernel: randomParam([64, 3], 64, 15), bias: randomParam([3], 1, 16) } });
  return b.build('scaled', 'test', x);
}

function input(seed: number): Float32Array {
  const d = new Float32Array(8 * 8 * 2);
  let s = seed;
  for (let i = 0; i < d.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s / 4294967296;
  }
  return d;
}

test('input scaling passes relevance; z^B bounds carried through it conserve exactly and match the oracle', async () => {
  await initBackend('cpu');
  const g = scaledInputNet();
  const e = new Explainer(g);
  const x = input(3);
  const params = { low: 0, high: 1 };
  const r = e.explain({ shape: [8, 8, 2], data: x }, { method: 'lrp', composite: 'epsilon-gamma-box', params });
  assert.equal(r.rules.scale, 'pass');
  assert.match(r.rules.conv1, /^z-box/);
  const conv1 = r.layers.find((l) => l.name === 'conv1')!;
  assert.ok(Math.abs(r.inputRelevanceSum - conv1.outputRelevanceSum) <= 1e-5 * Math.abs(conv1.outputRelevanceSum),
    `z^B conserves through pad and scaling: ${r.inputRelevanceSum} vs ${conv1.outputRelevanceSum}`);
  const o = oracleLrp(g, x, { composite: 'epsilon-gamma-box', params });
  const d = diff(r.relevance.data, o.relevance);
  assert.ok(d.rel < 1e-4, `engine vs oracle rel ${d.rel}`);
  assert.ok(Math.abs(sum(o.relevance) - r.inputRelevanceSum) < 1e-4 * Math.abs(r.inputRelevanceSum));
  e.dispose();
});

test('γ on mixed-sign inputs and a negative logit (both sign-aware branches) matches the oracle', async () => {
  await initBackend('cpu');
  const g = scaledInputNet();
  const e = new Explainer(g);
  const x = input(7);
  const logits = e.predict({ shape: [8, 8, 2], data: x }).logits;
  const low = logits.indexOf(Math.min(...logits));
  for (const target of [low, logits.indexOf(Math.max(...logits))]) {
    const r = e.explain({ shape: [8, 8, 2], data: x }, { method: 'lrp', composite: 'gamma', targetClass: target, params: { gamma: 0.5 } });
    const o = oracleLrp(g, x, { composite: 'gamma', params: { gamma: 0.5 }, targetClass: target });
    const d = diff(r.relevance.data, o.relevance);
    assert.ok(d.rel < 1e-4, `class ${target} (logit ${logits[target]}): engine vs oracle rel ${d.rel}`);
  }
  e.dispose();
});
