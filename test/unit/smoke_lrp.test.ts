import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'os';
import * as path from 'path';
import * as fs from 'fs';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../../src/core/engine/backend';
import { loadModel } from '../../src/core/loaders/registry';
import { canonize } from '../../src/core/graph/canonize';
import { Explainer } from '../../src/core/methods/explain';
import { saveLayersModel } from './helpers/saveLayersModel';

test('smoke: load, forward, lrp-0 conserves on bias-free net', async () => {
  await initBackend('cpu');
  const m = tfl.sequential({ layers: [
    tfl.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', useBias: false, name: 'c1' }),
    tfl.layers.maxPooling2d({ poolSize: 2, name: 'p1' }),
    tfl.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu', useBias: false, name: 'c2' }),
    tfl.layers.flatten({ name: 'f' }),
    tfl.layers.dense({ units: 5, useBias: false, name: 'd' }),
  ] });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-'));
  const file = await saveLayersModel(m, dir);
  const g = canonize(await loadModel(file));
  const x = tf.randomUniform([1, 8, 8, 2]);
  const want = (m.predict(x) as tf.Tensor).dataSync();
  const e = new Explainer(g);
  const data = x.dataSync() as Float32Array;
  const p = e.predict({ shape: [8, 8, 2], data });
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(p.logits[i] - want[i]) < 1e-5);
  const r = e.explain({ shape: [8, 8, 2], data }, { method: 'lrp', composite: 'lrp-0' });
  console.log(r.target, r.inputRelevanceSum, r.layers);
  assert.ok(Math.abs(r.inputRelevanceSum - r.target.logit) < 1e-4 * Math.abs(r.target.logit));
  e.dispose();
});
