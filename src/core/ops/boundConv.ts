/**
 * z^B's products of its bound images at a convolution that reads them as they are: conv(L, w⁺) and
 * conv(H, w⁻) of images constant per input channel. They depend on the bounds only, so the compiled
 * graph takes them as inputs made here once per bound values (rules.ts), instead of two convolutions
 * at the input's resolution in every run (ResNet-50's 7×7 first layer: ~30 ms of CPU a run, measured).
 *
 * Output (o, y, x) sums the window's taps inside the image; along each axis those are one run of tap
 * indices, so the window is a rectangle of taps: four lookups in a 2-D prefix sum of Σ_c v_c·w±[o, c]
 * over the kernel's taps, in float64, rounded once.
 */
import type { Graph, Node, ParamArray } from '../graph/ir';
import { convGeometry } from '../onnx/geometry';

/** The first and last tap index (inclusive) of a window at `start` that lie in [0, size); last < first when none. */
function tapRun(start: number, size: number, taps: number, dil: number): [number, number] {
  const first = Math.max(0, Math.ceil(-start / dil));
  const last = Math.min(taps - 1, Math.floor((size - 1 - start) / dil));
  return [first, last];
}

/**
 * conv(image with channel c = v[c] everywhere, w⁺ or w⁻) without bias, in the compiled layout
 * [co, oh, ow] of a conv2d node; `k` its kernel (the node's, unless a one-run process emptied it).
 */
export function boundConv(g: Graph, node: Node, v: readonly number[], part: 'plus' | 'minus', k: ParamArray = node.params.kernel!): Float32Array {
  const [kh, kw, ci, co] = k.shape;
  const [inH, inW] = g.nodes[node.inputs[0]].shape;
  const [oh, ow] = node.shape;
  const { pads, attrs } = convGeometry(g, node);
  const [sh, sw] = attrs.strides;
  const [dh, dw] = attrs.dilations;
  const file = k.oihw;
  const data = file ?? k.data;
  const at = file
    ? (o: number, i: number, y: number, x: number) => ((o * ci + i) * kh + y) * kw + x
    : (o: number, i: number, y: number, x: number) => ((y * kw + x) * ci + i) * co + o;
  const runs = (n: number, start: (j: number) => number, size: number, taps: number, dil: number): Int32Array => {
    const r = new Int32Array(2 * n);
    for (let j = 0; j < n; j++) [r[2 * j], r[2 * j + 1]] = tapRun(start(j), size, taps, dil);
    return r;
  };
  const rows = runs(oh, (y) => y * sh - pads[0][0], inH, kh, dh);
  const cols = runs(ow, (x) => x * sw - pads[1][0], inW, kw, dw);
  // the columns whose windows take every tap: one contiguous range [inner[0], inner[1])
  const inner = [0, 0];
  for (let x = 0; x < ow; x++) {
    if (cols[2 * x] !== 0 || cols[2 * x + 1] !== kw - 1) continue;
    if (inner[1] === inner[0]) inner[0] = x;
    inner[1] = x + 1;
  }
  const out = new Float32Array(co * oh * ow);
  // prefix[(y + 1)(kw + 1) + x + 1] = Σ over taps [0, y] × [0, x] of Σ_c v_c·w±[o, c, ·, ·]
  const P = kw + 1;
  const prefix = new Float64Array((kh + 1) * P);
  const sign = part === 'plus' ? 1 : -1;
  for (let o = 0; o < co; o++) {
    for (let y = 0; y < kh; y++) {
      let row = 0;
      for (let x = 0; x < kw; x++) {
        let t = 0;
        for (let i = 0; i < ci; i++) {
          const w = data[at(o, i, y, x)];
          // w⁺ = (w + |w|)/2, w⁻ = (w − |w|)/2
          t += v[i] * (w + sign * Math.abs(w)) / 2;
        }
        row += t;
        prefix[(y + 1) * P + x + 1] = prefix[y * P + x + 1] + row;
      }
    }
    const base = o * oh * ow;
    const whole = prefix[kh * P + kw];
    for (let y = 0; y < oh; y++) {
      const y0 = rows[2 * y];
      const y1 = rows[2 * y + 1] + 1;
      if (y1 <= y0) continue;
      const full = y0 === 0 && y1 === kh;
      for (let x = 0; x < ow; x++) {
        // a window wholly inside the image (the interior: most of the map) takes every tap
        if (full && x === inner[0] && inner[1] > inner[0]) {
          out.fill(whole, base + y * ow + x, base + y * ow + inner[1]);
          x = inner[1] - 1;
          continue;
        }
        const x0 = cols[2 * x];
        const x1 = cols[2 * x + 1] + 1;
        if (x1 <= x0) continue;
        out[base + y * ow + x] = prefix[y1 * P + x1] - prefix[y0 * P + x1] - prefix[y1 * P + x0] + prefix[y0 * P + x0];
      }
    }
  }
  return out;
}
