/**
 * The patterns file, versioned: "RLPATTRN", u32 version, u32 header length, the JSON header, zero
 * padding to 8 bytes, then the binary arrays (little-endian float64 statistics, float32 patterns) at
 * the offsets the header gives, each 8-byte aligned. The statistics make files mergeable; the
 * patterns and ρ are derived from them and stored for readers that only explain. Written atomically
 * and chunk by chunk, read array by array: no whole-file buffer either way (VGG16's file is 4.3 GB).
 */
import * as fs from 'fs';
import * as os from 'os';
import type { OpKind } from '../graph/ir';
import { LensError } from '../errors';
import { formatBytes, LIMITS, openRegularFile } from '../io/boundedRead';
import { writeChunksAtomic } from '../io/atomicWrite';
import { JointMoments, Moments } from './moments';
import type { RhoValues } from './rho';
import { finalize, type LayerStats, type PatternStats, type RhoConfig } from './stats';
import { linearPattern, reluPattern } from './compute';
import { newPatternSetId, type PatternSet, type PatternType } from './patternSet';

export const PATTERNS_MAGIC = 'RLPATTRN';
export const PATTERNS_VERSION = 1;
const MAX_HEADER = 64 << 20;

interface ArrayRef {
  dtype: 'f64' | 'f32';
  offset: number;
  length: number;
}

interface LayerHeader {
  name: string;
  op: OpKind;
  kernelShape: number[];
  regime: 'relu' | 'linear';
  d: number;
  k: number;
  rho: null | {
    neurons: number[];
    positions: number[];
    groups: { neurons: number[]; channel?: number; n: number; d: number }[];
    values: RhoValues | null;
  };
  rhoSkipped?: string;
  arrays: Record<string, ArrayRef>;
}

export interface PatternsHeader {
  format: 'relevance-lens-patterns';
  version: number;
  model: { name: string; fingerprint: string };
  images: { fit: number; heldOut: number };
  holdout: number | null;
  rhoConfig: RhoConfig | null;
  created: string;
  layers: LayerHeader[];
}

const MOMENT_FIELDS = ['count', 'my', 'cyy', 'mx', 'cxy'] as const;

/** Pattern rows derived per block of about this many values while writing (8 MB of float32). */
const PATTERN_BLOCK_VALUES = 1 << 21;

/**
 * The file as a sequence of chunks: the stored arrays as views (no copy); a pattern the stats do not
 * hold (finalize without patterns) is derived block of rows by block as it is written.
 */
function patternChunks(s: PatternStats): Iterable<Uint8Array> {
  if (os.endianness() !== 'LE') throw new Error('patterns files are written on little-endian hosts only');
  const parts: (Uint8Array | (() => Iterable<Uint8Array>))[] = [];
  let offset = 0;
  const pad = (): void => {
    const n = (8 - (offset % 8)) % 8;
    if (n) {
      parts.push(Buffer.alloc(n));
      offset += n;
    }
  };
  const put = (a: Float64Array | Float32Array): ArrayRef => {
    const ref: ArrayRef = { dtype: a instanceof Float64Array ? 'f64' : 'f32', offset, length: a.length };
    parts.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    offset += a.byteLength;
    pad();
    return ref;
  };
  const derive = (l: LayerStats, rows: (i0: number, i1: number) => Float32Array): ArrayRef => {
    const ref: ArrayRef = { dtype: 'f32', offset, length: l.d * l.k };
    const step = Math.max(1, Math.floor(PATTERN_BLOCK_VALUES / l.k));
    parts.push(function* blocks() {
      for (let i0 = 0; i0 < l.d; i0 += step) {
        const a = rows(i0, Math.min(l.d, i0 + step));
        yield new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      }
    });
    offset += l.d * l.k * 4;
    pad();
    return ref;
  };
  const layers: LayerHeader[] = s.layers.map((l) => {
    const arrays: Record<string, ArrayRef> = {};
    for (const f of MOMENT_FIELDS) arrays[`all.${f}`] = put(l.all[f]);
    if (l.plus) for (const f of MOMENT_FIELDS) arrays[`plus.${f}`] = put(l.plus[f]);
    arrays['pattern.linear'] = l.linear ? put(l.linear) : derive(l, (i0, i1) => linearPattern(l.all, i0, i1));
    if (l.relu) arrays['pattern.relu'] = put(l.relu);
    else if (l.plus && !l.linear) arrays['pattern.relu'] = derive(l, (i0, i1) => reluPattern(l.all, l.plus!, i0, i1));
    let rho: LayerHeader['rho'] = null;
    if (l.rho) {
      arrays['rho.w'] = put(l.rho.w);
      l.rho.groups.forEach((g, i) => {
        for (const f of JointMoments.FIELDS) arrays[`rho.${i}.${f}`] = put(g.moments[f]);
      });
      rho = {
        neurons: l.rho.neurons, positions: l.rho.positions,
        groups: l.rho.groups.map((g) => ({ neurons: g.neurons, ...(g.channel !== undefined ? { channel: g.channel } : {}), n: g.moments.n, d: g.moments.d })),
        values: l.rhoValues ?? null,
      };
    }
    return {
      name: l.name, op: l.op, kernelShape: l.kernelShape, regime: l.regime, d: l.d, k: l.k, rho,
      ...(l.rhoSkipped ? { rhoSkipped: l.rhoSkipped } : {}), arrays,
    };
  });
  const header: PatternsHeader = {
    format: 'relevance-lens-patterns', version: PATTERNS_VERSION, model: s.model, images: s.images,
    holdout: Number.isFinite(s.holdout) ? s.holdout : null, rhoConfig: s.rhoConfig, created: s.created, layers,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(16);
  pre.write(PATTERNS_MAGIC, 0, 'latin1');
  pre.writeUInt32LE(PATTERNS_VERSION, 8);
  pre.writeUInt32LE(json.length, 12);
  const headPad = Buffer.alloc((8 - ((16 + json.length) % 8)) % 8);
  return (function* all() {
    yield Buffer.concat([pre, json, headPad]);
    for (const p of parts) {
      if (p instanceof Uint8Array) yield p;
      else yield* p();
    }
  })();
}

/** The whole file in memory (tests, small models); writePatternsFile streams it instead. */
export function encodePatterns(s: PatternStats): Buffer {
  return Buffer.concat([...patternChunks(s)]);
}

export async function writePatternsFile(file: string, s: PatternStats): Promise<void> {
  await writeChunksAtomic(file, patternChunks(s));
}

function bad(message: string, file: string): never {
  throw new LensError('bad-patterns', message, file);
}

/** `length` bytes of the file from `start`, in a fresh (so 8-byte aligned) buffer. */
type ReadAt = (start: number, length: number) => Uint8Array;

type Take = (l: LayerHeader, key: string, dtype: 'f64' | 'f32', length: number) => Float64Array | Float32Array;

/** The checked header, and a reader of the arrays it lists (each checked against it and the file size). */
function openPatterns(readAt: ReadAt, fileSize: number, file: string): { header: PatternsHeader; take: Take } {
  if (fileSize < 16) bad('not a patterns file (bad magic; make one with \'relevance-lens patterns fit\')', file);
  const pre = Buffer.from(readAt(0, 16));
  if (pre.toString('latin1', 0, 8) !== PATTERNS_MAGIC) bad('not a patterns file (bad magic; make one with \'relevance-lens patterns fit\')', file);
  const version = pre.readUInt32LE(8);
  if (version !== PATTERNS_VERSION) bad(`patterns file version ${version} is not supported (this is version ${PATTERNS_VERSION})`, file);
  const hlen = pre.readUInt32LE(12);
  if (hlen > MAX_HEADER || 16 + hlen > fileSize) bad('truncated patterns file (header)', file);
  let header: PatternsHeader;
  try {
    header = JSON.parse(Buffer.from(readAt(16, hlen)).toString('utf8')) as PatternsHeader;
  } catch (e) {
    return bad(`unreadable header (${(e as Error).message.split('\n')[0]})`, file);
  }
  if (header?.format !== 'relevance-lens-patterns' || !Array.isArray(header.layers) || !header.model || !header.images) bad('the header is not a patterns header', file);
  const base = 16 + hlen + ((8 - ((16 + hlen) % 8)) % 8);
  const take: Take = (l, key, dtype, length) => {
    const ref = l.arrays?.[key];
    if (!ref) bad(`layer '${l.name}': array ${key} is missing`, file);
    if (ref.dtype !== dtype || ref.length !== length || !Number.isInteger(ref.offset) || ref.offset < 0) bad(`layer '${l.name}': array ${key} has the wrong type or size`, file);
    const size = dtype === 'f64' ? 8 : 4;
    const start = base + ref.offset;
    if (start + length * size > fileSize) bad(`truncated patterns file (layer '${l.name}', ${key})`, file);
    const bytes = readAt(start, length * size);
    return dtype === 'f64' ? new Float64Array(bytes.buffer, bytes.byteOffset, length) : new Float32Array(bytes.buffer, bytes.byteOffset, length);
  };
  return { header, take };
}

function checkSizes(l: LayerHeader, file: string): void {
  if (!Number.isInteger(l.d) || !Number.isInteger(l.k) || l.d <= 0 || l.k <= 0 || !Array.isArray(l.kernelShape)) bad(`layer '${l.name}': bad sizes`, file);
}

/** Parses and checks a patterns file (LensError 'bad-patterns' naming the file otherwise). */
export function decodePatterns(bytes: Uint8Array, file: string): { header: PatternsHeader; stats: PatternStats } {
  // a copy per array: the buffer's offsets need not be aligned for a typed-array view
  const copy: ReadAt = (start, length) => {
    const out = new Uint8Array(length);
    out.set(bytes.subarray(start, start + length));
    return out;
  };
  return statsOf(openPatterns(copy, bytes.byteLength, file), file);
}

function statsOf({ header, take }: { header: PatternsHeader; take: Take }, file: string): { header: PatternsHeader; stats: PatternStats } {
  const layers: LayerStats[] = header.layers.map((l) => {
    checkSizes(l, file);
    const { d, k } = l;
    const moments = (prefix: string, sharedX: boolean): Moments => new Moments(d, k, sharedX, {
      count: take(l, `${prefix}.count`, 'f64', k) as Float64Array,
      my: take(l, `${prefix}.my`, 'f64', k) as Float64Array,
      cyy: take(l, `${prefix}.cyy`, 'f64', k) as Float64Array,
      mx: take(l, `${prefix}.mx`, 'f64', sharedX ? d : d * k) as Float64Array,
      cxy: take(l, `${prefix}.cxy`, 'f64', d * k) as Float64Array,
    });
    const sharedX = l.arrays['all.mx']?.length === d && l.op !== 'depthwiseConv2d';
    const out: LayerStats = {
      name: l.name, op: l.op, kernelShape: l.kernelShape, regime: l.regime, d, k,
      all: moments('all', sharedX),
      ...(l.regime === 'relu' ? { plus: moments('plus', false) } : {}),
      linear: take(l, 'pattern.linear', 'f32', d * k) as Float32Array,
      ...(l.regime === 'relu' ? { relu: take(l, 'pattern.relu', 'f32', d * k) as Float32Array } : {}),
      ...(l.rhoSkipped ? { rhoSkipped: l.rhoSkipped } : {}),
    };
    if (l.rho) {
      const m = l.rho.neurons.length;
      const gd = l.rho.groups[0]?.d ?? d;
      out.rho = {
        neurons: l.rho.neurons, positions: l.rho.positions,
        w: take(l, 'rho.w', 'f64', gd * m) as Float64Array,
        groups: l.rho.groups.map((g, i) => {
          const jm = new JointMoments(g.d, g.neurons.length);
          jm.n = g.n;
          for (const f of JointMoments.FIELDS) {
            const want = jm[f].length;
            jm[f].set(take(l, `rho.${i}.${f}`, 'f64', want));
          }
          return { neurons: g.neurons, ...(g.channel !== undefined ? { channel: g.channel } : {}), moments: jm };
        }),
      };
      if (l.rho.values) out.rhoValues = l.rho.values;
    }
    return out;
  });
  const stats: PatternStats = {
    model: header.model, images: header.images, holdout: header.holdout ?? NaN, rhoConfig: header.rhoConfig ?? null,
    created: header.created, layers,
  };
  return { header, stats };
}

/**
 * Reads a patterns file array by array from disk, each checked against the header (no whole-file buffer).
 * `maxFileBytes` bounds the file; without it the reader bounds what it reads (the header is bounded on its own).
 */
function readPatternsFile<T>(file: string, use: (opened: { header: PatternsHeader; take: Take }) => T, maxFileBytes?: number): T {
  const { fd, size } = openRegularFile(file, { what: 'file', maxBytes: maxFileBytes, limitName: 'RELEVANCE_LENS_MAX_MODEL_MB', code: 'bad-patterns' });
  try {
    const readAt: ReadAt = (start, length) => {
      const out = new Uint8Array(length);
      for (let at = 0; at < length;) {
        const got = fs.readSync(fd, out, at, Math.min(length - at, 1 << 30), start + at);
        if (got === 0) bad('truncated patterns file (shorter than when opened)', file);
        at += got;
      }
      return out;
    };
    return use(openPatterns(readAt, size, file));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Statistics, as `patterns merge` and `patterns info` read them: float64 moments (up to 3 × 8 bytes per weight)
 * beside the patterns (up to 2 × 4), so the file may be up to 8 × the largest model file allowed.
 */
export function readPatternsStats(file: string): { header: PatternsHeader; stats: PatternStats } {
  return readPatternsFile(file, (opened) => statsOf(opened, file), 8 * LIMITS.modelBytes);
}

/**
 * The patterns of a file, ready for `explain --method pattern-net|pattern-attribution`: the header and
 * the pattern arrays only, read from disk one by one (VGG16: 1.1 of the file's 4.3 GB, with no
 * whole-file buffer); with `type`, only the arrays that pattern type uses (0.55 GB).
 */
export function loadPatterns(file: string, type?: PatternType): PatternSet {
  return readPatternsFile(file, ({ header, take }) => {
    // a layer's arrays: both, or only the one `type` uses (an explanation that knows it: half the memory)
    const wants = (l: LayerHeader) => ({
      linear: type !== 'relu' || l.regime !== 'relu',
      relu: l.regime === 'relu' && type !== 'linear',
    });
    // what is read, not the file (its statistics are not): the patterns of a model whose weights are within
    // the model file limit take at most twice that (a linear and a two-regime one per weight)
    header.layers.forEach((l) => checkSizes(l, file));
    const bytes = header.layers.reduce((a, l) => a + l.d * l.k * 4 * (+wants(l).linear + +wants(l).relu), 0);
    const max = 2 * LIMITS.modelBytes;
    if (bytes > max) bad(`its patterns are ${formatBytes(bytes)}, over the limit of ${formatBytes(max)} (twice RELEVANCE_LENS_MAX_MODEL_MB)`, file);
    return {
      id: newPatternSetId(), file, fingerprint: header.model.fingerprint, modelName: header.model.name, images: { ...header.images },
      layers: header.layers.map((l) => ({
        name: l.name, op: l.op, kernelShape: l.kernelShape.slice(), regime: l.regime,
        ...(wants(l).linear ? { linear: take(l, 'pattern.linear', 'f32', l.d * l.k) as Float32Array } : {}),
        ...(wants(l).relu ? { relu: take(l, 'pattern.relu', 'f32', l.d * l.k) as Float32Array } : {}),
      })),
      ...(type ? { only: type } : {}),
    };
  });
}

export { finalize };
