/** Window geometry shared by the ops' shape rules (shapes without batch, NHWC). */
import type { ExplicitPad, Node, Padding } from './ir';

/** [[top, bottom], [left, right]] that TF uses for 'same' / 'valid' / explicit padding. */
export function resolvePadding(
  padding: Padding, inH: number, inW: number, kh: number, kw: number, strides: [number, number],
  dilations: [number, number] = [1, 1],
): ExplicitPad {
  if (Array.isArray(padding)) return padding;
  if (padding === 'valid') return [[0, 0], [0, 0]];
  const ekh = (kh - 1) * dilations[0] + 1;
  const ekw = (kw - 1) * dilations[1] + 1;
  const outH = Math.ceil(inH / strides[0]);
  const outW = Math.ceil(inW / strides[1]);
  const padH = Math.max((outH - 1) * strides[0] + ekh - inH, 0);
  const padW = Math.max((outW - 1) * strides[1] + ekw - inW, 0);
  const top = Math.floor(padH / 2);
  const left = Math.floor(padW / 2);
  return [[top, padH - top], [left, padW - left]];
}

export function windowOutput(inSize: number, k: number, stride: number, dilation: number, before: number, after: number): number {
  const ek = (k - 1) * dilation + 1;
  return Math.floor((inSize + before + after - ek) / stride) + 1;
}

export function spatial(inShape: number[], kh: number, kw: number, strides: [number, number], padding: Padding, dil: [number, number] = [1, 1]): [number, number] {
  const [h, w] = inShape;
  const p = resolvePadding(padding, h, w, kh, kw, strides, dil);
  return [windowOutput(h, kh, strides[0], dil[0], p[0][0], p[0][1]), windowOutput(w, kw, strides[1], dil[1], p[1][0], p[1][1])];
}

/** Output shape of max / average pooling. */
export function poolShape(node: Pick<Node, 'op' | 'attrs' | 'name'>, inputs: number[][]): number[] {
  const a = inputs[0];
  if (!a || a.length !== 3) throw new Error(`layer '${node.name}' (${node.op}) expects a rank-3 input, got [${a?.join(', ')}]`);
  const p = node.attrs.pool!;
  const [oh, ow] = spatial(a, p.poolSize[0], p.poolSize[1], p.strides, p.padding);
  if (oh <= 0 || ow <= 0) throw new Error(`layer '${node.name}': input [${a.join(', ')}] is smaller than its pool`);
  return [oh, ow, a[2]];
}
