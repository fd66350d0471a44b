/** TF.js weights manifest: shards read in manifest order, concatenated, decoded (incl. quantization). */
import * as fs from 'fs';
import * as path from 'path';
import type { ParamArray } from '../graph/ir';
import { LensError } from '../errors';
import { formatBytes, LIMITS, readBounded } from '../io/boundedRead';

export interface ManifestEntry {
  name: string;
  shape: number[];
  dtype?: string;
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; scale?: number; min?: number; original_dtype?: string };
}

export interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2, bool: 1 };

/** IEEE half-precision bits to a number (TF.js float16 weights, ONNX FLOAT16 tensors). */
export function float16ToFloat32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** A shard path must stay inside the model's folder. */
export function safeJoin(dir: string, rel: string, file: string): string {
  const p = path.resolve(dir, rel);
  const root = path.resolve(dir) + path.sep;
  if (!p.startsWith(root)) throw new LensError('bad-model', `weight path '${rel}' leaves the model's folder`, file);
  return p;
}

/** Elements of a declared shape: non-negative integer dims only (a corrupt manifest is refused by name). */
export function elementCount(shape: unknown, what: string, file: string): number {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new LensError('bad-model', `${what} has an invalid shape ${JSON.stringify(shape)?.slice(0, 80)}`, file);
  }
  const n = shape.reduce((a: number, b: number) => a * b, 1);
  if (!Number.isSafeInteger(n)) throw new LensError('bad-model', `${what} declares an impossible shape [${shape.join(', ')}]`, file);
  return n;
}

/** Decodes all weights; entries of non-float dtypes are skipped (they are not layer weights). */
export function readManifestWeights(manifest: ManifestGroup[], dir: string, file: string): Map<string, ParamArray> {
  const out = new Map<string, ParamArray>();
  if (!Array.isArray(manifest)) throw new LensError('bad-model', 'weightsManifest is missing or not a list', file);
  let total = 0;
  for (const group of manifest) {
    if (!group || typeof group !== 'object' || !Array.isArray(group.paths ?? []) || !Array.isArray(group.weights ?? [])) {
      throw new LensError('bad-model', 'weightsManifest entry is not {paths, weights}', file);
    }
    // the bytes the manifest declares, checked against the limit before any shard is opened
    let declared = 0;
    for (const w of group.weights ?? []) {
      const stored = w?.quantization?.dtype ?? w?.dtype ?? 'float32';
      declared += elementCount(w?.shape, `weight '${String(w?.name)}'`, file) * (BYTES[stored] ?? 0);
    }
    total += declared;
    if (total > LIMITS.modelBytes) {
      throw new LensError('bad-model', `the weights manifest declares ${formatBytes(total)} of weights, over the limit of ${formatBytes(LIMITS.modelBytes)} (RELEVANCE_LENS_MAX_MODEL_MB)`, file);
    }
    const buffers: Buffer[] = [];
    let remaining = declared;
    for (const rel of group.paths ?? []) {
      if (typeof rel !== 'string') throw new LensError('bad-model', 'weightsManifest has a path that is not a string', file);
      const p = safeJoin(dir, rel, file);
      if (!fs.existsSync(p)) throw new LensError('missing-weights', `weight shard '${rel}' not found next to the model`, file);
      // a shard is read only as far as the manifest needs it: a longer one (or /dev/zero behind a link) costs nothing
      const b = readBounded(p, { what: 'weight shard', label: rel, reportAs: file, within: [dir], maxBytes: remaining, prefix: true });
      remaining -= b.length;
      buffers.push(b);
    }
    const buf = Buffer.concat(buffers);
    let offset = 0;
    for (const w of group.weights ?? []) {
      const count = elementCount(w.shape, `weight '${w.name}'`, file);
      const stored = w.quantization?.dtype ?? w.dtype ?? 'float32';
      const bytes = BYTES[stored];
      if (!bytes) throw new LensError('bad-model', `weight '${w.name}' has unsupported dtype '${stored}'`, file);
      const n = count * bytes;
      if (offset + n > buf.length) {
        throw new LensError('missing-weights',
          `weight shards are too short: '${w.name}' needs bytes ${offset}..${offset + n}, shards hold ${buf.length} (${group.paths.join(', ')})`, file);
      }
      const data = new Float32Array(count);
      const view = new DataView(buf.buffer, buf.byteOffset + offset, n);
      const q = w.quantization;
      if (stored === 'float32') for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
      else if (stored === 'int32') for (let i = 0; i < count; i++) data[i] = view.getInt32(i * 4, true);
      else if (stored === 'float16') for (let i = 0; i < count; i++) data[i] = float16ToFloat32(view.getUint16(i * 2, true));
      else if (stored === 'uint8' || stored === 'uint16') {
        const scale = q?.scale ?? 1;
        const min = q?.min ?? 0;
        for (let i = 0; i < count; i++) data[i] = (stored === 'uint8' ? view.getUint8(i) : view.getUint16(i * 2, true)) * scale + min;
      } else if (stored === 'bool') for (let i = 0; i < count; i++) data[i] = view.getUint8(i);
      offset += n;
      out.set(w.name, { shape: w.shape.slice(), data });
    }
  }
  return out;
}

/**
 * Finds `<layer>/<param>` among weight names that may carry scopes or suffixes
 * ("model/conv1/kernel", "conv1/kernel:0").
 */
export function weightLookup(weights: Map<string, ParamArray>): (layer: string, param: string) => ParamArray | undefined {
  const byKey = new Map<string, ParamArray>();
  for (const [name, v] of weights) {
    const clean = name.replace(/:\d+$/, '');
    byKey.set(clean, v);
    const parts = clean.split('/');
    for (let i = 1; i < parts.length - 1; i++) {
      const key = parts.slice(i).join('/');
      if (!byKey.has(key)) byKey.set(key, v);
    }
  }
  return (layer, param) => byKey.get(`${layer}/${param}`);
}
