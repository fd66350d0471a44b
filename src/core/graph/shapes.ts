/** Output-shape inference for every op of the IR (shapes without batch, NHWC). */
import type { ExplicitPad, Node, Padding } from './ir';
import { sizeOf } from './ir';

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

function spatial(inShape: number[], kh: number, kw: number, strides: [number, number], padding: Padding, dil: [number, number] = [1, 1]): [number, number] {
  const [h, w] = inShape;
  const p = resolvePadding(padding, h, w, kh, kw, strides, dil);
  return [windowOutput(h, kh, strides[0], dil[0], p[0][0], p[0][1]), windowOutput(w, kw, strides[1], dil[1], p[1][0], p[1][1])];
}

/** Throws a plain Error with the reason; callers wrap it with the file name. */
export function inferShape(node: Pick<Node, 'op' | 'attrs' | 'params' | 'name'>, inputs: number[][]): number[] {
  const a = inputs[0];
  const { attrs, params } = node;
  const need = (rank: number): void => {
    if (!a || a.length !== rank) throw new Error(`layer '${node.name}' (${node.op}) expects a rank-${rank} input, got [${a?.join(', ')}]`);
  };
  switch (node.op) {
    case 'input':
      return a;
    case 'conv2d': case 'depthwiseConv2d': {
      need(3);
      const k = params.kernel!.shape;
      const c = attrs.conv!;
      if (k[2] !== a[2]) throw new Error(`layer '${node.name}': kernel expects ${k[2]} input channels, input has ${a[2]}`);
      const [oh, ow] = spatial(a, k[0], k[1], c.strides, c.padding, c.dilations);
      if (oh <= 0 || ow <= 0) throw new Error(`layer '${node.name}': input [${a.join(', ')}] is smaller than its kernel`);
      return [oh, ow, node.op === 'conv2d' ? k[3] : k[2] * k[3]];
    }
    case 'dense': {
      // over the last axis: [K] -> [N], [T, K] -> [T, N] (token-wise linear layers)
      if (!a || a.length < 1) need(1);
      const k = params.kernel!.shape;
      if (k[0] !== a[a.length - 1]) throw new Error(`layer '${node.name}': kernel expects ${k[0]} inputs, input has ${a[a.length - 1]}`);
      return [...a.slice(0, -1), k[1]];
    }
    case 'maxPool': case 'avgPool': {
      need(3);
      const p = attrs.pool!;
      const [oh, ow] = spatial(a, p.poolSize[0], p.poolSize[1], p.strides, p.padding);
      if (oh <= 0 || ow <= 0) throw new Error(`layer '${node.name}': input [${a.join(', ')}] is smaller than its pool`);
      return [oh, ow, a[2]];
    }
    case 'globalAvgPool':
      need(3);
      return [a[2]];
    case 'flatten':
      return [sizeOf(a)];
    case 'reshape': {
      const t = attrs.targetShape!.slice();
      const known = t.filter((d) => d !== -1).reduce((x, y) => x * y, 1);
      const iu = t.indexOf(-1);
      if (iu >= 0) t[iu] = sizeOf(a) / known;
      if (sizeOf(t) !== sizeOf(a) || !t.every(Number.isInteger)) {
        throw new Error(`layer '${node.name}': cannot reshape [${a.join(', ')}] to [${attrs.targetShape!.join(', ')}]`);
      }
      return t;
    }
    case 'pad': {
      need(3);
      const p = attrs.pads!;
      return [a[0] + p[0][0] + p[0][1], a[1] + p[1][0] + p[1][1], a[2]];
    }
    case 'add': {
      for (const s of inputs) {
        if (s.length !== a.length || s.some((d, i) => d !== a[i])) {
          throw new Error(`layer '${node.name}': cannot add shapes [${a.join(', ')}] and [${s.join(', ')}]`);
        }
      }
      return a.slice();
    }
    case 'concat': {
      const rank = a.length;
      let axis = attrs.axis ?? -1;
      // axis counts the batch dimension (Keras convention); shapes here have none.
      axis = axis < 0 ? rank + axis : axis - 1;
      if (axis < 0 || axis >= rank) throw new Error(`layer '${node.name}': bad concat axis ${attrs.axis}`);
      const out = a.slice();
      out[axis] = 0;
      for (const s of inputs) {
        if (s.length !== rank || s.some((d, i) => i !== axis && d !== a[i])) {
          throw new Error(`layer '${node.name}': cannot concatenate [${a.join(', ')}] and [${s.join(', ')}] on axis ${attrs.axis}`);
        }
        out[axis] += s[axis];
      }
      return out;
    }
    case 'mul': {
      const g = inputs[1];
      const c = a[a.length - 1];
      const ok = (g.length === a.length && g.every((d, i) => d === a[i])) || (a.length === 3 && g.length === 3 && g[0] === 1 && g[1] === 1 && g[2] === c);
      if (!ok) throw new Error(`layer '${node.name}': gate [${g.join(', ')}] does not broadcast to [${a.join(', ')}]`);
      return a.slice();
    }
    case 'batchNorm': case 'activation': case 'identity':
      return a.slice();
    case 'transpose': {
      const perm = attrs.perm!;
      if (perm.length !== a.length || [...perm].sort((x, y) => x - y).some((p, i) => p !== i)) {
        throw new Error(`layer '${node.name}': perm [${perm.join(', ')}] does not permute [${a.join(', ')}]`);
      }
      return perm.map((p) => a[p]);
    }
    case 'select': {
      const ix = params.index!;
      const n = sizeOf(a);
      for (const v of ix.data) if (v < -1 || v >= n || !Number.isInteger(v)) throw new Error(`layer '${node.name}': index ${v} outside the input of ${n} elements`);
      return ix.shape.slice();
    }
    case 'constant':
      return params.value!.shape.slice();
    case 'matmul': {
      const b = inputs[1];
      const r = a.length;
      if (r < 2 || b.length !== r || a.slice(0, -2).some((d, i) => d !== b[i]) || a[r - 1] !== b[r - 2]) {
        throw new Error(`layer '${node.name}': cannot multiply [${a.join(', ')}] by [${b?.join(', ')}]`);
      }
      return [...a.slice(0, -1), b[r - 1]];
    }
    case 'layerNorm': {
      const d = a[a.length - 1];
      for (const p of [params.gamma, params.beta]) if (p && p.data.length !== d) throw new Error(`layer '${node.name}': ${p.data.length} affine values for ${d} features`);
      return a.slice();
    }
  }
}
