/**
 * Patterns-fit throughput (images/s, whole pipeline: forward, per-layer statistics, float64 merges,
 * and the held-out ρ statistics when enabled) on the demo LeNet with real MNIST digits and on a
 * MobileNetV2-sized model (224×224×3, 3.5 M parameters, random weights) built with tfjs-layers.
 * Prints figures only; uses the backend that is active (bench/run.ts picks it).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { openModel } from '../src/core/pipeline';
import type { Graph } from '../src/core/graph/ir';
import { sizeOf } from '../src/core/graph/ir';
import { defaultBatch, fitPatterns, type ImageSource } from '../src/core/patterns/fit';
import { patternLayers } from '../src/core/patterns/layers';
import { saveLayersModel } from '../test/unit/helpers/saveLayersModel';

function memorySource(count: number, shape: number[], fill: (i: number, out: Float32Array) => void): ImageSource {
  const per = sizeOf(shape);
  return {
    count, shape,
    read(start, n) {
      const out = new Float32Array(n * per);
      for (let i = 0; i < n; i++) fill(start + i, out.subarray(i * per, (i + 1) * per));
      return out;
    },
    close() {},
  };
}

function mnistSource(n: number): ImageSource {
  const digits = Array.from({ length: 10 }, (_, d) => (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data);
  return memorySource(n, [28, 28, 1], (i, out) => {
    const j = Math.floor(i / 10) % 1000;
    out.set(digits[i % 10].slice(j * 784, (j + 1) * 784));
  });
}

function randomSource(n: number, shape: number[]): ImageSource {
  return memorySource(n, shape, (i, out) => {
    let s = (i + 1) * 2654435761;
    for (let k = 0; k < out.length; k++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[k] = s / 4294967296;
    }
  });
}

/** MobileNetV2 (α = 1, 224×224, 1000 classes) with random weights: inverted residuals, ReLU6, BatchNorm. */
export function mobileNetV2Layers(size = 224, classes = 1000): tfl.LayersModel {
  const input = tfl.input({ shape: [size, size, 3] });
  let id = 0;
  const bn = (x: tfl.SymbolicTensor): tfl.SymbolicTensor => tfl.layers.batchNormalization({ name: `bn${id++}` }).apply(x) as tfl.SymbolicTensor;
  const relu6 = (x: tfl.SymbolicTensor): tfl.SymbolicTensor => tfl.layers.reLU({ maxValue: 6, name: `relu${id++}` }).apply(x) as tfl.SymbolicTensor;
  const conv = (x: tfl.SymbolicTensor, filters: number, k: number, s: number): tfl.SymbolicTensor =>
    tfl.layers.conv2d({ filters, kernelSize: k, strides: s, padding: 'same', useBias: false, name: `conv${id++}` }).apply(x) as tfl.SymbolicTensor;
  let x = relu6(bn(conv(input, 32, 3, 2)));
  let inC = 32;
  const cfg: [number, number, number, number][] = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
  for (const [t, c, n, s] of cfg) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      let y = x;
      if (t !== 1) y = relu6(bn(conv(y, inC * t, 1, 1)));
      y = relu6(bn(tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', useBias: false, name: `dw${id++}` }).apply(y) as tfl.SymbolicTensor));
      y = bn(conv(y, c, 1, 1));
      x = stride === 1 && inC === c ? (tfl.layers.add({ name: `add${id++}` }).apply([x, y]) as tfl.SymbolicTensor) : y;
      inC = c;
    }
  }
  x = relu6(bn(conv(x, 1280, 1, 1)));
  x = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: classes, name: 'logits' }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'mobilenetv2-random' });
}

function params(g: Graph): number {
  return g.nodes.reduce((s, n) => s + Object.values(n.params).reduce((t, p) => t + (p ? p.data.length : 0), 0), 0);
}

function run(label: string, g: Graph, source: ImageSource, batch: number, rho: boolean): void {
  const t0 = performance.now();
  const before = tf.memory().numTensors;
  const s = fitPatterns(g, source, { batchSize: batch, holdout: rho ? 0.1 : 0 });
  const dt = (performance.now() - t0) / 1000;
  const n = s.images.fit + s.images.heldOut;
  console.log(`${label.padEnd(34)} ${(n / dt).toFixed(1).padStart(8)} images/s   (${n} images, batch ${batch}, ${rho ? `ρ on ${s.images.heldOut} held out` : 'no ρ'}, `
    + `${dt.toFixed(1)} s, tensors leaked ${tf.memory().numTensors - before})`);
}

export async function benchPatterns(): Promise<void> {
  console.log(`patterns fit throughput — backend ${tf.getBackend()}`);
  const lenet = path.join(__dirname, '..', '..', 'demo', 'lenet', 'model.json');
  if (fs.existsSync(lenet)) {
    const m = await openModel(lenet);
    const g = m.graph;
    run('demo LeNet-5, MNIST digits', g, mnistSource(2048), 64, false);
    run('demo LeNet-5, MNIST digits', g, mnistSource(2048), 64, true);
  } else console.log('demo/lenet/model.json not found: LeNet skipped');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-bench-mnv2-'));
  try {
    const built = mobileNetV2Layers();
    const file = await saveLayersModel(built, dir);
    built.dispose(); // its weights live on in the saved files
    const m = await openModel(file);
    const g = m.graph;
    const layers = patternLayers(g);
    console.log(`MobileNetV2-sized (random weights): ${params(g).toLocaleString('en')} parameters after BatchNorm folding, ${layers.length} layers with patterns`);
    const batch = defaultBatch(g);
    run('MobileNetV2 224×224, random images', g, randomSource(3 * batch, [224, 224, 3]), batch, false);
    run('MobileNetV2 224×224, random images', g, randomSource(3 * batch, [224, 224, 3]), batch, true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  (async () => {
    const { initBackend } = await import('../src/core/engine/backend');
    await initBackend((process.env.BENCH_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm');
    await benchPatterns();
  })().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
