/**
 * An ONNX file read without its large initializers' bytes: the protobuf's structure is walked with small
 * reads, everything but the initializers' `raw_data` of LAZY_BYTES or more is read into a buffer the size
 * of the file (whose skipped pages are never touched, so never resident), and each skipped payload is read
 * later straight into the array that keeps it (`take`). The whole-file read put every weight in memory
 * twice on the way (the file's bytes, then the graph's own aligned copy): ResNet-50's 102 MB file took
 * ~70 ms to read and ~60 ms to copy on the CLI's main thread (its profile), and the copy was the loading peak.
 */
import * as fs from 'fs';
import { LensError } from '../errors';
import { LIMITS, openRegularFile, readAt } from '../io/boundedRead';

/** raw_data payloads from this size on are read where they are kept */
const LAZY_BYTES = 64 * 1024;
/** the reads that walk the structure: headers and small messages together (a larger chunk would read into
 * the next skipped payload at every initializer) */
const CHUNK = 4096;

export class SparseOnnx {
  /** file offset of a skipped payload -> its length */
  private readonly lazy = new Map<number, number>();
  readonly bytes: Buffer;
  /** bytes read from the file so far (the walk's and the payloads') */
  bytesRead = 0;

  private constructor(private readonly file: string, private readonly fd: number, size: number) {
    this.bytes = Buffer.allocUnsafe(size);
  }

  /** Opens and walks `file` (bounded as every model file); the caller closes it once the graph is built. */
  static open(file: string): SparseOnnx {
    const { fd, size } = openRegularFile(file, { what: 'model file', maxBytes: LIMITS.modelBytes, limitName: 'RELEVANCE_LENS_MAX_MODEL_MB' });
    const s = new SparseOnnx(file, fd, size);
    try {
      s.message(0, s.bytes.length, 'model');
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  }

  /** The bytes of a payload `view` of `bytes` points at: read now if it was skipped, else the view itself. */
  take(view: Uint8Array, floats?: number): Uint8Array | Float32Array {
    const at = view.byteOffset - this.bytes.byteOffset;
    const length = this.lazy.get(at);
    if (view.buffer !== this.bytes.buffer || length === undefined || length !== view.length) return view;
    // float32 weights land in their own aligned array: no copy after this read
    const out = floats !== undefined && floats * 4 <= length ? new Float32Array(floats) : new Uint8Array(length);
    this.readInto(new Uint8Array(out.buffer), at);
    return out;
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private readInto(into: Uint8Array, at: number): void {
    const got = readAt(this.fd, into, at, (c) => new LensError('bad-model', `model file cannot be read (${c})`, this.file));
    if (got < into.length) throw new LensError('bad-model', 'not a valid ONNX file, truncated or corrupt (the file shrank while it was read)', this.file);
    this.bytesRead += got;
  }

  /**
   * Bytes [from, to) of the file into `bytes`, in chunks as the walk reaches them. The walk only moves
   * forward and never comes back into a skipped payload, so everything before `loadedTo` that it asks for
   * again has been read.
   */
  private loadedTo = 0;
  private need(from: number, to: number): void {
    const size = this.bytes.length;
    if (to > size) to = size; // a length past the end: decodeFields reports the truncation
    if (to <= this.loadedTo) return;
    const start = Math.max(from, this.loadedTo);
    const end = Math.min(size, Math.max(to, start + CHUNK));
    this.readInto(this.bytes.subarray(start, end), start);
    this.loadedTo = end;
  }

  private varint(p: number): [number, number] {
    let v = 0;
    for (let shift = 0, i = 0; i < 10; i++, shift += 7) {
      this.need(p, p + 1);
      if (p >= this.bytes.length) return [v, p];
      const b = this.bytes[p++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return [v, p];
    }
    return [v, p];
  }

  /**
   * ModelProto -> graph (7) -> initializer (5) -> raw_data (9): the one path descended; every other field
   * is read whole. A malformed structure stops the walk and is read as it is: decodeFields reports it.
   */
  private message(from: number, to: number, kind: 'model' | 'graph' | 'tensor'): void {
    let p = from;
    while (p < to) {
      const [key, q] = this.varint(p);
      const no = Math.floor(key / 8);
      const wire = key % 8;
      p = q;
      if (wire === 0) [, p] = this.varint(p);
      else if (wire === 1) { this.need(p, p + 8); p += 8; }
      else if (wire === 5) { this.need(p, p + 4); p += 4; }
      else if (wire === 2) {
        const [len, r] = this.varint(p);
        p = r;
        const end = p + len;
        if (end > to || end > this.bytes.length) { this.need(p, to); return; }
        if (kind === 'model' && no === 7) this.message(p, end, 'graph');
        else if (kind === 'graph' && no === 5) this.message(p, end, 'tensor');
        else if (kind === 'tensor' && no === 9 && len >= LAZY_BYTES) this.lazy.set(p, len);
        else this.need(p, end);
        p = end;
      } else {
        this.need(p, to);
        return;
      }
    }
  }
}
