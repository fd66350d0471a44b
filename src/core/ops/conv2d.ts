/** 2-D convolution, kernel [kh, kw, inC, outC]; transposed as a conv with the flipped kernel (convOps). */
import { valueSlot } from '../engine/prepared';
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import { spatial } from '../graph/shapes';
import { conv2dFwd, conv2dTransposed, flipKernel } from '../engine/convOps';
import type { OpDef } from './types';
import { needRank } from './common';
import { weightedOp } from './weighted';
import { convAttrs, convGeometry, convTransposeAttrs } from '../onnx/geometry';
import { derivedKernel, variantInPlace, variantMaker, type Emitter, type KernelVariant, type MixedKernel, type MixedKernelMaker, type OnnxLinear } from '../onnx/emitter';
import { kernelOf } from '../onnx/tensorEmit';

/** The IR bias as [C, 1, 1] (broadcasts over the compiled NCHW output). */
export function mapBias(node: Node): { data: Float32Array; dims: number[] } | undefined {
  const b = node.params.bias;
  return b ? { data: b.data, dims: [b.data.length, 1, 1] } : undefined;
}

/**
 * Transposed conv / depthwise in the compiled graph. Stride 1: a Conv with the flipped, per-group
 * transposed kernel (derived in the graph, folded by onnxruntime at session creation), which onnxruntime
 * runs 2–7× faster than ConvTranspose (ResNet-50's layers, measured); strided: ConvTranspose.
 */
export function convTransposed(e: Emitter, node: Node, s: string, w: string | MixedKernel, group: number): string {
  const { pads, attrs, kh, kw } = convGeometry(e.graph, node);
  const inS = e.graph.nodes[node.inputs[0]].shape;
  if (!e.unfolded && group === 1 && kh === 1 && kw === 1 && e.batch === 1 && attrs.strides.every((v) => v === 1) && pads.flat().every((v) => v === 0)) {
    // a 1×1 conv's transpose is a matrix product: Gemm with transA reads the kernel [co, ci] as it is, with
    // no flipped copy. Not unfolded (the CLI, the extension's first own graph): there ConvTranspose holds
    // no copy either, and the Reshapes cost more nodes than Gemm saves (ResNet-50's CLI run the same, measured)
    const [co, ci] = e.kernelDims(node);
    const k = (typeof w !== 'string' && e.mixedKernelInput(node, w, 'matrix', [co, ci], mixedMaker(node, false)))
      || kernelOf(e, w, (x) => matrixKernel(e, node, x));
    const s2 = e.g.op('Reshape', [s, e.g.ints([co, inS[0] * inS[1]])]);
    return e.g.op('Reshape', [e.g.op('Gemm', [k, s2], { transA: { i: 1 } }), e.g.ints([1, ci, inS[0], inS[1]])]);
  }
  const t = convTransposeAttrs([inS[0], inS[1]], [node.shape[0], node.shape[1]], [kh, kw], attrs.strides, attrs.dilations, pads, group);
  if (!e.unfolded && attrs.strides.every((v) => v === 1)) {
    const extra = (t.output_padding as { ints: number[] }).ints;
    const [dh, dw] = attrs.dilations;
    const p = [dh * (kh - 1) - pads[0][0], dw * (kw - 1) - pads[1][0], dh * (kh - 1) - pads[0][1] + extra[0], dw * (kw - 1) - pads[1][1] + extra[1]];
    if (p.every((v) => v >= 0)) {
      const k = (typeof w !== 'string' && e.mixedKernelInput(node, w, 'flip', flippedDims(e, node, group), mixedMaker(node, true)))
        || kernelOf(e, w, (k) => flippedKernel(e, node, k, group));
      return e.g.op('Conv', [s, k], {
        kernel_shape: { ints: [kh, kw] }, dilations: { ints: attrs.dilations }, pads: { ints: p }, group: { i: group },
      });
    }
  }
  const k = (typeof w !== 'string' && e.mixedKernelInput(node, w, 'plain', e.kernelDims(node), mixedMaker(node, false)))
    || kernelOf(e, w);
  return e.g.op('ConvTranspose', [s, k], t);
}

/**
 * The maker of a layer's fed mixed kernel. Made here, not as an arrow inside convTransposed: a closure there
 * shares its context, which holds the Emitter, and the cached session's fed input would keep the whole
 * compile alive (ResNet-50's engine process: two Emitters, found in a heap snapshot).
 */
function mixedMaker(node: Node, flip: boolean): MixedKernelMaker {
  return (scale, into) => mixedKernel(node, scale, flip, into);
}

/**
 * A 1×1 kernel value `w` (compiled [co, ci, 1, 1]) as the [co, ci] matrix: for a kernel made as an array,
 * the same array under 2-D dims (`derivedKernel` gives the variant's one array); for the file's weight, a
 * second initializer over its array; else a Reshape of the value the graph computes.
 */
function matrixKernel(e: Emitter, node: Node, w: string): string {
  const key = `matrix:${w}`;
  let name = e.aux.get(key);
  if (name) return name;
  const [co, ci] = e.kernelDims(node);
  const made = e.kernelArray(w);
  const oihw = node.params.kernel!.oihw;
  if (made) name = e.derivedArray(node, made.variant, [co, ci], 'g', variantMaker(made.source, made.variant));
  else if (oihw && w === e.kernel(node, 'w')) name = e.g.weight(oihw, [co, ci], `g_${node.id}`);
  else name = e.g.atRoot(() => e.g.op('Reshape', [w, e.g.ints([co, ci])]));
  e.aux.set(key, name);
  return name;
}

/** The compiled dims of `flippedKernel`'s result. */
function flippedDims(e: Emitter, node: Node, group: number): number[] {
  const [co, cig, kh, kw] = e.kernelDims(node);
  return [group * cig, co / group, kh, kw];
}

/**
 * w + scale·w⁺ from the IR kernel ([kh, kw, ci, co], or depthwise [kh, kw, C, m]) straight into the
 * compiled layout: the forward's [co, ci, kh, kw] (ConvTranspose reads it as is) or, `flip`, the stride-1
 * transposed Conv's [ci, co, kh, kw] flipped in space (`flippedKernel`). Each value is rounded once (the
 * graph rounds the product and the sum apart: within one float32 rounding of it). Without a branch on the
 * sign (w⁺ = (w + |w|) / 2, exact): random signs mispredict half the time, 4–5× the loop's time (measured).
 */
export function mixedKernel(node: Node, scale: number, flip: boolean, into?: Float32Array): Float32Array {
  const k = node.params.kernel!;
  const [kh, kw, c, m] = k.shape;
  // the last scale's array, written over (no fresh pages to fault in)
  const size = kh * kw * c * m;
  const out = into?.length === size ? into : new Float32Array(size);
  const khw = kh * kw;
  const cm = c * m;
  const half = Math.fround(scale) / 2;
  const file = k.oihw;
  if (file) {
    // the file's [co, ci, kh, kw] (graph/oihwKernel.ts): the forward layout itself; the flipped one swaps
    // the channels and mirrors each tap run
    for (let o = 0; o < m; o++) for (let i = 0; i < c; i++) {
      const from = (o * c + i) * khw;
      const to = flip ? (i * m + o) * khw + khw - 1 : from;
      const step = flip ? -1 : 1;
      for (let t = 0; t < khw; t++) {
        const v = file[from + t];
        out[to + step * t] = v + half * (v + Math.abs(v));
      }
    }
    return out;
  }
  const src = k.data;
  // depthwise (channel i·m + o either way) and the flipped conv ([i, o]) keep the IR's channel order, so
  // each tap is one strided run; the forward layout ([o, i]) transposes the channels
  const sameOrder = node.op === 'depthwiseConv2d' || flip;
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    const tap = flip ? (kh - 1 - y) * kw + (kw - 1 - x) : y * kw + x;
    const base = (y * kw + x) * cm;
    if (sameOrder) {
      for (let j = 0, q = tap; j < cm; j++, q += khw) {
        const v = src[base + j];
        out[q] = v + half * (v + Math.abs(v));
      }
    } else {
      for (let i = 0; i < c; i++) {
        const row = base + i * m;
        for (let o = 0, q = i * khw + tap; o < m; o++, q += c * khw) {
          const v = src[row + o];
          out[q] = v + half * (v + Math.abs(v));
        }
      }
    }
  }
  return out;
}

/**
 * Kernel [co, ci/g, kh, kw] -> [ci, co/g, kh, kw] flipped in space: the Conv that is w's ConvTranspose.
 * In the main graph, so every If branch of a layer's rule choice shares it; an array made once per weight
 * array and variant where the kernel is one (`Emitter.kernel`), else emitted (run once).
 */
function flippedKernel(e: Emitter, node: Node, w: string, group: number): string {
  const key = `flip:${w}`;
  let name = e.aux.get(key);
  const made = name ? undefined : e.kernelArray(w);
  if (made) {
    const [co, cig, kh, kw] = e.kernelDims(node);
    name = e.derivedArray(node, made.variant, flippedDims(e, node, group), 'flip', flippedMaker(made.source, made.variant, group, co / group, cig, kh * kw));
    e.aux.set(key, name);
  }
  if (!name) {
    const [co, cig, kh, kw] = e.kernelDims(node);
    const cog = co / group;
    name = e.g.atRoot(() => {
      let t = w;
      if (cig > 1 && cog > 1) {
        t = e.g.op('Reshape', [t, e.g.ints([group, cog, cig, kh, kw])]);
        t = e.g.op('Transpose', [t], { perm: { ints: [0, 2, 1, 3, 4] } });
      }
      t = e.g.op('Reshape', [t, e.g.ints([group * cig, cog, kh, kw])]);
      if (kh > 1 || kw > 1) t = e.g.op('Slice', [t, e.g.ints([-1, -1]), e.g.ints([-(2 ** 31), -(2 ** 31)]), e.g.ints([2, 3]), e.g.ints([-1, -1])]);
      return t;
    });
    e.aux.set(key, name);
  }
  return name;
}

/**
 * The flipped layout of a kernel variant, made once while held (`derivedKernel`); one transposition per
 * layer: the variants' flipped kernels are the variants of w's. At module level: a fed variant's maker
 * lives as long as its session (Emitter.derivedArray), and must not hold the compile.
 */
function flippedMaker(source: Float32Array, variant: KernelVariant, group: number, cog: number, cig: number, khw: number): () => Float32Array {
  const flipped = () => derivedKernel(source, 'flip:w', () => flipKernelArray(source, group, cog, cig, khw));
  return () => (variant === 'w' ? flipped() : derivedKernel(source, `flip:${variant}`, () => variantInPlace(flipped().slice(), variant)));
}

/**
 * [g·cog, cig, khw] -> [g·cig, cog, khw] with the taps reversed (the graph's Reshape, Transpose, Slice), in
 * tiles of 32 × 32 channel pairs: the writes' stride is a whole row of the other.
 */
function flipKernelArray(w: Float32Array, group: number, cog: number, cig: number, khw: number): Float32Array {
  const out = new Float32Array(w.length);
  const T = 32;
  for (let g = 0; g < group; g++) for (let o0 = 0; o0 < cog; o0 += T) for (let i0 = 0; i0 < cig; i0 += T) {
    const oEnd = Math.min(o0 + T, cog);
    const iEnd = Math.min(i0 + T, cig);
    if (khw === 1) {
      // a 1 × 1 kernel: a plain transposition of the tile
      for (let o = o0; o < oEnd; o++) {
        const from = (g * cog + o) * cig;
        for (let i = i0, to = (g * cig + i0) * cog + o; i < iEnd; i++, to += cog) out[to] = w[from + i];
      }
      continue;
    }
    for (let o = o0; o < oEnd; o++) for (let i = i0; i < iEnd; i++) {
      const from = ((g * cog + o) * cig + i) * khw;
      const to = ((g * cig + i) * cog + o) * khw + khw - 1;
      for (let t = 0; t < khw; t++) out[to - t] = w[from + t];
    }
  }
  return out;
}

/** Conv in the compiled graph (bias added separately: the rules' bias variants are [C, 1, 1]). */
export function convForward(e: Emitter, node: Node, x: string, w: string, b: string | undefined, group: number): string {
  const y = e.g.op('Conv', [x, w], convAttrs(e.graph, node, group));
  return b ? e.add(y, b) : y;
}

/** Conv with its bias as the op's B ([C]; the rules' [C, 1, 1] reshaped): one pass less, one value less kept. */
export function convForwardBiased(e: Emitter, node: Node, x: string, w: string, b: string, group: number): string {
  return e.g.op('Conv', [x, w, e.g.op('Reshape', [b, e.g.ints([-1])])], convAttrs(e.graph, node, group));
}

/**
 * Kernels in the compiled layout, per IR kernel array, for one compile (the kernel variants derive from
 * it): not kept across compiles, so the relayout copy is garbage once onnxruntime holds the model
 * (rule parameters are graph inputs, so compiles are rarer than the memory is dear).
 */
export function cachedLayout(e: Emitter, key: object, make: () => { data: Float32Array; dims: number[] }): { data: Float32Array; dims: number[] } {
  let v = e.layouts.get(key);
  if (!v) {
    v = make();
    e.layouts.set(key, v);
  }
  return v;
}

const onnxConv: OnnxLinear = {
  weight: (e, node) => cachedLayout(e, node.params.kernel!, () => {
    // [kh, kw, inC, outC] -> [outC, inC, kh, kw] (a kernel from an ONNX file is in it already)
    const k = node.params.kernel!;
    const [kh, kw, ci, co] = k.shape;
    if (k.oihw) return { data: k.oihw, dims: [co, ci, kh, kw] };
    const out = new Float32Array(k.data.length);
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) {
      const src = ((y * kw + x) * ci + i) * co;
      for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = k.data[src + o];
    }
    return { data: out, dims: [co, ci, kh, kw] };
  }),
  weightInGraph: (e, node) => {
    const k = node.params.kernel!;
    const [kh, kw, ci, co] = k.shape;
    if (k.oihw) return { name: e.g.weight(k.oihw, [co, ci, kh, kw], `k_${node.id}`), dims: [co, ci, kh, kw] };
    const raw = e.g.weight(k.data, k.shape, `k_${node.id}`);
    return { name: e.g.op('Transpose', [raw], { perm: { ints: [3, 2, 0, 1] } }), dims: [co, ci, kh, kw] };
  },
  bias: (_e, node) => mapBias(node),
  forward: (e, node, x, w, b) => convForward(e, node, x, w, b, 1),
  forwardBiased: (e, node, x, w, b) => convForwardBiased(e, node, x, w, b, 1),
  transposed: (e, node, s, w) => convTransposed(e, node, s, w, 1),
};

/** Output shape of conv2d / depthwiseConv2d. */
export function convShape(node: Pick<Node, 'op' | 'attrs' | 'params' | 'name'>, inputs: number[][]): number[] {
  const a = inputs[0];
  needRank(node, a, 3);
  const k = node.params.kernel!.shape;
  const c = node.attrs.conv!;
  if (k[2] !== a[2]) throw new Error(`layer '${node.name}': kernel expects ${k[2]} input channels, input has ${a[2]}`);
  const [oh, ow] = spatial(a, k[0], k[1], c.strides, c.padding, c.dilations);
  if (oh <= 0 || ow <= 0) throw new Error(`layer '${node.name}': input [${a.join(', ')}] is smaller than its kernel`);
  return [oh, ow, node.op === 'conv2d' ? k[3] : k[2] * k[3]];
}

export const conv2d: OpDef = weightedOp({ kind: 'conv2d', shape: convShape, group: 'conv' }, {
  weight: (prep, node) => prep.tensors[node.id].kernel!,
  bias: (prep, node) => prep.tensors[node.id].bias,
  forward: (prep, node, x, w, bias) => conv2dFwd(x as tf.Tensor4D, w as tf.Tensor4D, node.attrs.conv!, prep.tensors[node.id].pads!, bias),
  transposed: (prep, node, s, key, w) => {
    const inShape = prep.graph.nodes[node.inputs[0]].shape;
    const f = prep.derived(node.id, `flip:${key}`, () => flipKernel(w() as tf.Tensor4D), valueSlot(`flip:${key}`));
    return conv2dTransposed(s as tf.Tensor4D, f, [inShape[0], inShape[1]], node.attrs.conv!, prep.tensors[node.id].pads!);
  },
}, onnxConv);
