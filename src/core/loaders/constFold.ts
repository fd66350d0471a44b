/**
 * More constant folding for graph loaders: the shape arithmetic PyTorch exports around attention and
 * window partitions (Range, Expand, Where/Equal masks, ScatterND, Pad, Tile, elementwise maths) runs
 * here at load time on ConstTensors, for the model's fixed input size. The same functions also build
 * the index maps of data-movement ops on computed tensors (an index tensor goes through them).
 */
import type { ConstTensor } from './graphOps';
import { broadcastConst, broadcastStrides, movedData, stridedWalk, strides } from './graphOps';
import { sizeOf } from '../graph/ir';

export function rangeConst(start: number, limit: number, delta: number, dtype: ConstTensor['dtype']): ConstTensor {
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i * delta;
  return { dims: [n], data, dtype };
}

/** numpy broadcast of `c` to `shape` (ONNX Expand: the result has the broadcast of both shapes). */
export function expandConst(c: ConstTensor, shape: number[]): ConstTensor {
  const { dims, sa } = broadcastStrides(c.dims, shape);
  const out = movedData(c, sizeOf(dims));
  stridedWalk(dims, sa, 0, (o, ic) => { out[o] = c.data[ic]; });
  return { dims, data: out, dtype: c.dtype };
}

export function whereConst(cond: ConstTensor, a: ConstTensor, b: ConstTensor): ConstTensor {
  const shape = broadcastConst(broadcastConst(cond, a, () => 0), b, () => 0).dims;
  const [c, x, y] = [cond, a, b].map((t) => expandConst(t, shape));
  const data = new Float64Array(c.data.length);
  for (let i = 0; i < data.length; i++) data[i] = c.data[i] ? x.data[i] : y.data[i];
  return { dims: shape, data, dtype: a.dtype };
}

/** ONNX ScatterND (reduction none): copies of data with updates written at indices (last dim = index depth). */
export function scatterNDConst(data: ConstTensor, indices: ConstTensor, updates: ConstTensor): ConstTensor {
  const out = Float64Array.from(data.data);
  const k = indices.dims[indices.dims.length - 1];
  const str = strides(data.dims);
  const slice = sizeOf(data.dims.slice(k));
  const n = indices.data.length / k;
  for (let j = 0; j < n; j++) {
    let off = 0;
    for (let a = 0; a < k; a++) {
      let v = indices.data[j * k + a];
      if (v < 0) v += data.dims[a];
      off += v * str[a];
    }
    for (let s = 0; s < slice; s++) out[off + s] = updates.data[j * slice + s];
  }
  return { dims: data.dims.slice(), data: out, dtype: data.dtype };
}

/** Constant-mode pad; pads = [b_0 … b_{r−1}, e_0 … e_{r−1}] (non-negative). */
export function padConst(c: ConstTensor, pads: number[], value: number): ConstTensor {
  const r = c.dims.length;
  const dims = c.dims.map((d, i) => d + pads[i] + pads[i + r]);
  const out = movedData(c, sizeOf(dims)).fill(value);
  const os = strides(dims);
  stridedWalk(c.dims, os, os.reduce((s, st, a) => s + pads[a] * st, 0), (i, o) => { out[o] = c.data[i]; });
  return { dims, data: out, dtype: c.dtype };
}

export function tileConst(c: ConstTensor, reps: number[]): ConstTensor {
  const dims = c.dims.map((d, i) => d * reps[i]);
  const out = movedData(c, sizeOf(dims));
  const os = strides(dims);
  const is = strides(c.dims);
  for (let o = 0; o < out.length; o++) {
    let rem = o;
    let src = 0;
    for (let a = 0; a < dims.length; a++) {
      const k = Math.floor(rem / os[a]);
      rem -= k * os[a];
      src += (k % c.dims[a]) * is[a];
    }
    out[o] = c.data[src];
  }
  return { dims, data: out, dtype: c.dtype };
}

/** Matrix product of constants over the last two axes (leading axes broadcast). */
export function matmulConst(a: ConstTensor, b: ConstTensor): ConstTensor {
  const A = a.dims.length === 1 ? { ...a, dims: [1, a.dims[0]] } : a;
  const B = b.dims.length === 1 ? { ...b, dims: [b.dims[0], 1] } : b;
  const [m, k] = A.dims.slice(-2);
  const n = B.dims[B.dims.length - 1];
  const lead = A.dims.slice(0, -2);
  if (B.dims.length !== 2 || B.dims[0] !== k) throw new Error(`cannot multiply constants [${a.dims}] and [${b.dims}]`);
  const batches = sizeOf(lead);
  const out = new Float64Array(batches * m * n);
  for (let t = 0; t < batches; t++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let q = 0; q < k; q++) s += A.data[(t * m + i) * k + q] * B.data[q * n + j];
    out[(t * m + i) * n + j] = s;
  }
  let dims = [...lead, m, n];
  if (a.dims.length === 1) dims = [...lead, n];
  if (b.dims.length === 1) dims = dims.slice(0, -1);
  return { dims, data: out, dtype: 'float' };
}

/** Reduction over axes (all when none) with keepdims. */
export function reduceConst(c: ConstTensor, axes0: number[], keep: boolean, f: 'sum' | 'mean' | 'max' | 'min' | 'prod'): ConstTensor {
  const r = c.dims.length;
  const axes = (axes0.length ? axes0 : c.dims.map((_, i) => i)).map((a) => (a < 0 ? a + r : a));
  const kd = c.dims.map((d, i) => (axes.includes(i) ? 1 : d));
  const init = f === 'max' ? -Infinity : f === 'min' ? Infinity : f === 'prod' ? 1 : 0;
  const out = new Float64Array(sizeOf(kd)).fill(init);
  // a reduced axis adds nothing to the output offset
  const os = strides(kd).map((s, a) => (axes.includes(a) ? 0 : s));
  stridedWalk(c.dims, os, 0, (i, o) => {
    const v = c.data[i];
    out[o] = f === 'max' ? Math.max(out[o], v) : f === 'min' ? Math.min(out[o], v) : f === 'prod' ? out[o] * v : out[o] + v;
  });
  if (f === 'mean') {
    const cnt = sizeOf(axes.map((a) => c.dims[a]));
    for (let i = 0; i < out.length; i++) out[i] /= cnt;
  }
  return { dims: keep ? kd : c.dims.filter((_, i) => !axes.includes(i)), data: out, dtype: c.dtype };
}

/** erf to ~1e-7 (Abramowitz–Stegun 7.1.26 is too coarse for GELU on constants; series/continued fraction). */
export function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  if (a < 2.5) {
    // Taylor series
    let term = a;
    let sum = a;
    for (let n = 1; n < 60; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return s * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // asymptotic continued fraction for erfc
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (a + f);
  return s * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f));
}
