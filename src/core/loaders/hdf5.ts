/**
 * Reading HDF5 (Keras .h5 and a .keras file's model.weights.h5) through jsfive, a pure-JS reader.
 * Its errors (a truncated file shows up as "Offset is outside the bounds of the DataView") become
 * one-line LensErrors naming the file.
 */
import * as zlib from 'zlib';
import { LensError } from '../errors';
import type { ParamArray } from '../graph/ir';
import { formatBytes, LIMITS } from '../io/boundedRead';

// jsfive ships no type declarations: the small part used here.
interface H5Node {
  attrs: Record<string, unknown>;
}
export interface H5Group extends H5Node {
  keys: string[];
  get(path: string): H5Group | H5Dataset;
}
export interface H5Dataset extends H5Node {
  shape: number[];
  dtype: unknown;
  value: ArrayLike<number>;
}

const jsfive = require('jsfive') as {
  File: new (buf: ArrayBuffer, name: string) => H5Group;
  Filters: Map<number, (buf: ArrayBuffer, itemsize: number) => ArrayBuffer>;
};

/**
 * Inflated bytes the dataset being read may still produce. jsfive inflates gzip chunks with no bound;
 * its deflate filter is replaced by one that stops at the chunk limit and at the dataset's budget
 * (its declared size, with room for partial edge chunks), so a chunk bomb fails with a message.
 */
class InflateLimit extends Error {}
let inflateBudget = Infinity;
const GZIP_FILTER = 1;
jsfive.Filters.set(GZIP_FILTER, (buf: ArrayBuffer) => {
  const cap = Math.min(LIMITS.hdf5ChunkBytes, inflateBudget);
  let out: Buffer;
  try {
    out = zlib.inflateSync(new Uint8Array(buf), { maxOutputLength: Math.max(1, Math.floor(cap)) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new InflateLimit(formatBytes(cap));
    throw e;
  }
  inflateBudget -= out.length;
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.length) as ArrayBuffer;
});

/**
 * jsfive loops over an attribute's declared item count without comparing it to the bytes it has: a
 * corrupt count of 2^32 spins for hours. Its attribute reader is wrapped once (on the first file) to
 * refuse a count that cannot fit in the attribute's buffer (VLEN items take 16 bytes, references 8,
 * anything else at least 1).
 */
type AttrValue = (this: unknown, dtype: unknown, buf: { byteLength?: number; length?: number }, count: number, offset: number) => unknown;
let attributesGuarded = false;
function guardAttributeCounts(root: unknown): void {
  if (attributesGuarded) return;
  const objects = (root as { _dataobjects?: object })._dataobjects;
  const proto = objects ? (Object.getPrototypeOf(objects) as { _attr_value?: AttrValue }) : undefined;
  const original = proto?._attr_value;
  if (!proto || typeof original !== 'function') return;
  proto._attr_value = function (this: unknown, dtype, buf, count, offset) {
    const per = Array.isArray(dtype) ? (dtype[0] === 'REFERENCE' ? 8 : 16) : 1;
    const size = buf?.byteLength ?? buf?.length ?? 0;
    if (!Number.isSafeInteger(count) || count < 0 || offset + count * per > size) {
      throw new Error(`attribute declares ${count} values, more than its ${size} bytes hold (offset out of range)`);
    }
    return original.call(this, dtype, buf, count, offset);
  };
  attributesGuarded = true;
}

function itemBytes(dtype: unknown): number {
  const m = typeof dtype === 'string' ? /(\d+)$/.exec(dtype) : null;
  return m ? Math.max(1, Number(m[1])) : 8;
}

export const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function isHdf5(head: Uint8Array): boolean {
  return HDF5_MAGIC.every((b, i) => head[i] === b);
}

/** "<what> is truncated or corrupt (<while>)" from a jsfive exception. */
function reason(e: unknown, what: string, doing?: string): string {
  const m = (e as Error)?.message ?? String(e);
  const ctx = doing ? ` (${doing})` : '';
  if (/outside the bounds|out of range|beyond the end|offset/i.test(m)) return `${what} is truncated or corrupt${ctx}`;
  return `${what} is corrupt HDF5${ctx}: ${m.split('\n')[0]}`;
}

export class H5File {
  readonly root: H5Group;

  constructor(buf: Uint8Array, private readonly file: string, private readonly what = 'file') {
    if (!isHdf5(buf)) throw new LensError('bad-model', `${what} is not HDF5 (wrong magic bytes)`, file);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
    try {
      this.root = new jsfive.File(ab, file);
      guardAttributeCounts(this.root);
      void this.root.keys;
    } catch (e) {
      throw new LensError('bad-model', reason(e, what), file);
    }
  }

  /** Runs a read, turning jsfive's exceptions into LensErrors. */
  guard<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof LensError) throw e;
      if (e instanceof InflateLimit) {
        throw new LensError('bad-model', `${this.what}: ${what}: a compressed chunk inflates past ${e.message} (the HDF5 chunk limit RELEVANCE_LENS_MAX_HDF5_CHUNK_MB or the dataset's declared size; corrupt or a zip bomb)`, this.file);
      }
      throw new LensError('bad-model', reason(e, this.what, what), this.file);
    }
  }

  has(path: string): boolean {
    return this.guard(`reading '${path}'`, () => {
      const parts = path.split('/').filter(Boolean);
      let g: H5Group = this.root;
      for (const p of parts) {
        if (!('keys' in g) || !g.keys.includes(p)) return false;
        g = g.get(p) as H5Group;
      }
      return true;
    });
  }

  group(path: string): H5Group | undefined {
    if (!this.has(path)) return undefined;
    return this.guard(`reading '${path}'`, () => {
      const g = path ? this.root.get(path) : this.root;
      return 'keys' in g ? (g as H5Group) : undefined;
    });
  }

  dataset(path: string): ParamArray | undefined {
    if (!this.has(path)) return undefined;
    return this.guard(`reading dataset '${path}'`, () => {
      const d = this.root.get(path) as H5Dataset;
      if (!('shape' in d)) return undefined;
      // the declared size is checked before jsfive allocates it (a lying shape would ask for terabytes)
      const count = d.shape.reduce((a, b) => a * b, 1);
      const bytes = count * itemBytes(d.dtype);
      if (!Number.isSafeInteger(count) || count < 0 || bytes > LIMITS.modelBytes) {
        throw new LensError('bad-model', `dataset '${path}' declares shape [${d.shape.join(', ')}] (${formatBytes(bytes)}), over the model limit of ${formatBytes(LIMITS.modelBytes)} (RELEVANCE_LENS_MAX_MODEL_MB)`, this.file);
      }
      let v: ArrayLike<number>;
      inflateBudget = 2 * bytes + LIMITS.hdf5ChunkBytes / 64;
      try {
        v = d.value;
      } finally {
        inflateBudget = Infinity;
      }
      if (!v || v.length !== count) throw new LensError('bad-model', `dataset '${path}' holds ${v?.length ?? 0} values for shape [${d.shape.join(', ')}] (file truncated?)`, this.file);
      return { shape: d.shape.slice(), data: Float32Array.from(v as ArrayLike<number>) };
    });
  }

  /** A string attribute (fixed-length strings come NUL-padded from jsfive). */
  attrString(node: H5Node, name: string): string | undefined {
    const v = this.guard(`reading attribute '${name}'`, () => node.attrs[name]);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v.replace(/\0+$/, '');
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8').replace(/\0+$/, '');
    if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0].replace(/\0+$/, '');
    return String(v);
  }

  /** A list-of-strings attribute (an empty list may come back as a numeric array). */
  attrStrings(node: H5Node, name: string): string[] | undefined {
    const v = this.guard(`reading attribute '${name}'`, () => node.attrs[name]);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return [v.replace(/\0+$/, '')];
    if (Array.isArray(v) || ArrayBuffer.isView(v)) {
      return Array.from(v as ArrayLike<unknown>).filter((s) => typeof s === 'string').map((s) => (s as string).replace(/\0+$/, ''));
    }
    return undefined;
  }
}
