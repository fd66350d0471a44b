/**
 * Small random tfjs-layers nets for the oracle suite: every geometry the rules must handle (conv stride
 * 1/2, same/valid, dilation, depthwise ×1/×2, max/avg pooling incl. 'same' and overlapping 3×3/2, global
 * average pooling, residual Add, Concatenate, ZeroPadding, BatchNorm folded and stand-alone, Dropout,
 * dense heads, final softmax). Weights come from a seeded PRNG: random biases of both signs, random
 * BatchNorm statistics. This file builds fixtures with TF.js; the oracle math never imports it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Graph } from '../../../src/core/graph/ir';
import { loadModel } from '../../../src/core/loaders/registry';
import { canonize } from '../../../src/core/graph/canonize';
import { saveLayersModel } from '../helpers/saveLayersModel';
import { Rng } from './rng';
import { oracleForward, oracleLrp } from './oracle';

export interface NetOptions {
  /** no biases anywhere and BatchNorm without shift (mean 0, beta 0) */
  biasFree?: boolean;
  /** the last dense layer ends in softmax (canonization strips it) */
  softmax?: boolean;
}

export interface RandomNet {
  name: string;
  model: tfl.LayersModel;
  file: string;
  /** the loaded graph before canonization */
  raw: Graph;
  graph: Graph;
  inShape: [number, number, number];
  /** per-channel bounds the input lies in (z^B bounds) */
  low: number[];
  high: number[];
  input: Float32Array;
}

type Builder = (o: NetOptions) => tfl.LayersModel;

const relu = 'relu' as const;

/** conv s1 same → conv s2 same (asymmetric pad) → max 2×2 same (odd size, padded) → flatten → dense+BN(folded) → dense */
const strided: Builder = (o) => {
  const b = !o.biasFree;
  return tfl.sequential({ layers: [
    tfl.layers.conv2d({ inputShape: [10, 10, 3], filters: 4, kernelSize: 3, padding: 'same', activation: relu, useBias: b, name: 'c1' }),
    tfl.layers.conv2d({ filters: 5, kernelSize: 3, strides: 2, padding: 'same', activation: relu, useBias: b, name: 'c2' }),
    tfl.layers.maxPooling2d({ poolSize: 2, padding: 'same', name: 'p1' }),
    tfl.layers.flatten({ name: 'flat' }),
    tfl.layers.dense({ units: 6, useBias: b, name: 'd1' }),
    tfl.layers.batchNormalization({ name: 'bn_d1' }),
    tfl.layers.activation({ activation: relu, name: 'd1_relu' }),
    tfl.layers.dense({ units: 4, useBias: b, activation: o.softmax ? 'softmax' : 'linear', name: 'logits' }),
  ] });
};

/** dilated conv same → avg 3×3/2 same → conv 4×4 same (pad 1/2) → avg 2×2 valid (drops a row) → GAP → dense */
const dilated: Builder = (o) => {
  const b = !o.biasFree;
  return tfl.sequential({ layers: [
    tfl.layers.conv2d({ inputShape: [9, 9, 2], filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same', activation: relu, useBias: b, name: 'c1' }),
    tfl.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'p1' }),
    tfl.layers.conv2d({ filters: 5, kernelSize: 4, padding: 'same', activation: relu, useBias: b, name: 'c2' }),
    tfl.layers.averagePooling2d({ poolSize: 2, padding: 'valid', name: 'p2' }),
    tfl.layers.conv2d({ filters: 4, kernelSize: 1, strides: 2, padding: 'valid', activation: relu, useBias: b, name: 'c3' }),
    tfl.layers.globalAveragePooling2d({ name: 'gap' }),
    tfl.layers.dense({ units: 3, useBias: b, activation: o.softmax ? 'softmax' : 'linear', name: 'logits' }),
  ] });
};

/** depthwise ×1 same → depthwise ×2 s2 same + BN(folded, ε 0.01) → max 3×3/2 same → conv valid → flatten → dense */
const depthwise: Builder = (o) => {
  const b = !o.biasFree;
  return tfl.sequential({ layers: [
    tfl.layers.depthwiseConv2d({ inputShape: [16, 16, 3], kernelSize: 3, depthMultiplier: 1, padding: 'same', activation: relu, useBias: b, name: 'dw1' }),
    tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', useBias: b, name: 'dw2' }),
    tfl.layers.batchNormalization({ epsilon: 0.01, name: 'bn_dw2' }),
    tfl.layers.activation({ activation: relu, name: 'dw2_relu' }),
    tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'p1' }),
    tfl.layers.depthwiseConv2d({ kernelSize: 2, depthMultiplier: 1, padding: 'valid', activation: relu, useBias: b, name: 'dw3' }),
    tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: 'p2' }),
    tfl.layers.flatten({ name: 'flat' }),
    tfl.layers.dense({ units: 5, useBias: b, activation: o.softmax ? 'softmax' : 'linear', name: 'logits' }),
  ] });
};

/** conv → residual block (conv relu, dropout, conv + BN folded) + skip → Add → relu → BN (stand-alone) → GAP → dense */
const residual: Builder = (o) => {
  const b = !o.biasFree;
  const x = tfl.input({ shape: [8, 8, 3], name: 'image' });
  const c1 = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: relu, useBias: b, name: 'c1' }).apply(x) as tfl.SymbolicTensor;
  let r = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: relu, useBias: b, name: 'r1' }).apply(c1) as tfl.SymbolicTensor;
  r = tfl.layers.dropout({ rate: 0.3, name: 'drop' }).apply(r) as tfl.SymbolicTensor;
  r = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: b, name: 'r2' }).apply(r) as tfl.SymbolicTensor;
  r = tfl.layers.batchNormalization({ name: 'bn_r2' }).apply(r) as tfl.SymbolicTensor;
  let y = tfl.layers.add({ name: 'add' }).apply([c1, r]) as tfl.SymbolicTensor;
  y = tfl.layers.activation({ activation: relu, name: 'add_relu' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.batchNormalization({ name: 'bn_free' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.dense({ units: 3, useBias: b, activation: o.softmax ? 'softmax' : 'linear', name: 'logits' }).apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: x, outputs: y, name: 'residual' });
};

/**
 * ZeroPadding (asymmetric) → conv valid → two branches (1×1, 3×3 same) → Concatenate on channels →
 * 1×1 conv → Concatenate on height (the channel concat feeds two consumers) → avg 3×3/2 → dense → dropout → dense
 */
const concat: Builder = (o) => {
  const b = !o.biasFree;
  const x = tfl.input({ shape: [7, 7, 2], name: 'image' });
  let y = tfl.layers.zeroPadding2d({ padding: [[1, 0], [2, 1]], name: 'zp' }).apply(x) as tfl.SymbolicTensor;
  y = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'valid', activation: relu, useBias: b, name: 'c1' }).apply(y) as tfl.SymbolicTensor;
  const b1 = tfl.layers.conv2d({ filters: 3, kernelSize: 1, activation: relu, useBias: b, name: 'b1' }).apply(y) as tfl.SymbolicTensor;
  const b2 = tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: relu, useBias: b, name: 'b2' }).apply(y) as tfl.SymbolicTensor;
  const cc = tfl.layers.concatenate({ axis: -1, name: 'cat_c' }).apply([b1, b2]) as tfl.SymbolicTensor;
  const b3 = tfl.layers.conv2d({ filters: 5, kernelSize: 1, activation: relu, useBias: b, name: 'b3' }).apply(cc) as tfl.SymbolicTensor;
  y = tfl.layers.concatenate({ axis: 1, name: 'cat_h' }).apply([cc, b3]) as tfl.SymbolicTensor;
  y = tfl.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: 'p1' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.flatten({ name: 'flat' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.dense({ units: 8, activation: relu, useBias: b, name: 'd1' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.dropout({ rate: 0.5, name: 'drop' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.dense({ units: 4, useBias: b, activation: o.softmax ? 'softmax' : 'linear', name: 'logits' }).apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: x, outputs: y, name: 'concat' });
};

/** flatten → two dense relu branches → Concatenate (rank 1) → dense relu → dense (the first weighted layer is dense) */
const mlp: Builder = (o) => {
  const b = !o.biasFree;
  const x = tfl.input({ shape: [4, 4, 2], name: 'image' });
  const f = tfl.layers.flatten({ name: 'flat' }).apply(x) as tfl.SymbolicTensor;
  const d1a = tfl.layers.dense({ units: 6, activation: relu, useBias: b, name: 'd1a' }).apply(f) as tfl.SymbolicTensor;
  const d1b = tfl.layers.dense({ units: 5, activation: relu, useBias: b, name: 'd1b' }).apply(f) as tfl.SymbolicTensor;
  let y = tfl.layers.concatenate({ name: 'cat' }).apply([d1a, d1b]) as tfl.SymbolicTensor;
  y = tfl.layers.dense({ units: 6, activation: relu, useBias: b, name: 'd2' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.dense({ units: 3, useBias: b, activation: o.softmax ? 'softmax' : 'linear', name: 'logits' }).apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: x, outputs: y, name: 'mlp' });
};

export const NET_BUILDERS: Record<string, Builder> = { strided, dilated, depthwise, residual, concat, mlp };
export const NET_NAMES = Object.keys(NET_BUILDERS);

/** He-like kernels, biases of both signs, BN statistics away from the identity. */
export function randomizeWeights(model: tfl.LayersModel, rng: Rng, o: NetOptions = {}): void {
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (!ws.length) continue;
    const names = layer.weights.map((w) => w.originalName.split('/').pop()!);
    const vals = ws.map((w, i) => {
      const n = w.size;
      const shape = w.shape;
      let data: Float32Array;
      switch (names[i]) {
        case 'kernel': case 'depthwise_kernel': {
          const fanIn = shape.length === 4 ? shape[0] * shape[1] * (names[i] === 'kernel' ? shape[2] : 1) : shape[0];
          data = rng.normalArray(n, Math.sqrt(2 / fanIn));
          break;
        }
        case 'bias': data = rng.uniformArray(n, -0.3, 0.3); break;
        case 'gamma': data = Float32Array.from({ length: n }, () => rng.uniform(0.5, 1.5) * (rng.next() < 0.15 ? -1 : 1)); break;
        case 'beta': data = o.biasFree ? new Float32Array(n) : rng.uniformArray(n, -0.3, 0.3); break;
        case 'moving_mean': data = o.biasFree ? new Float32Array(n) : rng.uniformArray(n, -0.4, 0.4); break;
        case 'moving_variance': data = rng.uniformArray(n, 0.02, 1.5); break;
        default: throw new Error(`randomizeWeights: unknown weight ${layer.name}/${names[i]}`);
      }
      return tf.tensor(data, shape);
    });
    layer.setWeights(vals);
    vals.forEach((t) => t.dispose());
  }
}

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-oracle-'));
process.on('exit', () => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let counter = 0;

/** Every ReLU has live units and relevance reaches the input: a dead net would make comparisons vacuous. */
function alive(net: RandomNet): boolean {
  const fw = oracleForward(net.graph, net.input);
  for (const n of net.graph.nodes) {
    if (n.op !== 'activation' || n.attrs.activation !== 'relu') continue;
    const a = fw.acts[n.id];
    let live = 0;
    for (const v of a) if (v > 0) live++;
    if (live < 0.1 * a.length) return false;
  }
  // z⁺ follows positive contributions only: relevance must still reach the input for the top class
  const logits = fw.acts[net.graph.output];
  const top = logits.indexOf(Math.max(...logits));
  const r = oracleLrp(net.graph, net.input, { composite: 'z-plus', targetClass: top }).relevance;
  return r.some((v) => Math.abs(v) > 1e-4 * Math.abs(logits[top]));
}

/**
 * Builds, randomizes, saves and loads one net; the input lies in per-channel random bounds. A seed
 * whose net is (nearly) dead is replaced deterministically by the next one.
 */
export async function makeNet(name: string, seed: number, o: NetOptions = {}): Promise<RandomNet> {
  for (let s = seed; s < seed + 20; s++) {
    const net = await makeNetOnce(name, s, o);
    if (alive(net)) return net;
    net.model.dispose();
  }
  throw new Error(`no live '${name}' net near seed ${seed}`);
}

async function makeNetOnce(name: string, seed: number, o: NetOptions): Promise<RandomNet> {
  const rng = new Rng(seed);
  const model = NET_BUILDERS[name](o);
  randomizeWeights(model, rng, o);
  const file = await saveLayersModel(model, path.join(tmpRoot, `${name}-${counter++}`));
  const raw = await loadModel(file);
  const graph = canonize(raw);
  const inShape = raw.nodes[raw.input].shape as [number, number, number];
  const C = inShape[2];
  const low = Array.from({ length: C }, () => rng.uniform(-1.5, -0.2));
  const high = Array.from({ length: C }, () => rng.uniform(0.2, 1.5));
  const input = new Float32Array(inShape[0] * inShape[1] * C);
  for (let i = 0; i < input.length; i++) input[i] = rng.uniform(low[i % C], high[i % C]);
  return { name, model, file, raw, graph, inShape, low, high, input };
}

/** A copy of a saved layers model whose final softmax is replaced by linear: the logits oracle. */
export async function loadLinearCopy(file: string): Promise<tfl.LayersModel> {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const topo = json.modelTopology.model_config ?? json.modelTopology;
  const layers = Array.isArray(topo.config) ? topo.config : topo.config.layers;
  const last = layers[layers.length - 1];
  if (last.config.activation === 'softmax') last.config.activation = 'linear';
  if (last.class_name === 'Softmax') {
    last.class_name = 'Activation';
    last.config = { name: last.config.name, activation: 'linear', trainable: false };
  }
  const dir = path.dirname(file);
  const specs = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights);
  const bufs = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}
