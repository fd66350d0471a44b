/**
 * Large dense kernels go first in their products (engine/denseOps.ts), so XNNPACK packs no copy of them
 * and no transposed copy is derived, and their variants (w⁺, w + γw⁺, …) are derived and applied in
 * blocks of rows (VGG16's 25088 × 4096 layer ran out of the wasm heap). With the size threshold forced to
 * 0, every dense layer of the small random nets takes that path, with blocks of 1 row, of a few rows
 * (the last one shorter) and of the whole kernel: relevances and gradients must still equal the float64
 * oracle (a dropped or shifted block would not), no kernel variant may be cached, nothing may leak.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend, tf } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import { PreparedGraph } from '../../src/core/engine/prepared';
import type { Graph } from '../../src/core/graph/ir';
import { oracleGradient, oracleLrp, type Fault } from './oracle/oracle';
import { diff } from './oracle/compare';
import { makeNet, type RandomNet } from './oracle/randomNets';
import { NET_SEEDS } from './oracle/cases';
import { blockForward, blockLrp, randomBlock, type Mat } from './oracle/transformer';
import { blockGraph, f32 } from './oracle/transformerGraph';

const TOL = 1e-4;
/** the composites that ran out of the wasm heap on VGG16, and z-box (w⁺ / w⁻ on the first dense layer of 'mlp') */
const COMPOSITES = ['alpha-beta', 'alpha-beta-nobias', 'gamma-nobias', 'attn-lrp-gamma-nobias', 'cp-lrp-gamma-nobias', 'epsilon-gamma-box'];
const NETS = ['mlp', 'strided'];

const nets = new Map<string, RandomNet>();

before(async () => {
  await initBackend('wasm');
  for (const name of NETS) nets.set(name, await makeNet(name, NET_SEEDS[name]));
});
after(() => nets.forEach((n) => n.model.dispose()));

/** bytes per block: one row; two rows of a 6-unit layer (the last block of an odd row count is one row); whole kernels */
const BLOCKS = [1, 52, 2 ** 25];

function forcedLarge(g: Graph, blockBytes = 52): PreparedGraph {
  const prep = new PreparedGraph(g, { largeKernelBytes: 0, blockBytes });
  const dense = g.nodes.filter((n) => n.op === 'dense');
  assert.ok(dense.length > 0 && dense.every((n) => prep.largeKernel(n.id)), 'every dense layer takes the large-kernel path');
  return prep;
}

for (const name of NETS) for (const blockBytes of BLOCKS) {
  test(`'${name}' with every dense kernel first, blocks of ${blockBytes} bytes: LRP composites and the gradient equal the float64 oracle`, () => {
    const net = nets.get(name)!;
    const g = net.graph;
    const start = tf.memory().numTensors;
    const prep = forcedLarge(g, blockBytes);
    const rows = g.nodes.filter((n) => n.op === 'dense').map((n) => n.params.kernel!.shape);
    if (blockBytes === 52) assert.ok(rows.some(([k, n]) => k % Math.floor(52 / (4 * n)) !== 0), 'a layer whose last block is shorter');
    const ex = new Explainer(g, prep);
    try {
      const input = { shape: net.inShape, data: net.input };
      const params = { low: net.low, high: net.high };
      for (const composite of COMPOSITES) {
        const r = ex.explain(input, { method: 'lrp', composite, params });
        const o = oracleLrp(g, net.input, { composite, params, targetClass: r.target.class });
        const d = diff(r.relevance.data, o.relevance);
        assert.ok(d.scale > 0 && d.rel <= TOL, `${composite}: engine − oracle ${d.rel.toExponential(2)} of max |R|`);
        for (const l of r.layers) {
          const s = o.sums.get(l.name)!;
          const e = Math.abs(l.inputRelevanceSum - s.in) / Math.max(Math.abs(o.logits[o.target]), Math.abs(s.in));
          assert.ok(e <= TOL, `${composite} ${l.name}: input sum ${l.inputRelevanceSum} vs oracle ${s.in}`);
        }
      }
      const gr = ex.explain(input, { method: 'gradient' });
      const og = oracleGradient(g, net.input, gr.target.class);
      const dg = diff(gr.relevance.data, og.gradient);
      assert.ok(dg.scale > 0 && dg.rel <= TOL, `gradient: engine − oracle ${dg.rel.toExponential(2)}`);
    } finally {
      ex.dispose();
      prep.dispose();
    }
    assert.equal(tf.memory().numTensors, start, 'tensors freed');
  });
}

test('the oracle comparison of the large-kernel path can fail: a faulty α-β oracle is told apart', () => {
  const net = nets.get('mlp')!;
  const prep = forcedLarge(net.graph);
  const ex = new Explainer(net.graph, prep);
  try {
    const r = ex.explain({ shape: net.inShape, data: net.input }, { method: 'lrp', composite: 'alpha-beta' });
    const fault: Fault = 'alpha-beta-drops-negative-inputs';
    const o = oracleLrp(net.graph, net.input, { composite: 'alpha-beta', targetClass: r.target.class, fault });
    const d = diff(r.relevance.data, o.relevance);
    assert.ok(d.rel > 100 * TOL, `the fault moves the oracle by only ${d.rel.toExponential(2)}`);
  } finally {
    ex.dispose();
    prep.dispose();
  }
});

test('large kernels keep no copy: no kernel variant or transposed kernel is cached under α-β, only b⁺ and b⁻', () => {
  const net = nets.get('mlp')!;
  const g = net.graph;
  const prep = forcedLarge(g);
  const ex = new Explainer(g, prep);
  try {
    ex.explain({ shape: net.inShape, data: net.input }, { method: 'lrp', composite: 'alpha-beta' });
    assert.ok(g.nodes.every((n) => n.op !== 'conv2d' && n.op !== 'depthwiseConv2d' && n.op !== 'batchNorm'), "'mlp' has dense layers only");
    const biasBytes = g.nodes.filter((n) => n.op === 'dense' && n.params.bias).reduce((s, n) => s + n.params.bias!.data.length * 4, 0);
    assert.ok(biasBytes > 0);
    assert.equal(prep.derivedBytes, 2 * biasBytes);
  } finally {
    ex.dispose();
    prep.dispose();
  }
});

/** T × D token values in [−1, 1) from a linear congruential sequence (the same for a seed). */
function seededTokens(t: number, d: number, seed: number): Mat {
  let s = seed;
  return Array.from({ length: t }, () => Array.from({ length: d }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31) * 2 - 1;
  }));
}

test('transformer block with every token-wise dense kernel first: AttnLRP and CP-LRP equal the float64 oracle', () => {
  const w = randomBlock(11);
  const tokens = seededTokens(w.T, w.D, 78);
  const g = blockGraph(w);
  const start = tf.memory().numTensors;
  const prep = forcedLarge(g);
  const ex = new Explainer(g, prep);
  try {
    const f = blockForward(w, tokens);
    for (const composite of ['attn-lrp', 'cp-lrp'] as const) {
      const r = ex.explain({ shape: [1, w.T, w.D], data: f32(tokens) }, { method: 'lrp', composite, targetClass: 'top' });
      const o = blockLrp(w, f, r.target.class, composite);
      const d = diff(r.relevance.data, o.input.flat());
      assert.ok(d.scale > 1e-3 && d.rel <= 1e-5, `${composite}: engine − oracle ${d.rel.toExponential(2)} of max |R| ${d.scale}`);
    }
  } finally {
    ex.dispose();
    prep.dispose();
  }
  assert.equal(tf.memory().numTensors, start, 'tensors freed');
});

/** max |a − b| relative to max |b| */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const d = diff(a, b);
  assert.ok(d.scale > 0, 'a relevance that does not vanish');
  return d.rel;
}

test('several rows at once (tokens, noisy samples) through large kernels in blocks: as the ordinary path', () => {
  const w = randomBlock(29);
  const tokens = seededTokens(w.T, w.D, 5);
  const g = blockGraph(w);
  const net = nets.get('mlp')!;
  const start = tf.memory().numTensors;
  const plain = [new Explainer(g), new Explainer(net.graph)];
  const preps = [forcedLarge(g), forcedLarge(net.graph)];
  const large = [new Explainer(g, preps[0]), new Explainer(net.graph, preps[1])];
  try {
    // γ on the token-wise dense layers: w + γw^± in blocks, each product with T + 1 rows
    for (const composite of ['attn-lrp-gamma', 'cp-lrp-gamma', 'attn-lrp-gamma-nobias']) {
      const input = { shape: [1, w.T, w.D], data: f32(tokens) };
      const opts = { method: 'lrp' as const, composite, targetClass: 'top' as const };
      const e = relDiff(large[0].explain(input, opts).relevance.data, plain[0].explain(input, opts).relevance.data);
      assert.ok(e <= 1e-6, `${composite}: ${e.toExponential(2)}`);
    }
    // SmoothGrad: batches of noisy copies through the forward and the transpose
    const input = { shape: net.inShape, data: net.input };
    const opts = { method: 'smoothgrad' as const, samples: 12, sampleBatch: 5 };
    const e = relDiff(large[1].explain(input, opts).relevance.data, plain[1].explain(input, opts).relevance.data);
    assert.ok(e <= 1e-6, `smoothgrad: ${e.toExponential(2)}`);
  } finally {
    [...plain, ...large, ...preps].forEach((x) => x.dispose());
  }
  assert.equal(tf.memory().numTensors, start, 'tensors freed');
});
