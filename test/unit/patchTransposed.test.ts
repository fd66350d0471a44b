/**
 * The transposed convolution of non-overlapping patches (stride = kernel: a ViT's patch embedding), which
 * the engine computes as one matrix product, against a naive float64 loop written here: R_in[y, x, c] =
 * Σ over the output positions whose window holds (y, x) of s[oy, ox, o] · w[y − oy·k, x − ox·k, c, o].
 * Inputs whose size is not a multiple of the patch (uncovered rows / columns get 0), padding after the
 * last patch (its overhang dropped), and an overlapping conv (the other route) for contrast.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend, tf } from '../../src/core/engine/backend';
import { conv2dTransposed, flipKernel } from '../../src/core/engine/convOps';
import type { ConvAttrs, ExplicitPad } from '../../src/core/graph/ir';
import { Rand } from './helpers/methodNets';

function naive(s: Float32Array, sShape: number[], w: Float32Array, wShape: number[], inH: number, inW: number,
  strides: [number, number], pads: ExplicitPad): Float64Array {
  const [, oh, ow, o] = sShape;
  const [kh, kw, c] = wShape;
  const out = new Float64Array(inH * inW * c);
  for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
    const yy = y * strides[0] - pads[0][0] + i;
    const xx = x * strides[1] - pads[1][0] + j;
    if (yy < 0 || yy >= inH || xx < 0 || xx >= inW) continue;
    for (let ci = 0; ci < c; ci++) {
      let acc = 0;
      for (let oi = 0; oi < o; oi++) acc += s[(y * ow + x) * o + oi] * w[((i * kw + j) * c + ci) * o + oi];
      out[(yy * inW + xx) * c + ci] += acc;
    }
  }
  return out;
}

const CASES: { name: string; inH: number; inW: number; k: [number, number]; strides: [number, number]; pads: ExplicitPad }[] = [
  { name: '4x4 patches of 8x12', inH: 8, inW: 12, k: [4, 4], strides: [4, 4], pads: [[0, 0], [0, 0]] },
  { name: '3x2 patches, 2 rows and 1 column uncovered', inH: 8, inW: 7, k: [3, 2], strides: [3, 2], pads: [[0, 0], [0, 0]] },
  { name: 'padded after the last patch', inH: 7, inW: 7, k: [4, 4], strides: [4, 4], pads: [[0, 1], [0, 1]] },
  { name: 'overlapping 3x3 stride 2 (the general route)', inH: 9, inW: 8, k: [3, 3], strides: [2, 2], pads: [[1, 1], [1, 0]] },
];

for (const cs of CASES) {
  test(`transposed conv, ${cs.name}, equals the float64 loop`, async () => {
    await initBackend('wasm');
    const r = new Rand(7);
    const [c, o] = [3, 5];
    const oh = Math.floor((cs.inH + cs.pads[0][0] + cs.pads[0][1] - cs.k[0]) / cs.strides[0]) + 1;
    const ow = Math.floor((cs.inW + cs.pads[1][0] + cs.pads[1][1] - cs.k[1]) / cs.strides[1]) + 1;
    const sShape = [1, oh, ow, o];
    const wShape = [cs.k[0], cs.k[1], c, o];
    const s = r.array(oh * ow * o, 1);
    const w = r.array(cs.k[0] * cs.k[1] * c * o, 1);
    const attrs: ConvAttrs = { strides: cs.strides, padding: 'valid', dilations: [1, 1] };
    const before = tf.memory().numTensors;
    const got = tf.tidy(() => {
      const wf = flipKernel(tf.tensor4d(w, wShape as [number, number, number, number]));
      return conv2dTransposed(tf.tensor4d(s, sShape as [number, number, number, number]), wf, [cs.inH, cs.inW], attrs, cs.pads);
    });
    assert.deepEqual(got.shape, [1, cs.inH, cs.inW, c]);
    const data = got.dataSync();
    got.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensors left behind');
    const ref = naive(s, sShape, w, wShape, cs.inH, cs.inW, cs.strides, cs.pads);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(data[i] - ref[i]));
    assert.ok(worst <= 1e-5, `max |Δ| ${worst}`);
  });
}
