/**
 * The fuzz corpus: one real file of each format. Models: the demo LeNet (TF.js layers, this repo),
 * @vladmandic/human's emotion model (TF.js graph, MIT), and the loader fixtures cnn.h5 / cnn.keras /
 * cnn.onnx (written by scripts/fixtures). Images: a demo digit as PNG, and the same pixels encoded here
 * as JPEG (jpeg-js), 24-bit BMP and float32 .npy.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as jpeg from 'jpeg-js';
import { decodeImage } from '../../src/core/image/decode';
import { writeNpy } from '../../src/core/io/npy';
import { emotionModel } from '../../test/unit/helpers/realModels';

export interface Seed {
  format: string;
  /** files of one case, by name; the first is what the engine is given */
  files: { name: string; data: Buffer; json?: boolean }[];
  kind: 'model' | 'image';
}

export const ROOT = path.join(__dirname, '..', '..', '..');

function bmp24(width: number, height: number, rgba: Uint8Array): Buffer {
  const row = Math.ceil((width * 3) / 4) * 4;
  const b = Buffer.alloc(54 + row * height);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  b.writeUInt32LE(row * height, 34);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = ((height - 1 - y) * width + x) * 4;
      const d = 54 + y * row + x * 3;
      b[d] = rgba[s + 2];
      b[d + 1] = rgba[s + 1];
      b[d + 2] = rgba[s];
    }
  }
  return b;
}

export function loadSeeds(): Seed[] {
  const read = (...p: string[]): Buffer => fs.readFileSync(path.join(ROOT, ...p));
  const fx = (n: string): Buffer => read('test', 'fixtures', 'loaders', n);
  const digitPng = read('demo', 'digits', 'digit-3.png');
  const img = decodeImage(digitPng, 'digit-3.png');
  const emotion = emotionModel();
  const gray = new Float32Array(img.width * img.height);
  for (let i = 0; i < gray.length; i++) gray[i] = img.data[i * 4] / 255;
  return [
    { format: 'tfjs-layers', kind: 'model', files: [
      { name: 'model.json', data: read('demo', 'lenet', 'model.json'), json: true },
      { name: 'group1-shard1of1.bin', data: read('demo', 'lenet', 'group1-shard1of1.bin') },
    ] },
    { format: 'tfjs-graph', kind: 'model', files: [
      { name: 'model.json', data: fs.readFileSync(emotion), json: true },
      { name: 'emotion.bin', data: fs.readFileSync(path.join(path.dirname(emotion), 'emotion.bin')) },
    ] },
    { format: 'h5', kind: 'model', files: [{ name: 'cnn.h5', data: fx('cnn.h5') }] },
    { format: 'keras', kind: 'model', files: [{ name: 'cnn.keras', data: fx('cnn.keras') }] },
    { format: 'onnx', kind: 'model', files: [{ name: 'cnn.onnx', data: fx('cnn.onnx') }] },
    { format: 'png', kind: 'image', files: [{ name: 'input.png', data: digitPng }] },
    { format: 'jpeg', kind: 'image', files: [{ name: 'input.jpg', data: jpeg.encode({ width: img.width, height: img.height, data: Buffer.from(img.data) }, 90).data }] },
    { format: 'bmp', kind: 'image', files: [{ name: 'input.bmp', data: bmp24(img.width, img.height, img.data) }] },
    { format: 'npy', kind: 'image', files: [{ name: 'input.npy', data: Buffer.from(writeNpy([img.height, img.width, 1], gray)) }] },
  ];
}
