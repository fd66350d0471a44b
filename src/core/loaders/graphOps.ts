/**
 * Helpers shared by the graph-format loaders (TF.js graph models, ONNX): constant tensors that are
 * folded at load time (shape arithmetic, weights), and the IR patterns that express ops the IR has no
 * kind for (a per-channel affine y = x·s + t is a batchNorm with mean 0, variance 1, epsilon 0).
 */
import type { NodeParams, OpKind, ParamArray } from '../graph/ir';
import { sizeOf } from '../graph/ir';
import type { GraphBuilder } from '../graph/builder';

/** A constant known at load time; integers are stored exactly as doubles. */
export interface ConstTensor {
  dims: number[];
  /** float32 weights stay float32 (no float64 copy of a model's parameters); shape arithmetic is float64 */
  data: Float64Array | Float32Array;
  dtype: 'float' | 'int' | 'bool' | 'string';
}

export function constOf(dims: number[], values: ArrayLike<number>, dtype: ConstTensor['dtype'] = 'float'): ConstTensor {
  return { dims: dims.slice(), data: Float64Array.from(values as ArrayLike<number>), dtype };
}

export function toParam(c: ConstTensor, shape = c.dims): ParamArray {
  return { shape: shape.slice(), data: Float32Array.from(c.data) };
}

export function scalarOf(c: ConstTensor): number | undefined {
  return c.data.length === 1 ? c.data[0] : undefined;
}

/**
 * The per-channel values of a constant that broadcasts against a tensor whose channels are its last
 * IR axis: a scalar, or C values laid out along the channel axis of the source format
 * (`channelAxisFromEnd` = 1 for NHWC / rank-2, 3 for NCHW's [C,1,1]). Undefined when it does not broadcast
 * per channel (e.g. a full spatial map).
 */
export function perChannel(c: ConstTensor, channels: number, channelAxisFromEnd: number): Float32Array | undefined {
  const n = c.data.length;
  if (n === 1) return new Float32Array(channels).fill(c.data[0]);
  if (n !== channels) return undefined;
  // the single non-1 dim must sit at the channel axis (counted from the end)
  const dims = c.dims;
  const nonOne = dims.map((d, i) => (d !== 1 ? i : -1)).filter((i) => i >= 0);
  if (nonOne.length !== 1) return undefined;
  const fromEnd = dims.length - nonOne[0];
  if (dims.length === 1 || fromEnd === channelAxisFromEnd) return Float32Array.from(c.data);
  return undefined;
}

/** y = x·scale + shift per channel, as a batchNorm node (mean 0, variance 1, epsilon 0). */
export function addAffine(
  b: GraphBuilder, name: string, input: number, channels: number,
  scale: Float32Array | undefined, shift: Float32Array | undefined, sourceClass: string,
): number {
  const params: NodeParams = {
    mean: { shape: [channels], data: new Float32Array(channels) },
    variance: { shape: [channels], data: new Float32Array(channels).fill(1) },
  };
  if (scale) params.gamma = { shape: [channels], data: scale };
  if (shift) params.beta = { shape: [channels], data: shift };
  return b.add({ name, op: 'batchNorm', inputs: [input], params, attrs: { epsilon: 0 }, sourceClass });
}

/**
 * A BatchNorm node from its four per-channel constants, given as [name in the source format, constant]
 * in the order ONNX BatchNormalization and TF FusedBatchNorm list them after x: scale, shift, mean,
 * variance. A constant without one value per channel is refused through `fail`.
 */
export function addBatchNorm(
  b: GraphBuilder, name: string, input: number, consts: readonly (readonly [string, ConstTensor])[], epsilon: number,
  sourceClass: string, fail: (message: string) => never,
): number {
  const C = channelsOf(b, input);
  const [gamma, beta, mean, variance] = consts.map(([what, c]) => {
    if (c.data.length !== C) fail(`${what} has ${c.data.length} values for ${C} channels`);
    return { shape: [C], data: Float32Array.from(c.data) };
  });
  return b.add({ name, op: 'batchNorm', inputs: [input], sourceClass, params: { gamma, beta, mean, variance }, attrs: { epsilon } });
}

/**
 * Adds a per-channel constant to node `id`: folded into its bias when it is a bias-free linear node
 * whose only consumer is this addition (exact), otherwise an affine node.
 */
export function addBiasOrAffine(
  b: GraphBuilder, name: string, id: number, shift: Float32Array, producerUses: number, sourceClass: string,
): number {
  const n = b.nodes[id];
  const linear: OpKind[] = ['conv2d', 'depthwiseConv2d', 'dense'];
  if (linear.includes(n.op) && !n.params.bias && producerUses === 1) {
    n.params.bias = { shape: [shift.length], data: shift };
    return id;
  }
  if (linear.includes(n.op) && n.params.bias && producerUses === 1) {
    const bias = n.params.bias.data;
    const sum = new Float32Array(bias.length);
    for (let i = 0; i < bias.length; i++) sum[i] = bias[i] + shift[i];
    n.params.bias = { shape: [bias.length], data: sum };
    return id;
  }
  return addAffine(b, name, id, shift.length, undefined, shift, sourceClass);
}

export function channelsOf(b: GraphBuilder, id: number): number {
  const s = b.nodes[id].shape;
  return s[s.length - 1];
}

export function sameShape(a: readonly number[], c: readonly number[]): boolean {
  return a.length === c.length && a.every((d, i) => d === c[i]);
}

export function numel(dims: readonly number[]): number {
  return sizeOf(dims);
}

/** Row-major strides. */
export function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/**
 * Visits every position of a tensor of shape `dims` in row-major order with `base + Σ_a k_a·coef[a]`
 * (k its coordinates): the offset a strided view of another buffer reads or writes there. Transposes,
 * slices, broadcasts, pads and reductions of constants are all such views.
 */
export function stridedWalk(dims: readonly number[], coef: readonly number[], base: number, visit: (flat: number, offset: number) => void): void {
  const n = sizeOf(dims);
  const k = new Array<number>(dims.length).fill(0);
  let off = base;
  for (let i = 0; i < n; i++) {
    visit(i, off);
    for (let a = dims.length - 1; a >= 0; a--) {
      k[a]++;
      off += coef[a];
      if (k[a] < dims[a]) break;
      off -= coef[a] * dims[a];
      k[a] = 0;
    }
  }
}

/**
 * The output array of a data movement (its values are copies): float32 when every input is float32 — weights,
 * and the index tensors whose movements make select maps (Swin-T: 123 → 31 MB of garbage while loading, which
 * glibc kept resident through the run) — else float64.
 */
export function movedData(from: ConstTensor | readonly ConstTensor[], n: number): Float32Array | Float64Array {
  const all = Array.isArray(from) ? from : [from as ConstTensor];
  return all.every((c) => c.data instanceof Float32Array) ? new Float32Array(n) : new Float64Array(n);
}

/** Transposes a constant: out.dims[i] = in.dims[perm[i]]. */
export function transposeConst(c: ConstTensor, perm: number[]): ConstTensor {
  const dims = perm.map((p) => c.dims[p]);
  const inStr = strides(c.dims);
  const out = movedData(c, c.data.length);
  stridedWalk(dims, perm.map((p) => inStr[p]), 0, (o, src) => { out[o] = c.data[src]; });
  return { dims, data: out, dtype: c.dtype };
}

/**
 * The numpy broadcast of shapes a and c, and each one's strides over it: a size-1 axis is read at
 * coordinate 0 throughout (stride 0).
 */
export function broadcastStrides(a: readonly number[], c: readonly number[]): { dims: number[]; sa: number[]; sc: number[] } {
  const rank = Math.max(a.length, c.length);
  const da = [...new Array(rank - a.length).fill(1), ...a];
  const dc = [...new Array(rank - c.length).fill(1), ...c];
  const dims = da.map((d, i) => {
    if (d !== dc[i] && d !== 1 && dc[i] !== 1) throw new Error(`cannot broadcast [${a}] with [${c}]`);
    return Math.max(d, dc[i]);
  });
  return { dims, sa: strides(da).map((s, i) => (da[i] === 1 ? 0 : s)), sc: strides(dc).map((s, i) => (dc[i] === 1 ? 0 : s)) };
}

/** Broadcasting elementwise op on constants (numpy rules). */
export function broadcastConst(a: ConstTensor, c: ConstTensor, f: (x: number, y: number) => number): ConstTensor {
  const { dims, sa, sc } = broadcastStrides(a.dims, c.dims);
  const out = new Float64Array(sizeOf(dims));
  stridedWalk(dims, sa, 0, (o, ia) => { out[o] = a.data[ia]; });
  stridedWalk(dims, sc, 0, (o, ic) => { out[o] = f(out[o], c.data[ic]); });
  return { dims, data: out, dtype: a.dtype === 'float' || c.dtype === 'float' ? 'float' : a.dtype };
}

/** Slices a constant along axes (numpy-style starts/ends with clamping, positive or negative steps). */
export function sliceConst(c: ConstTensor, starts: number[], ends: number[], axes: number[], steps: number[]): ConstTensor {
  const rank = c.dims.length;
  const begin = new Array<number>(rank).fill(0);
  const step = new Array<number>(rank).fill(1);
  const count = c.dims.slice();
  axes.forEach((ax0, k) => {
    const ax = ax0 < 0 ? ax0 + rank : ax0;
    const d = c.dims[ax];
    const st = steps[k] ?? 1;
    let s = starts[k];
    let e = ends[k];
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (st > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      count[ax] = Math.max(0, Math.ceil((e - s) / st));
    } else {
      s = Math.min(Math.max(s, -1), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      count[ax] = Math.max(0, Math.ceil((s - e) / -st));
    }
    begin[ax] = s;
    step[ax] = st;
  });
  const inStr = strides(c.dims);
  const out = movedData(c, sizeOf(count));
  const first = begin.reduce((s, b, i) => s + b * inStr[i], 0);
  stridedWalk(count, inStr.map((s, i) => s * step[i]), first, (o, src) => { out[o] = c.data[src]; });
  return { dims: count, data: out, dtype: c.dtype };
}

export function concatConst(parts: ConstTensor[], axis0: number): ConstTensor {
  const rank = parts[0].dims.length;
  const axis = axis0 < 0 ? axis0 + rank : axis0;
  const dims = parts[0].dims.slice();
  dims[axis] = parts.reduce((s, p) => s + p.dims[axis], 0);
  const outer = sizeOf(dims.slice(0, axis));
  const out = movedData(parts, sizeOf(dims));
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const inner = sizeOf(p.dims.slice(axis));
      for (let i = 0; i < inner; i++) out[at++] = p.data[o * inner + i];
    }
  }
  return { dims, data: out, dtype: parts[0].dtype };
}

export function gatherConst(c: ConstTensor, indices: ConstTensor, axis0: number): ConstTensor {
  const rank = c.dims.length;
  const axis = axis0 < 0 ? axis0 + rank : axis0;
  const outer = sizeOf(c.dims.slice(0, axis));
  const inner = sizeOf(c.dims.slice(axis + 1));
  const d = c.dims[axis];
  const dims = [...c.dims.slice(0, axis), ...indices.dims, ...c.dims.slice(axis + 1)];
  const out = movedData(c, sizeOf(dims));
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const i0 of indices.data) {
      const i = i0 < 0 ? i0 + d : i0;
      for (let k = 0; k < inner; k++) out[at++] = c.data[(o * d + i) * inner + k];
    }
  }
  return { dims, data: out, dtype: c.dtype };
}
