/**
 * Backward passes of pooling without tf.grad: each of the kh·kw window offsets is a strided slice of
 * the (padded) input, and its transpose is zero insertion plus padding. Max pooling routes relevance
 * to the first maximum of each window (winner-take-all); average pooling spreads it by 1/count.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExplicitPad, PoolAttrs } from '../graph/ir';
import { resolvePadding } from '../graph/shapes';
import { conv2dFwd, depthwiseFwd, depthwiseTransposed } from './convOps';

export function poolPads(p: PoolAttrs, inH: number, inW: number): ExplicitPad {
  return resolvePadding(p.padding, inH, inW, p.poolSize[0], p.poolSize[1], p.strides);
}

function crop(x: tf.Tensor4D, pads: ExplicitPad, h: number, w: number): tf.Tensor4D {
  return tf.slice(x, [0, pads[0][0], pads[1][0], 0], [x.shape[0], h, w, x.shape[3]]);
}

/**
 * Non-overlapping windows (stride = pool size, the common case), with no scatter: the pooled max is
 * upsampled by nearest neighbour; each input position gets a score (kh·kw − its row-major offset in
 * the window) where it equals the max, and a second max pooling of the scores picks the first winner.
 */
function maxPoolBackwardTiled(x: tf.Tensor4D, y: tf.Tensor4D, r: tf.Tensor4D, p: PoolAttrs, pads: ExplicitPad): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const [kh, kw] = p.poolSize;
  const [, oh, ow] = y.shape;
  let xp = x;
  if (pads.flat().some((v) => v !== 0)) xp = tf.pad(x, [[0, 0], pads[0], pads[1], [0, 0]], -Infinity);
  const hp = xp.shape[1];
  const wp = xp.shape[2];
  const th = oh * kh;
  const tw = ow * kw;
  if (hp !== th || wp !== tw) xp = tf.slice(xp, [0, 0, 0, 0], [n, th, tw, c]);
  const up = (t: tf.Tensor4D): tf.Tensor4D => tf.image.resizeNearestNeighbor(t, [th, tw]);
  const order = new Float32Array(th * tw);
  for (let i = 0; i < th; i++) for (let j = 0; j < tw; j++) order[i * tw + j] = kh * kw - ((i % kh) * kw + (j % kw));
  const score = tf.mul(tf.cast(tf.equal(xp, up(y)), 'float32'), tf.tensor4d(order, [1, th, tw, 1])) as tf.Tensor4D;
  const best = tf.maxPool(score, [kh, kw], [kh, kw], 'valid');
  const win = tf.cast(tf.equal(score, up(best)), 'float32');
  let out = tf.mul(win, up(r)) as tf.Tensor4D;
  if (hp !== th || wp !== tw) out = tf.pad(out, [[0, 0], [0, hp - th], [0, wp - tw], [0, 0]]);
  return crop(out, pads, h, w);
}

/** A depthwise kernel [kh, kw, C, 1] that picks the window position (dy, dx) of every channel. */
function pickKernel(kh: number, kw: number, c: number, dy: number, dx: number): tf.Tensor4D {
  const k = new Float32Array(kh * kw * c);
  k.fill(1, (dy * kw + dx) * c, (dy * kw + dx + 1) * c);
  return tf.tensor4d(k, [kh, kw, c, 1]);
}

/** Lowest finite float32: padding that never wins a window and keeps 0·pad = 0 in a convolution. */
const NEVER_WINS = -3.4e38;

/**
 * Winner-take-all: R_in at the first position (row-major) of each window that attains the max.
 * Overlapping windows: each window offset is read with a one-hot depthwise convolution and written
 * back with its transpose (strided slices are very slow on wasm).
 */
export function maxPoolBackward(x: tf.Tensor4D, y: tf.Tensor4D, r: tf.Tensor4D, p: PoolAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w, c] = x.shape;
    const pads = poolPads(p, h, w);
    if (p.strides[0] === p.poolSize[0] && p.strides[1] === p.poolSize[1]) return maxPoolBackwardTiled(x, y, r, p, pads);
    const [kh, kw] = p.poolSize;
    const xp = tf.pad(x, [[0, 0], pads[0], pads[1], [0, 0]], NEVER_WINS) as tf.Tensor4D;
    const [, hp, wp] = xp.shape;
    const conv = { strides: p.strides, padding: 'valid' as const, dilations: [1, 1] as [number, number] };
    const none: ExplicitPad = [[0, 0], [0, 0]];
    let taken: tf.Tensor | undefined;
    let acc: tf.Tensor4D | undefined;
    for (let dy = 0; dy < kh; dy++) {
      for (let dx = 0; dx < kw; dx++) {
        const at = depthwiseFwd(xp, pickKernel(kh, kw, c, dy, dx), conv, none);
        let win = tf.cast(tf.equal(at, y), 'float32');
        if (taken) win = tf.mul(win, tf.sub(1, taken));
        taken = taken ? tf.add(taken, win) : win;
        const back = depthwiseTransposed(tf.mul(r, win) as tf.Tensor4D, pickKernel(kh, kw, c, kh - 1 - dy, kw - 1 - dx), [hp, wp], conv, none);
        acc = acc ? (tf.add(acc, back) as tf.Tensor4D) : back;
      }
    }
    return crop(acc!, pads, h, w);
  });
}

/** Number of non-padding positions in each window (TF's average pooling divides by it), [1, oh, ow, 1]. */
export function poolCounts(p: PoolAttrs, h: number, w: number): tf.Tensor4D {
  return tf.tidy(() => {
    const pads = poolPads(p, h, w);
    const conv = { strides: p.strides, padding: pads, dilations: [1, 1] as [number, number] };
    return conv2dFwd(tf.ones([1, h, w, 1]) as tf.Tensor4D, tf.ones([p.poolSize[0], p.poolSize[1], 1, 1]) as tf.Tensor4D, conv, pads);
  });
}

/**
 * Transpose of average pooling: each output's signal divided by its count, summed back over its
 * window — a transposed depthwise convolution with a ones kernel (no strided slices, slow on wasm).
 */
export function avgPoolTransposed(s: tf.Tensor4D, p: PoolAttrs, inShape: [number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    const [h, w] = inShape;
    const c = s.shape[3];
    const pads = poolPads(p, h, w);
    const conv = { strides: p.strides, padding: pads, dilations: [1, 1] as [number, number] };
    const sc = tf.div(s, poolCounts(p, h, w)) as tf.Tensor4D;
    return depthwiseTransposed(sc, tf.ones([p.poolSize[0], p.poolSize[1], c, 1]) as tf.Tensor4D, [h, w], conv, pads);
  });
}
