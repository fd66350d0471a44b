/**
 * Data-set figures: explain-set throughput on the demo LeNet over 300 MNIST digits with 1 and 2 threads
 * (runs in fresh temp folders), and the time of SpRAy's spectral step (Jacobi on n×n) for n = 100..400.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { openModel } from '../src/core/pipeline';
import { listImages } from '../src/core/dataset/imageList';
import { runExplainSet } from '../src/core/dataset/explainSet';
import { setOptions } from '../src/core/dataset/setOptions';
import { spectralCluster } from '../src/core/dataset/spectral';
import { seededRandom } from '../src/core/seededRandom';
import { SampleWorkerPool } from '../src/core/parallel/pool';
import { tf } from '../src/core/engine/backend';

export async function benchDataset(lenet: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-bench-set-'));
  const images = path.join(dir, 'images');
  fs.mkdirSync(images);
  for (let d = 0; d < 10; d++) {
    const data = (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data;
    for (let j = 0; j < 30; j++) {
      const png = new PNG({ width: 28, height: 28 });
      png.data = Buffer.from(Array.from(data.slice(j * 784, (j + 1) * 784), (v) => Math.round(v * 255)));
      fs.writeFileSync(path.join(images, `d${d}-${j}.png`), PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 }));
    }
  }
  const model = await openModel(lenet);
  const list = listImages(images, model.labels);
  const { opts, optionsKey } = setOptions(model, { method: 'lrp', composite: 'epsilon-gamma-box', rules: {} }, tf.getBackend());
  for (const workers of [1, 2]) {
    const pool = workers > 1 ? new SampleWorkerPool(workers) : undefined;
    if (pool) await pool.warm(model.graph);
    try {
      const r = await runExplainSet({ model, images: list, out: path.join(dir, `run-${workers}`), opts, optionsKey, pool });
      console.log(`explain-set, demo LeNet-5, ${r.computed} MNIST PNGs, LRP epsilon-gamma-box, ${workers} thread${workers > 1 ? 's' : ''}: `
        + `${(r.elapsedMs / 1000).toFixed(2)} s, ${(r.computed / (r.elapsedMs / 1000)).toFixed(0)} images/s (decode, explain, write included), RSS ${(r.rssBytes / 2 ** 20).toFixed(0)} MB`);
    } finally {
      pool?.dispose();
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const rnd = seededRandom(1);
  for (const n of [100, 200, 400]) {
    const feats = Array.from({ length: n }, (_, i) => Float64Array.from({ length: 256 }, () => rnd() + (i % 3)));
    const t0 = performance.now();
    const r = spectralCluster(feats, { neighbours: 10, maxClusters: 8, seed: 1 });
    console.log(`SpRAy spectral step (kNN graph, Jacobi on ${n}×${n}, k-means), 256-d features: ${(performance.now() - t0).toFixed(0)} ms, k = ${r.k}`);
  }
}
