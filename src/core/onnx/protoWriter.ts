import * as fs from 'fs';

/**
 * A minimal protobuf encoder for writing ONNX models (the reader is loaders/protobuf.ts). Messages are
 * built as lists of chunks and joined once, so large float payloads are copied a single time.
 */

export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private bytes = 0;
  private scratch: number[] = [];

  get length(): number {
    return this.bytes + this.scratch.length;
  }

  private flushScratch(): void {
    if (!this.scratch.length) return;
    this.chunks.push(Uint8Array.from(this.scratch));
    this.bytes += this.scratch.length;
    this.scratch = [];
  }

  private varint(v: number | bigint): void {
    let n = BigInt.asUintN(64, BigInt(v));
    while (n >= 0x80n) {
      this.scratch.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.scratch.push(Number(n));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.scratch.push(x);
    return this;
  }

  bytesField(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.varint(data.length);
    this.flushScratch();
    this.chunks.push(data);
    this.bytes += data.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytesField(field, Buffer.from(s, 'utf8'));
  }

  message(field: number, m: ProtoWriter): this {
    this.tag(field, 2);
    this.varint(m.length);
    this.flushScratch();
    m.flushScratch();
    for (const c of m.chunks) this.chunks.push(c);
    this.bytes += m.bytes;
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
    const out = new Uint8Array(this.bytes);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}
