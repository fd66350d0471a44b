/**
 * NumPy .npy read/write, float32 little-endian C order only: that is what the CLI takes as an
 * already-preprocessed input and writes as input relevance. Format: "\x93NUMPY", major, minor,
 * header length (u16 for v1, u32 for v2/v3), a Python dict literal, then the raw data.
 */
import { LensError } from '../errors';

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

/** Header bytes a .npy may have before its data (NumPy writes 64..4096; v2 allows more, nobody needs it). */
export const NPY_HEADER_MAX = 65536;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function fail(message: string, file: string): never {
  throw new LensError('bad-input', message, file);
}

function parseHeader(header: string, file: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header);
  if (!descr) {
    const structured = /['"]descr['"]\s*:\s*\[/.test(header);
    fail(`expected a float32 C-order .npy, got ${structured ? 'a structured dtype' : 'an unreadable header'}`, file);
  }
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!fortran || !shape) fail('not a valid .npy header (missing fortran_order or shape)', file);
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      if (!/^\d+L?$/.test(s)) fail(`not a valid .npy header (shape entry "${s}")`, file);
      return parseInt(s, 10);
    });
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: dims };
}

export function readNpy(bytes: Uint8Array, file: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('not a .npy file (bad magic)', file);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLen: number;
  if (major === 1) {
    headerStart = 10;
    headerLen = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail('truncated .npy header', file);
    headerStart = 12;
    headerLen = view.getUint32(8, true);
  } else {
    fail(`unsupported .npy format version ${major}.${bytes[7]}`, file);
  }
  if (headerLen > NPY_HEADER_MAX) fail(`.npy header declares ${headerLen} bytes (over ${NPY_HEADER_MAX})`, file);
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) fail('truncated .npy header', file);
  // v1/v2 headers are latin1, v3 allows utf8; the keys we read are ASCII either way.
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  const { descr, fortran, shape } = parseHeader(header, file);
  if (descr !== '<f4') fail(`expected a float32 C-order .npy, got dtype '${descr}'`, file);
  if (fortran) fail('expected a float32 C-order .npy, got Fortran order', file);

  const count = shape.reduce((a, b) => a * b, 1);
  const available = bytes.length - dataStart;
  if (available !== count * 4) {
    fail(`data length ${available} bytes does not match shape (${shape.join(', ')}) = ${count * 4} bytes`, file);
  }
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(dataStart + 4 * i, true);
  return { shape, data };
}

export function writeNpy(shape: readonly number[], data: Float32Array): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || count !== data.length) {
    throw new RangeError(`writeNpy: shape [${shape.join(', ')}] does not match ${data.length} values`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // numpy pads with spaces and ends with '\n' so the data starts on a 64-byte boundary.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = Buffer.alloc(10 + header.length + count * 4);
  Buffer.from(MAGIC).copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  const dataStart = 10 + header.length;
  for (let i = 0; i < count; i++) out.writeFloatLE(data[i], dataStart + 4 * i);
  return out;
}
