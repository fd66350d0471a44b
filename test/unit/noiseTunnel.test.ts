/**
 * SmoothGrad, SmoothGrad² and VarGrad (Captum NoiseTunnel's smoothgrad / smoothgrad_sq / vargrad) against
 * an oracle written here: the same seeded noisy copies, each copy's gradient from the float64 dense
 * oracle (oracle/oracle.ts, no TensorFlow.js), and the mean, mean square and population variance taken
 * in float64. wasm and the compiled ONNX backend both, with a batch size that does not divide the samples.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import { OnnxExplainer } from '../../src/core/onnx/onnxExplainer';
import { sampleSeed } from '../../src/core/parallel/gradientJob';
import type { ExplainOptions } from '../../src/core/methods/types';
import { NOISE_METHODS, type NoiseMethod } from '../../src/shared/methodParams';
import { oracleGradient } from './oracle/oracle';
import { makeNet, type RandomNet } from './oracle/randomNets';
import { NET_SEEDS } from './oracle/cases';

const SAMPLES = 7;
const SIGMA = 0.3;
const SEED = 9;
/** max |engine − oracle| ≤ TOL · max |oracle| */
const TOL = 1e-4;

/** How the oracle may be wrong on purpose (the mutation test): the sample variance (n − 1) for VarGrad. */
type Fault = 'vargrad-sample-variance';

function oracleNoiseTunnel(net: RandomNet, target: number, method: NoiseMethod, fault?: Fault): Float64Array {
  const x = net.input;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const std = SIGMA * Math.fround(hi - lo);
  const sum = new Float64Array(x.length);
  const sq = new Float64Array(x.length);
  for (let i = 0; i < SAMPLES; i++) {
    // the engine's noise convention: sample i drawn by tf.randomNormal with seed sampleSeed(seed, i), added in float32
    const noise = tf.tidy(() => tf.randomNormal([1, ...net.inShape], 0, std, 'float32', sampleSeed(SEED, i)).dataSync() as Float32Array);
    const xi = x.map((v, j) => Math.fround(v + noise[j]));
    const g = oracleGradient(net.graph, xi, target).gradient;
    for (let j = 0; j < x.length; j++) {
      sum[j] += g[j];
      sq[j] += g[j] * g[j];
    }
  }
  return sum.map((s, j) => {
    const mean = s / SAMPLES;
    if (method === 'smoothgrad') return mean;
    if (method === 'smoothgrad-squared') return sq[j] / SAMPLES;
    if (fault === 'vargrad-sample-variance') return (sq[j] - SAMPLES * mean * mean) / (SAMPLES - 1);
    return sq[j] / SAMPLES - mean * mean;
  });
}

function relDiff(got: ArrayLike<number>, want: Float64Array): number {
  let scale = 0;
  let worst = 0;
  for (let j = 0; j < want.length; j++) {
    scale = Math.max(scale, Math.abs(want[j]));
    worst = Math.max(worst, Math.abs(got[j] - want[j]));
  }
  assert.ok(scale > 0, 'the oracle map is not all zero');
  return worst / scale;
}

const nets = new Map<string, RandomNet>();
const TARGET = 1;

before(async () => {
  await initBackend('wasm');
  for (const name of ['strided', 'mlp']) nets.set(name, await makeNet(name, NET_SEEDS[name], {}));
});

const optsFor = (method: NoiseMethod): ExplainOptions => ({ method, samples: SAMPLES, sigma: SIGMA, seed: SEED, sampleBatch: 3, targetClass: TARGET });

for (const name of ['strided', 'mlp']) {
  test(`noise methods = float64 oracle over the same noisy copies, wasm and onnx ('${name}' net)`, async () => {
    const net = nets.get(name)!;
    const input = { shape: net.inShape, data: net.input };
    const w = new Explainer(net.graph);
    const o = new OnnxExplainer(net.graph);
    try {
      for (const method of NOISE_METHODS) {
        const want = oracleNoiseTunnel(net, TARGET, method);
        const a = w.explain(input, optsFor(method));
        const b = await o.explain(input, optsFor(method));
        assert.equal(b.backend, 'onnx', b.backendReason);
        const da = relDiff(a.relevance.data, want);
        const db = relDiff(b.relevance.data, want);
        console.log(`${name} ${method}: wasm ${da.toExponential(2)}, onnx ${db.toExponential(2)} (max rel diff to the oracle)`);
        assert.ok(da <= TOL, `${method} on wasm differs from the oracle by ${da}`);
        assert.ok(db <= TOL, `${method} on onnx differs from the oracle by ${db}`);
        assert.equal((a.extra?.smoothgrad as { statistic?: string }).statistic, method);
        if (method !== 'smoothgrad') assert.ok(Array.from(a.relevance.data).every((v) => v >= 0), `${method} is never negative`);
      }
    } finally {
      w.dispose();
      await o.dispose();
    }
  });
}

test('mutation: VarGrad with the sample variance (n − 1) in the oracle is caught', () => {
  const net = nets.get('strided')!;
  const w = new Explainer(net.graph);
  try {
    const got = w.explain({ shape: net.inShape, data: net.input }, optsFor('vargrad')).relevance.data;
    assert.ok(relDiff(got, oracleNoiseTunnel(net, TARGET, 'vargrad')) <= TOL, 'the correct oracle agrees first');
    const bad = relDiff(got, oracleNoiseTunnel(net, TARGET, 'vargrad', 'vargrad-sample-variance'));
    assert.ok(bad > 100 * TOL, `the n − 1 variance went unnoticed (${bad})`);
  } finally {
    w.dispose();
  }
});
