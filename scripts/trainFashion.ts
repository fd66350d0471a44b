// Trains the project's Fashion-MNIST model (a LeNet-style CNN) on Debian's dataset-fashion-mnist and writes
// demo/fashion/ (model.json + weight shard, model.lens.json, TRAINING.md). Run: npm run train-fashion
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { checkFilterGrad, loadFromDisk, prng, registerWasmFilterGrad, saveHandler } from './trainKit';
import { FASHION_LABELS, readFashion, type IdxSet } from './fashionData';

const SEED = 20261206;
const TRAIN_COUNT = 20000; // the first 20,000 of the 60,000 training images, in seeded order (time on 2 shared cores)
const [EPOCHS, BATCH] = [4, 64];
const [LR, LR_DECAY] = [2e-3, 0.7];
const MODEL_DIR = path.resolve(__dirname, '..', '..', 'demo', 'fashion'); // from out/scripts/
const PIXELS = 28 * 28;

const rng = prng(SEED);
Math.random = prng(SEED ^ 0x5eed); // dropout masks

function shuffled(n: number): number[] {
  const xs = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

function toTensors(set: IdxSet, idx: number[]): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const x = new Float32Array(idx.length * PIXELS);
  idx.forEach((k, i) => {
    for (let p = 0; p < PIXELS; p++) x[i * PIXELS + p] = set.images[k * PIXELS + p] / 255;
  });
  return { x: tf.tensor4d(x, [idx.length, 28, 28, 1]), y: tf.oneHot(tf.tensor1d(idx.map((k) => set.labels[k]), 'int32'), 10) as tf.Tensor2D };
}

function build(): tfl.Sequential {
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: SEED + k });
  return tfl.sequential({ name: 'fashion_cnn', layers: [
    tfl.layers.conv2d({ name: 'conv1', inputShape: [28, 28, 1], filters: 8, kernelSize: 5, padding: 'same', activation: 'relu', kernelInitializer: init(1) }),
    tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
    tfl.layers.conv2d({ name: 'conv2', filters: 16, kernelSize: 5, padding: 'valid', activation: 'relu', kernelInitializer: init(2) }),
    tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
    tfl.layers.flatten({ name: 'flatten' }),
    tfl.layers.dense({ name: 'fc1', units: 64, activation: 'relu', kernelInitializer: init(3) }),
    tfl.layers.dropout({ name: 'dropout', rate: 0.25 }),
    tfl.layers.dense({ name: 'fc2', units: 10, activation: 'softmax', kernelInitializer: init(4) }),
  ] });
}

function accuracy(model: tfl.LayersModel, x: tf.Tensor4D, labels: Uint8Array): number {
  const pred = tf.tidy(() => tf.argMax(model.predict(x) as tf.Tensor2D, 1).dataSync() as Int32Array);
  return pred.filter((l, i) => l === labels[i]).length / labels.length;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  await tf.setBackend('cpu');
  checkFilterGrad();
  setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')) + path.sep);
  setThreadsCount(1);
  registerWasmFilterGrad();
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend unavailable');
  const train = readFashion('train');
  const test = readFashion('t10k');
  const order = shuffled(train.count).slice(0, TRAIN_COUNT);
  const testAll = toTensors(test, Array.from({ length: test.count }, (_, i) => i));
  console.log(`Fashion-MNIST: ${TRAIN_COUNT} of ${train.count} train, ${test.count} test, backend ${tf.getBackend()}`);
  const model = build();
  const optimizer = tf.train.adam(LR);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const log: string[] = [];
  const tTrain = Date.now();
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    (optimizer as unknown as { learningRate: number }).learningRate = LR * LR_DECAY ** (epoch - 1);
    const idx = order.slice();
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    const { x, y } = toTensors(train, idx);
    const { history: h } = await model.fit(x, y, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
    tf.dispose([x, y]);
    log.push(`| ${epoch} | ${(h.loss[0] as number).toFixed(4)} | ${(100 * (h.acc[0] as number)).toFixed(2)} % | ${(100 * accuracy(model, testAll.x, test.labels)).toFixed(2)} % | ${((Date.now() - tTrain) / 1000).toFixed(0)} s |`);
    console.log(log[log.length - 1]);
  }
  const trainSeconds = (Date.now() - tTrain) / 1000;
  const testAcc = accuracy(model, testAll.x, test.labels);
  fs.mkdirSync(MODEL_DIR, { recursive: true });
  await model.save(saveHandler(MODEL_DIR));
  const card = { input: { height: 28, width: 28, channels: 1, channelOrder: 'rgb', resize: 'bilinear', scaling: '[0,1]' }, labels: FASHION_LABELS };
  fs.writeFileSync(path.join(MODEL_DIR, 'model.lens.json'), JSON.stringify(card, null, 2) + '\n');
  // read back from disk: same predictions on wasm (bit-exact) and cpu
  const checks: string[] = [];
  for (const backend of ['wasm', 'cpu']) {
    await tf.setBackend(backend);
    const acc = accuracy(await loadFromDisk(MODEL_DIR), testAll.x, test.labels);
    if (Math.abs(acc - testAcc) > 2e-4) throw new Error(`${backend}: reloaded model accuracy ${acc} vs ${testAcc} in memory`);
    checks.push(`${backend}: test accuracy ${(100 * acc).toFixed(2)} %`);
  }
  const version = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version;
  fs.writeFileSync(path.join(MODEL_DIR, 'TRAINING.md'), `# Fashion-MNIST model: training record

Written by \`scripts/trainFashion.ts\` (\`npm run train-fashion\`); the same seed and library versions reproduce the weights.
- Data: Fashion-MNIST (Zalando Research, MIT licence) from Debian \`dataset-fashion-mnist\` (${'/usr/share/datasets/fashion-mnist'}):
  **train ${TRAIN_COUNT}** (seeded subset of the 60,000) / **test ${test.count}** (the whole official test set)
- Seed: ${SEED}; epochs ${EPOCHS}, batch ${BATCH}, Adam lr ${LR} × ${LR_DECAY}^(epoch−1), categorical cross-entropy
- **Final test accuracy: ${(100 * testAcc).toFixed(2)} %**
- Training time: ${trainSeconds.toFixed(1)} s (whole script ${((Date.now() - t0) / 1000).toFixed(1)} s); Node ${process.version}, tfjs ${version('@tensorflow/tfjs-layers')}, wasm + JS Conv2DBackpropFilter
- Reloaded from disk: ${checks.join('; ')}

| epoch | train loss | train acc | test acc | elapsed |
|---|---|---|---|---|
${log.join('\n')}
`);
  console.log(`test accuracy ${(100 * testAcc).toFixed(2)} %, training ${trainSeconds.toFixed(1)} s\n${checks.join('\n')}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
