/**
 * Max-pool winners under float32 rounding: values equal in real arithmetic come out of a conv a few ulps
 * apart, differently on each backend, so the winner is the window's first entry within MAX_POOL_TIE
 * (relative) of its maximum. Checked by hand on windows built for it (near ties a few ulps apart either
 * way, a real gap just above the tolerance, exact ties at zero), tiled and overlapping, on both backends.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/core/engine/backend';
import { MAX_POOL_TIE } from '../../src/core/engine/poolOps';
import { GraphBuilder } from '../../src/core/graph/builder';
import type { Graph, PoolAttrs } from '../../src/core/graph/ir';
import { Explainer } from '../../src/core/methods/explain';
import { OnnxExplainer } from '../../src/core/onnx/onnxExplainer';

/** input [h, w, 1] -> max pool -> flatten -> dense to 2 logits with weights 1..n (each window's signal is known). */
function poolNet(h: number, w: number, pool: PoolAttrs, outN: number): Graph {
  const b = new GraphBuilder('ties');
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [h, w, 1] });
  x = b.add({ name: 'pool', op: 'maxPool', inputs: [x], attrs: { pool } });
  x = b.add({ name: 'flat', op: 'flatten', inputs: [x] });
  const k = new Float32Array(outN * 2);
  for (let i = 0; i < outN; i++) k[i * 2] = i + 1;
  x = b.add({ name: 'logits', op: 'dense', inputs: [x], params: { kernel: { shape: [outN, 2], data: k } } });
  return b.build('ties', 'test', x);
}

/** The gradient of logit 0 by hand: window o's weight o+1 at its winner (first entry ≥ max − τ|max|). */
function byHand(x: Float32Array, h: number, w: number, pool: PoolAttrs): Float32Array {
  const [kh, kw] = pool.poolSize;
  const [sh, sw] = pool.strides;
  const oh = Math.floor((h - kh) / sh) + 1;
  const ow = Math.floor((w - kw) / sw) + 1;
  const g = new Float32Array(h * w);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      const win: number[] = [];
      for (let dy = 0; dy < kh; dy++) for (let dx = 0; dx < kw; dx++) win.push((oy * sh + dy) * w + ox * sw + dx);
      const top = Math.max(...win.map((i) => x[i]));
      const first = win.find((i) => x[i] >= top - MAX_POOL_TIE * Math.abs(top))!;
      g[first] += oy * ow + ox + 1;
    }
  }
  return g;
}

const ULP1 = 2 ** -23; // one ulp of a value in [1, 2)

test('max-pool winners: first entry within the tie tolerance, on wasm and onnx, tiled and overlapping windows', async () => {
  await initBackend('wasm');
  const h = 4;
  const w = 6;
  // windows of 2×2 (tiled): near ties a few ulps apart in both orders, a real gap, exact zeros, a negative window
  const rows = [
    [1.5, 1.5 * (1 + 3 * ULP1), 0.7, 0.7 * (1 + 2e-5), 0, 0],
    [0.2, 1.5 * (1 - 2 * ULP1), 0.7, 0.1, 0, 0],
    [-2, -2 * (1 - 4 * ULP1), 3, 3 * (1 - 4 * ULP1), 1, 1],
    [-3, -2.5, 3 * (1 + 4 * ULP1), 0, 1, 1],
  ];
  const x = Float32Array.from(rows.flat());
  for (const pool of [
    { poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
    { poolSize: [2, 2], strides: [1, 1], padding: 'valid' },
    { poolSize: [3, 2], strides: [1, 2], padding: 'valid' },
  ] as PoolAttrs[]) {
    const oh = Math.floor((h - pool.poolSize[0]) / pool.strides[0]) + 1;
    const ow = Math.floor((w - pool.poolSize[1]) / pool.strides[1]) + 1;
    const g = poolNet(h, w, pool, oh * ow);
    const want = byHand(x, h, w, pool);
    // the tolerance decides here: near ties go to the first entry, the 2e-5 gap to the larger one
    if (pool.strides[0] === 2) assert.deepEqual(Array.from(want.slice(0, 4)), [1, 0, 0, 2], 'window 1: first of a near tie; window 2: the larger');
    const we = new Explainer(g);
    const oe = new OnnxExplainer(g);
    try {
      const input = { shape: [h, w, 1], data: x };
      const a = we.explain(input, { method: 'gradient', targetClass: 0 });
      const b = await oe.explain(input, { method: 'gradient', targetClass: 0 });
      assert.equal(b.backend, 'onnx');
      assert.deepEqual(Array.from(a.relevance.data), Array.from(want), `wasm ${JSON.stringify(pool)}`);
      assert.deepEqual(Array.from(b.relevance.data), Array.from(want), `onnx ${JSON.stringify(pool)}`);
      // LRP routes the same way: R at the winners only
      const lrp = we.explain(input, { method: 'lrp', composite: 'epsilon', targetClass: 0 });
      const lo = await oe.explain(input, { method: 'lrp', composite: 'epsilon', targetClass: 0 });
      lrp.relevance.data.forEach((v, i) => assert.equal(v !== 0, want[i] !== 0 && x[i] !== 0, `lrp at ${i}`));
      lrp.relevance.data.forEach((v, i) => assert.ok(Math.abs(v - lo.relevance.data[i]) <= 1e-6 * Math.abs(v) + 1e-12, `lrp onnx at ${i}`));
    } finally {
      we.dispose();
      await oe.dispose();
    }
  }
});
