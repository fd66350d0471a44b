/**
 * z^B's bound products fed to the compiled graph (ops/boundConv.ts): conv(image constant per channel,
 * w⁺ or w⁻) from prefix sums of the kernel, against a naive convolution written here (float64, every
 * tap checked against the image's border), for padded, strided and dilated geometries and both kernel
 * layouts (the IR's, and an ONNX file's [O, I, kh, kw]).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { ConvAttrs, Graph, Node } from '../../src/core/graph/ir';
import { boundConv } from '../../src/core/ops/boundConv';
import { oihwKernel } from '../../src/core/graph/oihwKernel';
import { resolvePadding, spatial } from '../../src/core/graph/shapes';
import { Rand } from './helpers/methodNets';

interface Case { h: number; w: number; ci: number; co: number; kh: number; kw: number; conv: ConvAttrs }

const CASES: Case[] = [
  { h: 9, w: 8, ci: 3, co: 4, kh: 7, kw: 7, conv: { strides: [2, 2], padding: [[3, 3], [3, 3]], dilations: [1, 1] } },
  { h: 6, w: 7, ci: 2, co: 3, kh: 3, kw: 2, conv: { strides: [1, 2], padding: 'same', dilations: [2, 1] } },
  { h: 5, w: 5, ci: 3, co: 2, kh: 3, kw: 3, conv: { strides: [1, 1], padding: 'valid', dilations: [1, 1] } },
  { h: 4, w: 6, ci: 1, co: 2, kh: 5, kw: 3, conv: { strides: [3, 1], padding: [[4, 0], [0, 2]], dilations: [1, 2] } },
];

/** conv(image with channel c = v[c], w±) by visiting every tap, the input index checked for the border. */
function naive(c: Case, kernel: (o: number, i: number, y: number, x: number) => number, v: number[], part: 'plus' | 'minus'): { out: Float64Array; oh: number; ow: number } {
  const pads = resolvePadding(c.conv.padding, c.h, c.w, c.kh, c.kw, c.conv.strides, c.conv.dilations);
  const [oh, ow] = spatial([c.h, c.w, c.ci], c.kh, c.kw, c.conv.strides, c.conv.padding, c.conv.dilations);
  const out = new Float64Array(c.co * oh * ow);
  for (let o = 0; o < c.co; o++) for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) {
    let t = 0;
    for (let ky = 0; ky < c.kh; ky++) for (let kx = 0; kx < c.kw; kx++) {
      const iy = y * c.conv.strides[0] - pads[0][0] + ky * c.conv.dilations[0];
      const ix = x * c.conv.strides[1] - pads[1][0] + kx * c.conv.dilations[1];
      if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
      for (let i = 0; i < c.ci; i++) {
        const w = kernel(o, i, ky, kx);
        t += v[i] * (part === 'plus' ? Math.max(w, 0) : Math.min(w, 0));
      }
    }
    out[(o * oh + y) * ow + x] = t;
  }
  return { out, oh, ow };
}

test('z^B bound products from prefix sums equal a naive convolution of the bound images (padding, stride, dilation, both layouts)', () => {
  const rand = new Rand(11);
  for (const [n, c] of CASES.entries()) {
    const file = rand.array(c.co * c.ci * c.kh * c.kw, 1, 0);
    const at = (o: number, i: number, y: number, x: number): number => file[((o * c.ci + i) * c.kh + y) * c.kw + x];
    const hwio = new Float32Array(file.length);
    for (let o = 0; o < c.co; o++) for (let i = 0; i < c.ci; i++) for (let y = 0; y < c.kh; y++) for (let x = 0; x < c.kw; x++) hwio[((y * c.kw + x) * c.ci + i) * c.co + o] = at(o, i, y, x);
    const v = Array.from({ length: c.ci }, (_, i) => (i % 2 ? 2.5 : -1.75) + i * 0.1);
    for (const layout of ['file', 'ir'] as const) {
      const ref = naive(c, at, v, 'plus');
      const node = {
        id: 1, name: 'conv', op: 'conv2d', inputs: [0], shape: [ref.oh, ref.ow, c.co], attrs: { conv: c.conv },
        params: { kernel: layout === 'file' ? oihwKernel(file.slice(), c.kh, c.kw, c.ci, c.co) : { shape: [c.kh, c.kw, c.ci, c.co], data: hwio } },
      } as unknown as Node;
      const g = { nodes: [{ id: 0, name: 'x', op: 'input', inputs: [], shape: [c.h, c.w, c.ci], params: {}, attrs: {} }, node], input: 0, output: 1 } as unknown as Graph;
      for (const part of ['plus', 'minus'] as const) {
        const want = part === 'plus' ? ref.out : naive(c, at, v, part).out;
        const got = boundConv(g, node, v, part);
        assert.equal(got.length, want.length, `case ${n}`);
        const scale = Math.max(...want.map(Math.abs));
        assert.ok(scale > 0, `case ${n} ${part}: not all zero`);
        for (let j = 0; j < want.length; j++) assert.ok(Math.abs(got[j] - want[j]) <= 1e-6 * scale, `case ${n} ${layout} ${part} [${j}]: ${got[j]} vs ${want[j]}`);
        // the border differs from the interior where padding cuts windows
        if (c.conv.padding !== 'valid') assert.ok(new Set(Array.from(got)).size > c.co, `case ${n}: the border is distinct`);
      }
      assert.equal(layout === 'file' ? node.params.kernel!.oihw !== undefined : true, true, 'the file layout is read as it is');
    }
  }
});
