/**
 * Image sources for `patterns fit`: a folder of images (PNG/JPEG/BMP, preprocessed per the model
 * card, in file-name order) or a float32 .npy stack (N,H,W,C) — (N,H,W) for one channel — read in
 * slices from disk, so memory stays bounded whatever the dataset size. Every problem is a
 * LensError naming the file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { LensError } from '../errors';
import { openRegularFile } from '../io/boundedRead';
import { sizeOf } from '../graph/ir';
import type { ModelCard } from '../card/modelCard';
import { readImageFile } from '../image/decode';
import { preprocessImage } from '../image/preprocess';
import type { ImageSource } from './fit';

export const IMAGE_EXTS = ['.png', '.jpg', '.jpeg', '.bmp'];

function checkFinite(data: Float32Array, file: string, what: (i: number) => string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new LensError('non-finite', `contains NaN or Inf (${what(i)})`, file);
  }
}

export function folderSource(dir: string, card: ModelCard): ImageSource {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LensError('bad-input', code === 'ENOENT' ? 'folder not found' : `cannot read folder (${code})`, dir);
  }
  const files = names.filter((n) => IMAGE_EXTS.includes(path.extname(n).toLowerCase())).sort().map((n) => path.join(dir, n));
  if (!files.length) throw new LensError('bad-input', `no images (${IMAGE_EXTS.join(', ')}) in the folder`, dir);
  const shape = [card.input.height, card.input.width, card.input.channels];
  const per = sizeOf(shape);
  return {
    count: files.length,
    shape,
    read(start, n) {
      const out = new Float32Array(n * per);
      for (let i = 0; i < n; i++) {
        const file = files[start + i];
        const img = preprocessImage(readImageFile(file), card);
        out.set(img.data, i * per);
      }
      return out;
    },
    close() {},
  };
}

interface NpyLayout {
  shape: number[];
  dataStart: number;
}

function npyLayout(fd: number, file: string, size: number): NpyLayout {
  const head = Buffer.alloc(Math.min(size, 65536 + 12));
  fs.readSync(fd, head, 0, head.length, 0);
  const fail = (m: string): never => {
    throw new LensError('bad-input', m, file);
  };
  if (head.length < 10 || head.toString('latin1', 0, 6) !== '\x93NUMPY') fail('not a .npy file (bad magic)');
  const major = head[6];
  let start: number;
  let len: number;
  if (major === 1) {
    start = 10;
    len = head.readUInt16LE(8);
  } else if (major === 2 || major === 3) {
    start = 12;
    len = head.readUInt32LE(8);
  } else return fail(`unsupported .npy format version ${major}`);
  if (start + len > head.length) fail('truncated or oversized .npy header');
  const header = head.toString(major === 3 ? 'utf8' : 'latin1', start, start + len);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail('not a valid .npy header');
  if (descr !== '<f4') fail(`expected a float32 .npy stack, got dtype '${descr}'`);
  if (fortran === 'True') fail('expected a C-order .npy stack, got Fortran order');
  const shape = shapeText!.split(',').map((s) => s.trim()).filter((s) => s).map((s) => {
    if (!/^\d+L?$/.test(s)) fail(`not a valid .npy header (shape entry "${s}")`);
    return parseInt(s, 10);
  });
  const dataStart = start + len;
  if (size - dataStart !== sizeOf(shape) * 4) fail(`data length ${size - dataStart} bytes does not match shape (${shape.join(', ')})`);
  return { shape, dataStart };
}

/** A float32 .npy stack read slice by slice; `want` is the model's [H, W, C]. */
export function npySource(file: string, want: number[]): ImageSource {
  // a regular file only (no FIFO or device); it is read slice by slice, each slice checked against the header
  const { fd, size } = openRegularFile(file, { what: 'file', code: 'bad-input' });
  try {
    const { shape, dataStart } = npyLayout(fd, file, size);
    let n: number;
    if (shape.length === 4 && shape.slice(1).every((d, i) => d === want[i])) n = shape[0];
    else if (shape.length === 3 && want[2] === 1 && shape[1] === want[0] && shape[2] === want[1]) n = shape[0];
    else if (shape.length === 3 && shape.every((d, i) => d === want[i])) n = 1;
    else {
      throw new LensError('bad-input', `.npy stack has shape (${shape.join(', ')}), expected (N, ${want.join(', ')})${want[2] === 1 ? ` or (N, ${want[0]}, ${want[1]})` : ''}`, file);
    }
    if (n === 0) throw new LensError('bad-input', 'the .npy stack holds no images', file);
    const per = sizeOf(want);
    return {
      count: n,
      shape: want.slice(),
      read(start, count) {
        const buf = Buffer.alloc(count * per * 4);
        const got = fs.readSync(fd, buf, 0, buf.length, dataStart + start * per * 4);
        if (got !== buf.length) throw new LensError('bad-input', 'file is shorter than its header says', file);
        const out = new Float32Array(count * per);
        for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(4 * i);
        checkFinite(out, file, (i) => `image ${start + Math.floor(i / per)}`);
        return out;
      },
      close() {
        fs.closeSync(fd);
      },
    };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** DATA of `patterns fit`: a folder or an .npy file. */
export function openImageSource(data: string, card: ModelCard, want: number[]): ImageSource {
  let st: fs.Stats;
  try {
    st = fs.statSync(data);
  } catch {
    throw new LensError('bad-input', 'not found (DATA is a folder of images or an .npy stack)', data);
  }
  if (st.isDirectory()) return folderSource(data, card);
  if (path.extname(data).toLowerCase() === '.npy') return npySource(data, want);
  throw new LensError('bad-input', 'DATA must be a folder of images or a float32 .npy stack', data);
}
