/**
 * The oracle's view of each layer: a dense matrix over the flattened (NHWC, row-major) input and
 * output, built with plain loops from the layer's parameters and attributes. Nothing here calls the
 * engine or TensorFlow.js; it only reads the model (params, attrs, shapes) from the IR.
 *
 * Conventions (DESIGN.md, TF):
 *  - 'same' padding: out = ceil(in/s), total = max((out-1)*s + (k-1)*d + 1 - in, 0), before = floor(total/2)
 *  - 'valid': out = floor((in - ((k-1)*d + 1)) / s) + 1
 *  - average pooling divides by the number of non-padding positions of the window
 *  - max pooling: winner-take-all to the first maximum in row-major window order
 */
import type { Node, Padding } from '../../../src/core/graph/ir';

/** A weighted layer as z = Wᵀa + b with W dense [nIn × nOut] (row-major: W[j*nOut + k]). */
export interface LinearMatrix {
  nIn: number;
  nOut: number;
  W: Float64Array;
  /** 1 where input j is in the receptive field of output k (a kernel tap exists, padding excluded) */
  conn: Uint8Array;
  bias: Float64Array;
  /** channel of input j (for per-channel z^B bounds) and the number of channels */
  inChannel: (j: number) => number;
  inChannels: number;
}

export interface Geometry {
  outSize: number;
  before: number;
}

/** One spatial axis of a window op (TF semantics), computed independently of the engine. */
export function axisGeometry(padding: Padding, axis: 0 | 1, inSize: number, k: number, s: number, d: number): Geometry {
  const ek = (k - 1) * d + 1;
  if (padding === 'valid') return { outSize: Math.floor((inSize - ek) / s) + 1, before: 0 };
  if (padding === 'same') {
    const outSize = Math.ceil(inSize / s);
    const total = Math.max((outSize - 1) * s + ek - inSize, 0);
    return { outSize, before: Math.floor(total / 2) };
  }
  const [b, a] = padding[axis];
  return { outSize: Math.floor((inSize + b + a - ek) / s) + 1, before: b };
}

function f64(a: Float32Array | undefined, n: number): Float64Array {
  const out = new Float64Array(n);
  if (a) for (let i = 0; i < n; i++) out[i] = a[i];
  return out;
}

function checkShape(node: Node, want: number[]): void {
  if (want.length !== node.shape.length || want.some((v, i) => v !== node.shape[i])) {
    throw new Error(`oracle: ${node.name} output shape [${want}] but the graph says [${node.shape}]`);
  }
}

/** Conv2d / depthwiseConv2d / dense / stand-alone batchNorm as a dense matrix. */
export function linearMatrix(node: Node, inShape: number[]): LinearMatrix {
  const nIn = inShape.reduce((a, b) => a * b, 1);
  if (node.op === 'dense') {
    const k = node.params.kernel!;
    const [ni, no] = k.shape;
    if (ni !== nIn) throw new Error(`oracle: ${node.name} kernel rows ${ni} != input size ${nIn}`);
    checkShape(node, [no]);
    const W = new Float64Array(ni * no);
    for (let i = 0; i < W.length; i++) W[i] = k.data[i];
    return { nIn, nOut: no, W, conn: new Uint8Array(ni * no).fill(1), bias: f64(node.params.bias?.data, no), inChannel: (j) => j, inChannels: nIn };
  }
  if (node.op === 'batchNorm') {
    const c = inShape[inShape.length - 1];
    const { mean, variance, gamma, beta } = node.params;
    const eps = node.attrs.epsilon ?? 1e-3;
    const W = new Float64Array(nIn * nIn);
    const conn = new Uint8Array(nIn * nIn);
    const bias = new Float64Array(nIn);
    for (let j = 0; j < nIn; j++) {
      const ch = j % c;
      const s = (gamma ? gamma.data[ch] : 1) / Math.sqrt(variance!.data[ch] + eps);
      W[j * nIn + j] = s;
      conn[j * nIn + j] = 1;
      bias[j] = (beta ? beta.data[ch] : 0) - mean!.data[ch] * s;
    }
    checkShape(node, inShape);
    return { nIn, nOut: nIn, W, conn, bias, inChannel: (j) => j % c, inChannels: c };
  }
  if (node.op !== 'conv2d' && node.op !== 'depthwiseConv2d') throw new Error(`oracle: ${node.op} is not linear`);
  const [H, Wd, C] = inShape;
  const k = node.params.kernel!;
  const [KH, KW, KC, KO] = k.shape;
  if (KC !== C) throw new Error(`oracle: ${node.name} kernel expects ${KC} channels, input has ${C}`);
  const { strides, dilations, padding } = node.attrs.conv!;
  const gy = axisGeometry(padding, 0, H, KH, strides[0], dilations[0]);
  const gx = axisGeometry(padding, 1, Wd, KW, strides[1], dilations[1]);
  const depthwise = node.op === 'depthwiseConv2d';
  const OC = depthwise ? C * KO : KO;
  const OH = gy.outSize;
  const OW = gx.outSize;
  checkShape(node, [OH, OW, OC]);
  const nOut = OH * OW * OC;
  const W = new Float64Array(nIn * nOut);
  const conn = new Uint8Array(nIn * nOut);
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      for (let ky = 0; ky < KH; ky++) {
        const iy = oy * strides[0] + ky * dilations[0] - gy.before;
        if (iy < 0 || iy >= H) continue;
        for (let kx = 0; kx < KW; kx++) {
          const ix = ox * strides[1] + kx * dilations[1] - gx.before;
          if (ix < 0 || ix >= Wd) continue;
          for (let ci = 0; ci < C; ci++) {
            const j = (iy * Wd + ix) * C + ci;
            if (depthwise) {
              for (let m = 0; m < KO; m++) {
                const co = ci * KO + m;
                const kk = (oy * OW + ox) * OC + co;
                W[j * nOut + kk] += k.data[((ky * KW + kx) * C + ci) * KO + m];
                conn[j * nOut + kk] = 1;
              }
            } else {
              for (let co = 0; co < OC; co++) {
                const kk = (oy * OW + ox) * OC + co;
                W[j * nOut + kk] += k.data[((ky * KW + kx) * C + ci) * KO + co];
                conn[j * nOut + kk] = 1;
              }
            }
          }
        }
      }
    }
  }
  return { nIn, nOut, W, conn, bias: tileBias(node.params.bias?.data, OC, OH * OW), inChannel: (j) => j % C, inChannels: C };
}

function tileBias(b: Float32Array | undefined, c: number, positions: number): Float64Array {
  const out = new Float64Array(c * positions);
  if (b) for (let p = 0; p < positions; p++) for (let i = 0; i < c; i++) out[p * c + i] = b[i];
  return out;
}

/** Pooling windows: for each output index, the input indices of its window (padding excluded). */
export interface PoolWindows {
  nOut: number;
  /** windows[k] = input indices in row-major window order */
  windows: number[][];
}

export function poolWindows(node: Node, inShape: number[]): PoolWindows {
  const [H, Wd, C] = inShape;
  const { poolSize, strides, padding } = node.attrs.pool!;
  const gy = axisGeometry(padding, 0, H, poolSize[0], strides[0], 1);
  const gx = axisGeometry(padding, 1, Wd, poolSize[1], strides[1], 1);
  checkShape(node, [gy.outSize, gx.outSize, C]);
  const windows: number[][] = [];
  for (let oy = 0; oy < gy.outSize; oy++) {
    for (let ox = 0; ox < gx.outSize; ox++) {
      for (let c = 0; c < C; c++) {
        const w: number[] = [];
        for (let ky = 0; ky < poolSize[0]; ky++) {
          const iy = oy * strides[0] + ky - gy.before;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < poolSize[1]; kx++) {
            const ix = ox * strides[1] + kx - gx.before;
            if (ix < 0 || ix >= Wd) continue;
            w.push((iy * Wd + ix) * C + c);
          }
        }
        windows.push(w);
      }
    }
  }
  return { nOut: windows.length, windows };
}
