// Pieces shared by the training scripts (trainLenet.ts, trainFashion.ts): a seeded PRNG, the JS
// Conv2DBackpropFilter kernel that makes wasm training possible, and model.json save/load on disk.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';

export const WEIGHTS_FILE = 'group1-shard1of1.bin';

/** mulberry32: tiny, fast, good enough for shuffling and dropout masks. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    let t = Math.imul((a = (a + 0x6d2b79f5) >>> 0) ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** dW[fy,fx,c1,c2] = Σ_{b,oy,ox} x[b, oy·sh+fy−top, ox·sw+fx−left, c1] · dy[b,oy,ox,c2]  (NHWC, no dilation). */
export function conv2dFilterGrad(x: ArrayLike<number>, dy: ArrayLike<number>, xShape: number[], a: tf.Conv2DBackpropFilterAttrs): Float32Array {
  if (a.dataFormat !== 'NHWC') throw new Error('conv2dFilterGrad supports NHWC only');
  const c = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels: C1, outHeight, outWidth, outChannels: C2 } = c;
  const dW = new Float64Array(c.filterHeight * c.filterWidth * C1 * C2); // float64 sums, like the cpu kernel
  for (let b = 0; b < batchSize; b++) for (let oy = 0; oy < outHeight; oy++) for (let ox = 0; ox < outWidth; ox++) {
    const g = ((b * outHeight + oy) * outWidth + ox) * C2;
    for (let fy = 0; fy < c.filterHeight; fy++) {
      const iy = oy * c.strideHeight + fy - c.padInfo.top;
      for (let fx = 0; fx < c.filterWidth && iy >= 0 && iy < inHeight; fx++) {
        const ix = ox * c.strideWidth + fx - c.padInfo.left;
        if (ix < 0 || ix >= inWidth) continue;
        const [xi, wi] = [((b * inHeight + iy) * inWidth + ix) * C1, (fy * c.filterWidth + fx) * C1 * C2];
        for (let c1 = 0; c1 < C1; c1++) {
          const xv = x[xi + c1];
          if (xv !== 0) for (let c2 = 0; c2 < C2; c2++) dW[wi + c1 * C2 + c2] += xv * dy[g + c2]; // skip ReLU zeros
        }
      }
    }
  }
  return Float32Array.from(dW);
}

/** wasm runs this net 3× faster than cpu but lacks the conv weight gradient kernel: register a JS one. */
export function registerWasmFilterGrad(): void {
  tf.registerKernel({ kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc: ({ inputs, backend, attrs }) => {
    const [wasm, x, dy] = [backend as BackendWasm, inputs.x as tf.TensorInfo, inputs.dy as tf.TensorInfo];
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const out = wasm.makeOutput(a.filterShape, 'float32');
    wasm.typedArrayFromHeap(out).set(conv2dFilterGrad(wasm.readSync(x.dataId) as Float32Array, wasm.readSync(dy.dataId) as Float32Array, x.shape, a));
    return out;
  } });
}

/** Guards the JS kernel: on conv2's shapes it must match tfjs' own (cpu) conv weight gradient. */
export function checkFilterGrad(): void {
  const [x, w, up] = [[4, 14, 14, 6], [5, 5, 6, 16], [4, 10, 10, 16]].map((shape) => tf.randomNormal<tf.Rank>(shape) as tf.Tensor4D);
  const ref = tf.grad((k) => tf.sum(tf.mul(tf.conv2d(x, k as tf.Tensor4D, 1, 'valid'), up)))(w).dataSync();
  const attrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: w.shape } as tf.Conv2DBackpropFilterAttrs;
  const ours = conv2dFilterGrad(x.dataSync(), up.dataSync(), x.shape, attrs); // up plays dL/dy
  if (ours.some((v, i) => Math.abs(v - ref[i]) > 1e-4)) throw new Error('JS filter-gradient kernel disagrees with tfjs');
}

/** Pure tfjs has no file:// handler: write model.json + one weight shard the way tf.io.http would serve them. */
export function saveHandler(dir: string): tf.io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
    const { format, generatedBy, convertedBy, modelTopology, weightSpecs } = artifacts;
    const modelJson: tf.io.ModelJSON = { format, generatedBy, convertedBy, modelTopology: modelTopology as object,
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: weightSpecs ?? [] }] };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));
    fs.writeFileSync(path.join(dir, WEIGHTS_FILE), weights);
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
  });
}

/** Mirrors what tf.loadLayersModel does over http: parse model.json, fetch its shards, build the model. */
export async function loadFromDisk(dir: string): Promise<tfl.LayersModel> {
  const modelJson = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const shards = manifest.flatMap((group) => group.paths.map((p) => new Uint8Array(fs.readFileSync(path.join(dir, p))).buffer));
    return [manifest.flatMap((group) => group.weights), shards];
  });
  return tfl.loadLayersModel(tf.io.fromMemory(artifacts));
}
