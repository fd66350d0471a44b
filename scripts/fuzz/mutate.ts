/**
 * Seeded mutations of real files: bit flips, byte sets, truncations, splices and length-field lies
 * (generic 32-bit fields and the format's own: PNG chunk lengths and IHDR size, BMP header, zip sizes,
 * .npy header length, protobuf lengths), plus structural edits of JSON documents.
 */

/** mulberry32: small, fast, reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

const LIES = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000000, 0x00ffffff, 0xfffffffe, 1 << 30, 65535, 0];

function bitFlip(b: Buffer, r: Rand): Buffer {
  const o = Buffer.from(b);
  const n = 1 + int(r, 8);
  for (let i = 0; i < n; i++) o[int(r, o.length)] ^= 1 << int(r, 8);
  return o;
}

function byteSet(b: Buffer, r: Rand): Buffer {
  const o = Buffer.from(b);
  const n = 1 + int(r, 4);
  for (let i = 0; i < n; i++) o[int(r, o.length)] = pick(r, [0x00, 0xff, 0x7f, 0x80, 0x01, 0x0a]);
  return o;
}

function truncate(b: Buffer, r: Rand): Buffer {
  // mostly near the start (headers) or anywhere
  const at = r() < 0.5 ? int(r, Math.min(b.length, 512)) : int(r, b.length);
  return b.subarray(0, at);
}

function splice(b: Buffer, r: Rand): Buffer {
  const len = 1 + int(r, Math.min(4096, b.length));
  const from = int(r, Math.max(1, b.length - len));
  const chunk = b.subarray(from, from + len);
  const to = int(r, b.length);
  if (r() < 0.5) return Buffer.concat([b.subarray(0, to), chunk, b.subarray(to)]); // insert
  const o = Buffer.from(b);
  chunk.copy(o, to);
  return o;
}

function lie32(b: Buffer, r: Rand, at?: number, bigEndian = false): Buffer {
  const o = Buffer.from(b);
  if (o.length < 4) return o;
  const p = at ?? int(r, o.length - 3);
  if (p + 4 > o.length) return o;
  const v = r() < 0.7 ? pick(r, LIES) : int(r, 0x100000000);
  if (bigEndian) o.writeUInt32BE(v >>> 0, p);
  else o.writeUInt32LE(v >>> 0, p);
  return o;
}

/** Offsets of a 4-byte little-endian signature. */
function signatures(b: Buffer, sig: number): number[] {
  const out: number[] = [];
  for (let p = 0; p + 4 <= b.length; p++) if (b.readUInt32LE(p) === sig) out.push(p);
  return out;
}

/** Length fields the format declares, lied about. */
function formatLie(b: Buffer, r: Rand, format: string): Buffer {
  switch (format) {
    case 'png': {
      // chunk lengths are 4-byte BE before each chunk type; IHDR width/height at 16/20
      if (r() < 0.4 && b.length > 24) return lie32(b, r, pick(r, [16, 20]), true);
      const chunks: number[] = [];
      for (let p = 8; p + 8 <= b.length;) {
        chunks.push(p);
        p += 12 + b.readUInt32BE(p);
      }
      return lie32(b, r, chunks.length ? pick(r, chunks) : 8, true);
    }
    case 'bmp': return lie32(b, r, pick(r, [2, 10, 14, 18, 22, 34, 46]));
    case 'npy': {
      if (r() < 0.5) {
        const o = Buffer.from(b);
        o.writeUInt16LE(int(r, 65536), 8);
        return o;
      }
      // a shape that lies about the data
      const text = b.toString('latin1');
      return Buffer.from(text.replace(/\(([^)]*)\)/, () => `(${[1, 1 + int(r, 100000), 1 + int(r, 100000), 1 + int(r, 4)].join(', ')})`), 'latin1');
    }
    case 'keras': {
      // zip: sizes in local (18, 22) and central (20, 24) headers, offsets (central 42, EOCD 12, 16)
      const cands = [
        ...signatures(b, 0x04034b50).flatMap((p) => [p + 18, p + 22, p + 26]),
        ...signatures(b, 0x02014b50).flatMap((p) => [p + 20, p + 24, p + 42, p + 28]),
        ...signatures(b, 0x06054b50).flatMap((p) => [p + 12, p + 16]),
      ];
      return cands.length ? lie32(b, r, pick(r, cands)) : lie32(b, r);
    }
    case 'onnx': {
      // protobuf length-delimited fields: after a tag byte with wire type 2, rewrite the varint length
      const o = Buffer.from(b);
      for (let tries = 0; tries < 64; tries++) {
        const p = int(r, o.length - 6);
        if ((o[p] & 7) === 2 && o[p] >> 3 >= 1 && o[p] >> 3 <= 16) {
          const big = pick(r, [0x7f, 0xffff, 0xfffffff, 0xffffffff]);
          let v = big;
          let q = p + 1;
          while (q < o.length && v > 0x7f) {
            o[q++] = (v & 0x7f) | 0x80;
            v = Math.floor(v / 128);
          }
          if (q < o.length) o[q] = v;
          return o;
        }
      }
      return lie32(o, r);
    }
    default:
      // HDF5 and weight shards: generic 32/64-bit lies (HDF5 stores sizes and addresses as 8-byte LE)
      if (r() < 0.5 && b.length > 8) {
        const o = Buffer.from(b);
        const p = int(r, o.length - 7);
        o.writeBigUInt64LE(pick(r, [0xffffffffffffffffn, 0x7fffffffffffn, 0x100000000n, BigInt(int(r, 1 << 30))]), p);
        return o;
      }
      return lie32(b, r);
  }
}

/** Structural JSON edits: numbers become huge/negative/fractional, lists grow, strings become paths or names with '='. */
function jsonEdit(b: Buffer, r: Rand): Buffer {
  let doc: unknown;
  try {
    doc = JSON.parse(b.toString('utf8'));
  } catch {
    return bitFlip(b, r);
  }
  const spots: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach((x, i) => { spots.push({ parent: v, key: i }); walk(x); });
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { spots.push({ parent: v as Record<string, unknown>, key: k }); walk(x); }
  };
  walk(doc);
  const n = 1 + int(r, 3);
  for (let i = 0; i < n && spots.length; i++) {
    const s = pick(r, spots);
    const get = (): unknown => (s.parent as Record<string | number, unknown>)[s.key];
    const set = (v: unknown): void => {
      (s.parent as Record<string | number, unknown>)[s.key] = v;
    };
    const v = get();
    if (typeof v === 'number') set(pick(r, [-1, 0, 1e9, 2 ** 31, -(2 ** 31), 1.5, 1e300, -0.5, 2 ** 53]));
    else if (typeof v === 'string') set(pick(r, ['../../../etc/passwd', '/dev/zero', '', 'a=b', '<img src=x onerror=alert(1)>', 'x'.repeat(10000), v + v]));
    else if (Array.isArray(v)) {
      const k = int(r, 4);
      if (k === 0) v.length = 0;
      else if (k === 1 && v.length) for (let j = 0; j < 3; j++) v.push(v[int(r, v.length)]);
      else if (k === 2) v.push(1e9, 1e9);
      else set({});
    } else if (v && typeof v === 'object') {
      const keys = Object.keys(v);
      if (keys.length) delete (v as Record<string, unknown>)[pick(r, keys)];
    } else set(pick(r, [null, true, [], {}, 'x', 7]));
  }
  return Buffer.from(JSON.stringify(doc));
}

export const MUTATIONS = ['bitflip', 'byteset', 'truncate', 'splice', 'lie32', 'formatlie'] as const;
export type Mutation = (typeof MUTATIONS)[number] | 'json';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Recomputes every PNG chunk's CRC, so a mutation reaches the decoder instead of stopping at the checksum. */
function fixPngCrcs(b: Buffer): Buffer {
  const o = Buffer.from(b);
  for (let p = 8; p + 12 <= o.length;) {
    const len = o.readUInt32BE(p);
    if (p + 12 + len > o.length) break;
    o.writeUInt32BE(crc32(o.subarray(p + 4, p + 8 + len)), p + 8 + len);
    p += 12 + len;
  }
  return o;
}

/** One mutation of `b`; `json` documents also get structural edits; PNG checksums are mostly repaired. */
export function mutate(b: Buffer, r: Rand, format: string, isJson: boolean): { data: Buffer; how: Mutation } {
  const m = mutateRaw(b, r, format, isJson);
  if (format === 'png' && r() < 0.7) return { data: fixPngCrcs(m.data), how: m.how };
  return m;
}

function mutateRaw(b: Buffer, r: Rand, format: string, isJson: boolean): { data: Buffer; how: Mutation } {
  const how: Mutation = isJson && r() < 0.5 ? 'json' : pick(r, MUTATIONS);
  if (b.length === 0) return { data: b, how };
  switch (how) {
    case 'bitflip': return { data: bitFlip(b, r), how };
    case 'byteset': return { data: byteSet(b, r), how };
    case 'truncate': return { data: truncate(b, r), how };
    case 'splice': return { data: splice(b, r), how };
    case 'lie32': return { data: lie32(b, r), how };
    case 'formatlie': return { data: formatLie(b, r, format), how };
    case 'json': return { data: jsonEdit(b, r), how };
  }
}
