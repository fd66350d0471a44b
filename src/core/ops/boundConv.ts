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
  const rows = Array.from({ length: oh }, (_, y) => tapRun(y * sh - pads[0][0], inH, kh, dh));
  const cols = Array.from({ length: ow }, (_, x) => tapRun(x * sw - pads[1][0], inW, kw, dw));
  const out = new Float32Array(co * oh * ow);
  // prefix[(y + 1)(kw + 1) + x + 1] = Σ over taps [0, y] × [0, x] of Σ_c v_c·w±[o, c, ·, ·]
  const prefix = new Float64Array((kh + 1) * (kw + 1));
  const P = kw + 1;
  for (let o = 0; o < co; o++) {
    for (let y = 0; y < kh; y++) {
      let row = 0;
      for (let x = 0; x < kw; x++) {
        let t = 0;
        for (let i = 0; i < ci; i++) {
          const w = data[at(o, i, y, x)];
          t += v[i] * (part === 'plus' ? Math.max(w, 0) : Math.min(w, 0));
        }
        row += t;
        prefix[(y + 1) * P + x + 1] = prefix[y * P + x + 1] + row;
      }
    }
    for (let y = 0; y < oh; y++) {
      const [y0, y1] = rows[y];
      for (let x = 0; x < ow; x++) {
        const [x0, x1] = cols[x];
        out[(o * oh + y) * ow + x] = y1 < y0 || x1 < x0 ? 0
          : prefix[(y1 + 1) * P + x1 + 1] - prefix[y0 * P + x1 + 1] - prefix[(y1 + 1) * P + x0] + prefix[y0 * P + x0];
      }
    }
  }
  return out;
}
