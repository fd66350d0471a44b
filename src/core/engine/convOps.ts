/**
 * Forward and transposed linear ops in NHWC. The transposed convolution is an ordinary conv2d with the
 * kernel flipped spatially and its in/out channels swapped, on zero-inserted input for stride > 1:
 * on wasm that is several times faster than the built-in Conv2DBackpropInput.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ConvAttrs, ExplicitPad } from '../graph/ir';
import { resolvePadding } from '../graph/shapes';

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];
const pad4 = (p: ExplicitPad): Pad4 => [[0, 0], p[0], p[1], [0, 0]];

export function convPads(attrs: ConvAttrs, inH: number, inW: number, kh: number, kw: number): ExplicitPad {
  return resolvePadding(attrs.padding, inH, inW, kh, kw, attrs.strides, attrs.dilations);
}

function isZeroPad(p: ExplicitPad): boolean {
  return p[0][0] === 0 && p[0][1] === 0 && p[1][0] === 0 && p[1][1] === 0;
}

/** conv2d (bias optional, fused); `pads` explicit so the same geometry is used forwards and backwards. */
export function conv2dFwd(x: tf.Tensor4D, w: tf.Tensor4D, attrs: ConvAttrs, pads: ExplicitPad, bias?: tf.Tensor): tf.Tensor4D {
  const pad = isZeroPad(pads) ? 'valid' : pad4(pads);
  if (bias) return tf.fused.conv2d({ x, filter: w, strides: attrs.strides, pad, dataFormat: 'NHWC', dilations: attrs.dilations, bias });
  return tf.conv2d(x, w, attrs.strides, pad, 'NHWC', attrs.dilations);
}

export function depthwiseFwd(x: tf.Tensor4D, w: tf.Tensor4D, attrs: ConvAttrs, pads: ExplicitPad): tf.Tensor4D {
  const xp = isZeroPad(pads) ? x : tf.pad(x, pad4(pads));
  const y = tf.depthwiseConv2d(xp, w, attrs.strides, 'valid', 'NHWC', attrs.dilations);
  if (xp !== x) xp.dispose();
  return y;
}

/** Kernel of the transposed conv as a forward conv: flipped in space, in/out channels swapped. */
export function flipKernel(w: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]));
}

/** Inserts (stride - 1) zeros between rows and columns (stride 1: returns s itself, no copy). */
export function zeroInsert(s: tf.Tensor4D, strides: [number, number]): tf.Tensor4D {
  const [sh, sw] = strides;
  if (sh === 1 && sw === 1) return s;
  return tf.tidy(() => {
    const [n, h, w, c] = s.shape;
    const t = tf.pad(tf.reshape(s, [n, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
    return tf.slice(tf.reshape(t, [n, h * sh, w * sw, c]), [0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]) as tf.Tensor4D;
  });
}

/**
 * Geometry of the transposed op: pads applied to the zero-inserted upstream signal so that a valid
 * stride-1 correlation with the flipped kernel returns the input's height and width.
 */
export function transposePads(
  inH: number, inW: number, outH: number, outW: number, kh: number, kw: number, attrs: ConvAttrs, pads: ExplicitPad,
): ExplicitPad {
  const ekh = (kh - 1) * attrs.dilations[0] + 1;
  const ekw = (kw - 1) * attrs.dilations[1] + 1;
  const top = ekh - 1 - pads[0][0];
  const left = ekw - 1 - pads[1][0];
  const bottom = inH + ekh - 1 - ((outH - 1) * attrs.strides[0] + 1) - top;
  const right = inW + ekw - 1 - ((outW - 1) * attrs.strides[1] + 1) - left;
  return [[top, bottom], [left, right]];
}

/** Pads that may be negative (a forward pad larger than the kernel reach): crop instead. */
function padOrCrop(x: tf.Tensor4D, p: ExplicitPad): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const crop = [Math.max(0, -p[0][0]), Math.max(0, -p[0][1]), Math.max(0, -p[1][0]), Math.max(0, -p[1][1])];
  let y = x;
  if (crop.some((v) => v > 0)) y = tf.slice(x, [0, crop[0], crop[2], 0], [n, h - crop[0] - crop[1], w - crop[2] - crop[3], c]);
  const pp: ExplicitPad = [[Math.max(0, p[0][0]), Math.max(0, p[0][1])], [Math.max(0, p[1][0]), Math.max(0, p[1][1])]];
  if (!isZeroPad(pp)) y = tf.pad(y, pad4(pp));
  return y;
}

/** Transposed conv2d: s [N, outH, outW, outC] -> [N, inH, inW, inC], with `wFlipped = flipKernel(w)`. */
export function conv2dTransposed(
  s: tf.Tensor4D, wFlipped: tf.Tensor4D, inShape: [number, number], attrs: ConvAttrs, pads: ExplicitPad,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = wFlipped.shape;
    if (isPatchConv(kh, kw, attrs, pads)) return patchTransposed(s, wFlipped, inShape);
    const u = zeroInsert(s, attrs.strides);
    const tp = transposePads(inShape[0], inShape[1], s.shape[1], s.shape[2], kh, kw, attrs, pads);
    // non-negative pads go to the conv itself (no padded copy); a negative one means cropping first
    if (tp.flat().every((v) => v >= 0)) return tf.conv2d(u, wFlipped, 1, isZeroPad(tp) ? 'valid' : pad4(tp), 'NHWC', attrs.dilations);
    return tf.conv2d(padOrCrop(u, tp), wFlipped, 1, 'valid', 'NHWC', attrs.dilations);
  });
}

/** Non-overlapping windows (stride = kernel, no dilation, nothing padded before): a ViT's patch embedding. */
function isPatchConv(kh: number, kw: number, attrs: ConvAttrs, pads: ExplicitPad): boolean {
  return kh > 1 && attrs.strides[0] === kh && attrs.strides[1] === kw && attrs.dilations[0] === 1 && attrs.dilations[1] === 1
    && pads[0][0] === 0 && pads[1][0] === 0;
}

/**
 * The transposed patch conv as one matrix product: each output position's signal times the kernel is its
 * own patch of the input, laid back in place (rows and columns past the last whole patch get 0). The
 * zero-inserted route runs a kh × kw correlation over an input (kh·kw)× larger: ViT-B/32's patch
 * embedding took 13.7 of the 14.7 s of an explanation that way.
 */
function patchTransposed(s: tf.Tensor4D, wFlipped: tf.Tensor4D, inShape: [number, number]): tf.Tensor4D {
  const [kh, kw, o, c] = wFlipped.shape;
  const [n, oh, ow] = s.shape;
  // wFlipped[i, j, o, c] = w[kh−1−i, kw−1−j, c, o]: undo the flip, then rows o of [o, kh·kw·c]
  const m = tf.reshape(tf.transpose(tf.reverse(wFlipped, [0, 1]), [2, 0, 1, 3]), [o, kh * kw * c]);
  const patches = tf.matMul(tf.reshape(s, [n * oh * ow, o]), m);
  const laid = tf.reshape(tf.transpose(tf.reshape(patches, [n, oh, ow, kh, kw, c]), [0, 1, 3, 2, 4, 5]), [n, oh * kh, ow * kw, c]) as tf.Tensor4D;
  // padded after (the last patch reaching past the input): its overhang dropped; uncovered rest: zeros
  const kept = tf.slice(laid, [0, 0, 0, 0], [n, Math.min(oh * kh, inShape[0]), Math.min(ow * kw, inShape[1]), c]);
  const [bottom, right] = [Math.max(0, inShape[0] - oh * kh), Math.max(0, inShape[1] - ow * kw)];
  return (bottom > 0 || right > 0 ? tf.pad(kept, [[0, 0], [0, bottom], [0, right], [0, 0]]) : kept) as tf.Tensor4D;
}

/** Transposed depthwise conv; `wFlipped` is the spatially flipped depthwise kernel [kh, kw, C, m]. */
export function depthwiseTransposed(
  s: tf.Tensor4D, wFlipped: tf.Tensor4D, inShape: [number, number], attrs: ConvAttrs, pads: ExplicitPad,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, c, m] = wFlipped.shape;
    const u = zeroInsert(s, attrs.strides);
    const tp = transposePads(inShape[0], inShape[1], s.shape[1], s.shape[2], kh, kw, attrs, pads);
    const up = padOrCrop(u, tp);
    if (m === 1) return tf.depthwiseConv2d(up, wFlipped, 1, 'valid', 'NHWC', attrs.dilations);
    // multiplier > 1: output channel c*m + j belongs to input channel c; sum the m groups.
    const [n, h, w] = up.shape;
    const grouped = tf.reshape(up, [n, h, w, c, m]);
    let acc: tf.Tensor4D | undefined;
    for (let j = 0; j < m; j++) {
      const sj = tf.reshape(tf.slice(grouped, [0, 0, 0, 0, j], [n, h, w, c, 1]), [n, h, w, c]) as tf.Tensor4D;
      const wj = tf.slice(wFlipped, [0, 0, 0, j], [kh, kw, c, 1]) as tf.Tensor4D;
      const r = tf.depthwiseConv2d(sj, wj, 1, 'valid', 'NHWC', attrs.dilations);
      acc = acc ? (tf.add(acc, r) as tf.Tensor4D) : r;
    }
    return acc!;
  });
}
