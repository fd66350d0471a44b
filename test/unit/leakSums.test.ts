/**
 * The bias and stabilizer shares of a large layer close its conservation row on wasm: a flat float32 sum of
 * 802,816 values there is off by ~1e-4 of itself (ResNeXt-50's layer1 1×1 convolutions left their rows open
 * by 1.2e-4), so the shares are summed in two levels like the row's own sums.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import { GraphBuilder } from '../../src/core/graph/builder';
import { randomParam } from '../../bench/models';
import type { ParamArray } from '../../src/core/graph/ir';

function positive(p: ParamArray, scale: number): ParamArray {
  return { shape: p.shape, data: p.data.map((v) => Math.abs(v) * scale) };
}

test('bias and ε shares of a 56×56×256 layer close its row to 1e-5 on wasm (z⁺ with bias, ε, the residual add)', async () => {
  await initBackend('wasm');
  const b = new GraphBuilder('wide');
  const x = b.add({ name: 'input', op: 'input', inputs: [], shape: [56, 56, 64] });
  const conv = (name: string, inp: number, seed: number): number => b.add({
    name, op: 'conv2d', inputs: [inp], attrs: { conv: { strides: [1, 1], padding: 'valid', dilations: [1, 1] } },
    params: { kernel: randomParam([1, 1, b.nodes[inp].shape[2], 256], 64, seed), bias: positive(randomParam([256], 1, seed + 1), 0.5) },
  });
  const big = conv('big', x, 3);
  const r1 = b.add({ name: 'r1', op: 'activation', inputs: [big], attrs: { activation: 'relu' } });
  const side = conv('side', x, 7);
  const r2 = b.add({ name: 'r2', op: 'activation', inputs: [side], attrs: { activation: 'relu' } });
  const add = b.add({ name: 'join', op: 'add', inputs: [r1, r2] });
  const gap = b.add({ name: 'gap', op: 'globalAvgPool', inputs: [add] });
  const out = b.add({ name: 'fc', op: 'dense', inputs: [gap], params: { kernel: positive(randomParam([256, 3], 256, 11), 1), bias: randomParam([3], 1, 12) } });
  const e = new Explainer(b.build('wide', 'test', out));
  let seed = 5;
  const input = { shape: [56, 56, 64], data: new Float32Array(56 * 56 * 64).map(() => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  }) };
  let checked = 0;
  for (const rules of [{ big: { rule: 'z-plus' as const }, side: { rule: 'z-plus' as const } }, { big: { rule: 'epsilon' as const, epsilon: 0.5 }, side: { rule: 'epsilon' as const, epsilon: 0.5 } }]) {
    const r = e.explain(input, { method: 'lrp', composite: 'epsilon', rules, conservationDetail: true });
    for (const l of r.layers.filter((row) => ['big', 'side', 'join'].includes(row.name))) {
      const terms = [l.outputRelevanceSum, l.inputRelevanceSum, l.biasLeak ?? 0, l.stabilizerLeak ?? 0];
      const gap = Math.abs(terms[0] - terms[1] - terms[2] - terms[3]);
      assert.ok(gap <= 1e-5 * Math.max(...terms.map(Math.abs)), `${l.name} (${l.rule}): out ${terms[0]} − in ${terms[1]} − bias ${terms[2]} − ε ${terms[3]} = ${gap.toExponential(2)}`);
      checked++;
    }
    // the shares are not negligible here: a wrong sum would show
    assert.ok(Math.abs(r.layers.find((row) => row.name === 'big')!.biasLeak!) > 0.1 * Math.abs(r.layers.find((row) => row.name === 'big')!.outputRelevanceSum));
  }
  assert.equal(checked, 6);
  e.dispose();
});
