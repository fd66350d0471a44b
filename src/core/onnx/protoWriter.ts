import * as fs from 'fs';

/**
 * A minimal protobuf encoder for writing ONNX models (the reader is loaders/protobuf.ts). The structure
 * (tags, lengths, names, attributes, small payloads) is written into one growing byte buffer; payloads
 * larger than INLINE_BYTES stay their own chunks, joined once, so the weights are copied a single time.
 * The earlier encoder made a BigInt per varint and a chunk per string: ResNet-50's CLI graph (~2,400 nodes)
 * took ~25 ms to encode on the CLI's main thread, most of it there (its profile).
 */

/** payloads up to this size are copied into the structure's buffer; larger ones are kept by reference */
const INLINE_BYTES = 1024;

const f32Bytes = new Uint8Array(4);
const f32View = new DataView(f32Bytes.buffer);

export class ProtoWriter {
  /** the message's bytes before `buf[start..pos)`, in order */
  private readonly chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  private buf = new Uint8Array(64);
  /** where the bytes not yet in `chunks` begin in `buf` */
  private start = 0;
  private pos = 0;

  get length(): number {
    return this.chunkBytes + this.pos - this.start;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const pending = this.pos - this.start;
    const next = new Uint8Array(Math.max(2 * this.buf.length, 2 * (pending + n), 64));
    next.set(this.buf.subarray(this.start, this.pos));
    this.buf = next;
    this.start = 0;
    this.pos = pending;
  }

  /** the pending bytes become a chunk (a view: `buf` is only ever appended to past it) */
  private flushScratch(): void {
    if (this.pos === this.start) return;
    this.chunks.push(this.buf.subarray(this.start, this.pos));
    this.chunkBytes += this.pos - this.start;
    this.start = this.pos;
  }

  private varint(v: number | bigint): void {
    this.room(10);
    if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) {
      while (v >= 0x80) {
        this.buf[this.pos++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      this.buf[this.pos++] = v;
      return;
    }
    // negative (ten bytes, two's complement) or beyond 2^53
    let n = BigInt.asUintN(64, BigInt(v));
    while (n >= 0x80n) {
      this.buf[this.pos++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.buf[this.pos++] = Number(n);
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  private copy(data: Uint8Array): void {
    this.room(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  int(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    f32View.setFloat32(0, v, true);
    this.copy(f32Bytes);
    return this;
  }

  bytesField(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.varint(data.length);
    if (data.length <= INLINE_BYTES) {
      this.copy(data);
    } else {
      this.flushScratch();
      this.chunks.push(data);
      this.chunkBytes += data.length;
    }
    return this;
  }

  string(field: number, s: string): this {
    // the names are ASCII: written in place, no buffer per string
    let ascii = true;
    for (let i = 0; i < s.length && ascii; i++) ascii = s.charCodeAt(i) < 0x80;
    if (!ascii) return this.bytesField(field, Buffer.from(s, 'utf8'));
    this.tag(field, 2);
    this.varint(s.length);
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
    return this;
  }

  message(field: number, m: ProtoWriter): this {
    this.tag(field, 2);
    this.varint(m.length);
    if (!m.chunks.length) {
      this.copy(m.buf.subarray(m.start, m.pos));
      return this;
    }
    m.flushScratch();
    this.flushScratch();
    for (const c of m.chunks) this.chunks.push(c);
    this.chunkBytes += m.chunkBytes;
    return this;
  }

  packedInts(field: number, vs: readonly number[]): this {
    const m = new ProtoWriter();
    for (const v of vs) m.varint(v);
    return this.message(field, m);
  }

  /** Writes the message to a file chunk by chunk (no joined copy of large payloads). */
  writeFile(file: string): void {
    this.flushScratch();
    const fd = fs.openSync(file, 'w');
    try {
      for (const c of this.chunks) fs.writeSync(fd, c);
    } finally {
      fs.closeSync(fd);
    }
  }

  finish(): Uint8Array {
    this.flushScratch();
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.chunkBytes);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}
