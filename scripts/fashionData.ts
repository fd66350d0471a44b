// Reads Fashion-MNIST from Debian's dataset-fashion-mnist (idx format, gzip): used by the training script
// and by the 10,000-image explain-set run.
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export interface IdxSet { images: Uint8Array; labels: Uint8Array; count: number; rows: number; cols: number }

/** idx3 images + idx1 labels (big-endian headers with magic 2051 / 2049). */
export function readFashion(split: 'train' | 't10k', dir = FASHION_DIR): IdxSet {
  const file = (kind: string): string => path.join(dir, `${split}-${kind}-idx${kind === 'images' ? 3 : 1}-ubyte.gz`);
  if (!fs.existsSync(file('images'))) throw new Error(`${file('images')} not found: apt-get install dataset-fashion-mnist`);
  const img = zlib.gunzipSync(fs.readFileSync(file('images')));
  const lab = zlib.gunzipSync(fs.readFileSync(file('labels')));
  if (img.readUInt32BE(0) !== 2051 || lab.readUInt32BE(0) !== 2049) throw new Error(`${dir}: not idx files`);
  const count = img.readUInt32BE(4);
  const rows = img.readUInt32BE(8);
  const cols = img.readUInt32BE(12);
  if (lab.readUInt32BE(4) !== count) throw new Error(`${dir}: ${count} images but ${lab.readUInt32BE(4)} labels`);
  return { images: new Uint8Array(img.buffer, img.byteOffset + 16, count * rows * cols), labels: new Uint8Array(lab.buffer, lab.byteOffset + 8, count), count, rows, cols };
}
