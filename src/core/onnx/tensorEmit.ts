/**
 * Compiled-graph pieces of the ops on tensors of any rank (ops/transpose, select, constant, matmul,
 * layerNorm, softmax, the smooth activations), mirroring engine/tensorOps.ts and rules/transformerRules.ts.
 * Values here are in IR order ([N, ...shape]; Emitter.toIr / fromIr convert at the op's boundary).
 */
import type { Node } from '../graph/ir';
import { sizeOf } from '../graph/ir';
import type { Emitter, MixedKernel } from './emitter';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Mean over the last axis, kept as size 1. */
export function meanLast(e: Emitter, x: string): string {
  return e.g.op('ReduceMean', [x], { axes: { ints: [-1] }, keepdims: { i: 1 } });
}

/** Sum over the last axis, kept as size 1. */
export function sumLast(e: Emitter, x: string): string {
  return e.g.op('ReduceSum', [x, e.g.ints([-1])], { keepdims: { i: 1 } });
}

/** Zeros shaped like v. */
export function zerosLike(e: Emitter, v: string): string {
  return e.g.op('ConstantOfShape', [e.g.op('Shape', [v])]);
}

/** Swaps the last two axes of a value of rank `rank` (batch included). */
export function swapLast2(e: Emitter, x: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return e.g.op('Transpose', [x], { perm: { ints: perm } });
}

/**
 * A select's index map as int32 [1, outSize], made once per map and kept while the graph's map lives:
 * every graph compiled from the model (the extension's forward, own and backward-only graphs) refers to
 * the same array, which onnxruntime reads in place as external data (runtime.ts). −1 (a zero) stays:
 * Gather and ScatterElements count it from the back, where the zero column is.
 */
const int32Maps = new WeakMap<Float32Array, Int32Array>();

function indexMap(e: Emitter, index: Float32Array): string {
  let ix = int32Maps.get(index);
  if (!ix) {
    // a plain loop: Int32Array.from with a map function took 1.5 s over Swin-T's index maps (measured)
    ix = new Int32Array(index.length);
    for (let i = 0; i < ix.length; i++) ix[i] = index[i];
    int32Maps.set(index, ix);
  }
  return e.g.indices(ix, [1, ix.length]);
}

/** Gathers the flat positions `index` (−1 = zero) of x ([N, ...from], IR order) into [N, ...to]. */
export function gatherFlat(e: Emitter, x: string, index: Float32Array, from: number[], to: number[]): string {
  const flat = e.g.op('Reshape', [x, e.g.ints([0, sizeOf(from)])]);
  // the last position is a zero column: index −1 maps there
  const padded = e.g.op('Pad', [flat, e.g.ints([0, 0, 0, 1])]);
  return e.g.op('Reshape', [e.g.op('Gather', [padded, indexMap(e, index)], { axis: { i: 1 } }), e.g.ints([0, ...to])]);
}

/**
 * The transpose of gatherFlat: s ([N, ...to]) goes back to the positions `index` took it from, every other
 * position of [N, ...from] is zero (a select is injective, so nothing is added up). It reads the forward's
 * map, not an inverse one as long as the input (Swin-T: 107 → 31 MB of index maps in one graph).
 */
export function scatterFlat(e: Emitter, s: string, index: Float32Array, from: number[], to: number[]): string {
  const size = sizeOf(from);
  const flat = e.g.op('Reshape', [s, e.g.ints([0, sizeOf(to)])]);
  // zeros [N, size + 1] padded onto an empty slice of s: made at run time. A ConstantOfShape of a static
  // shape, and the index map expanded to it, would be folded by onnxruntime into constants held as long
  // as the session (Swin-T's CLI: ~100 MB of them, peak 778-793 MB against 684 MB; measured)
  const zeros = e.g.op('Pad', [e.g.op('Slice', [flat, e.g.ints([0]), e.g.ints([0]), e.g.ints([1])]), e.g.ints([0, 0, 0, size + 1])]);
  const ix = e.batch === 1 ? indexMap(e, index) : e.g.op('Expand', [indexMap(e, index), e.g.op('Shape', [flat])]);
  // −1 entries all land on the extra last column, which is cut off
  const spread = e.g.op('ScatterElements', [zeros, ix, flat], { axis: { i: 1 } });
  return e.g.op('Reshape', [e.g.op('Slice', [spread, e.g.ints([0]), e.g.ints([size]), e.g.ints([1])]), e.g.ints([0, ...from])]);
}

/** 1/√(var + ε) over the last axis, and x − μ (LayerNorm's statistics of the forward input). */
export function layerNormStats(e: Emitter, node: Node, x: string): { centred: string; inv: string } {
  const centred = e.sub(x, meanLast(e, x));
  const variance = meanLast(e, e.mul(centred, centred));
  const inv = e.div(e.g.scalar(1), e.g.op('Sqrt', [e.add(variance, e.g.scalar(node.attrs.epsilon ?? 1e-5))]));
  return { centred, inv };
}

/** GELU (erf and tanh forms) and SiLU. */
export function smoothForward(e: Emitter, fn: string, x: string): string {
  switch (fn) {
    case 'gelu': return e.mul(e.mul(x, e.g.scalar(0.5)), e.add(e.g.scalar(1), e.g.op('Erf', [e.mul(x, e.g.scalar(Math.SQRT1_2))])));
    case 'geluTanh': {
      const cube = e.mul(e.mul(x, x), x);
      const u = e.mul(e.g.scalar(SQRT_2_OVER_PI), e.add(x, e.mul(e.g.scalar(0.044715), cube)));
      return e.mul(e.mul(x, e.g.scalar(0.5)), e.add(e.g.scalar(1), e.g.op('Tanh', [u])));
    }
    case 'silu': return e.mul(x, e.g.op('Sigmoid', [x]));
    default: throw new Error(`not a smooth activation: ${fn}`);
  }
}

/** s · f'(x) of GELU / SiLU (as engine/tensorOps.ts smoothActivationGradient). */
export function smoothGradient(e: Emitter, fn: string, s: string, x: string): string {
  const one = e.g.scalar(1);
  switch (fn) {
    case 'gelu': {
      const cdf = e.mul(e.g.scalar(0.5), e.add(one, e.g.op('Erf', [e.mul(x, e.g.scalar(Math.SQRT1_2))])));
      const pdf = e.mul(e.g.scalar(1 / Math.sqrt(2 * Math.PI)), e.g.op('Exp', [e.mul(e.g.scalar(-0.5), e.mul(x, x))]));
      return e.mul(s, e.add(cdf, e.mul(x, pdf)));
    }
    case 'geluTanh': {
      const x2 = e.mul(x, x);
      const u = e.mul(e.g.scalar(SQRT_2_OVER_PI), e.add(x, e.mul(e.g.scalar(0.044715), e.mul(x2, x))));
      const t = e.g.op('Tanh', [u]);
      const du = e.mul(e.g.scalar(SQRT_2_OVER_PI), e.add(one, e.mul(e.g.scalar(3 * 0.044715), x2)));
      const d = e.add(e.mul(e.g.scalar(0.5), e.add(one, t)), e.mul(e.mul(e.g.scalar(0.5), x), e.mul(e.sub(one, e.mul(t, t)), du)));
      return e.mul(s, d);
    }
    case 'silu': {
      const sg = e.g.op('Sigmoid', [x]);
      return e.mul(s, e.mul(sg, e.add(one, e.mul(x, e.sub(one, sg)))));
    }
    default: throw new Error(`not a smooth activation: ${fn}`);
  }
}

/** The kernel a transposed product reads: `layout` takes a stored kernel to the form the product uses. */
export function kernelOf(e: Emitter, k: string | MixedKernel, layout: (w: string) => string = (w) => w): string {
  if (typeof k === 'string') return layout(k);
  // w + γw⁺ = max(w, (1 + γ)w) for γ ≥ 0 (the rule's parameters are checked so): two passes over the
  // kernel instead of three (w⁺, its product, the sum), which the CLI's unfolded graph runs every time
  const w = layout(k.w);
  return e.g.op('Max', [w, e.mul(w, e.add(k.scale, e.g.scalar(1)))]);
}
