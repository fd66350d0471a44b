/** A small reader for zip archives (the .keras format): central directory, stored and deflated entries. */
import * as zlib from 'zlib';
import { LensError } from '../errors';
import { formatBytes } from '../io/boundedRead';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();

  constructor(private readonly buf: Buffer, private readonly file: string) {
    if (buf.length < 22 || buf.readUInt32LE(0) !== 0x04034b50) {
      throw new LensError('bad-model', 'not a zip archive (wrong magic bytes; a .keras file is a zip)', file);
    }
    // End of central directory: last 22 bytes + up to 64 KiB comment
    let eocd = -1;
    for (let p = buf.length - 22; p >= Math.max(0, buf.length - 22 - 65535); p--) {
      if (buf.readUInt32LE(p) === 0x06054b50) {
        eocd = p;
        break;
      }
    }
    if (eocd < 0) throw new LensError('bad-model', 'zip archive is truncated (no central directory)', file);
    const count = buf.readUInt16LE(eocd + 10);
    const cdSize = buf.readUInt32LE(eocd + 12);
    const cdOffset = buf.readUInt32LE(eocd + 16);
    if (cdOffset === 0xffffffff || count === 0xffff) throw new LensError('unsupported-op', 'ZIP64 archives are not supported', file);
    if (cdOffset + cdSize > eocd) throw new LensError('bad-model', 'zip archive is truncated or corrupt (central directory out of range)', file);
    let p = cdOffset;
    for (let i = 0; i < count; i++) {
      if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) throw new LensError('bad-model', 'zip archive is corrupt (bad central directory entry)', file);
      const method = buf.readUInt16LE(p + 10);
      const compressedSize = buf.readUInt32LE(p + 20);
      const size = buf.readUInt32LE(p + 24);
      const nameLen = buf.readUInt16LE(p + 28);
      const extraLen = buf.readUInt16LE(p + 30);
      const commentLen = buf.readUInt16LE(p + 32);
      const localOffset = buf.readUInt32LE(p + 42);
      const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
      this.entries.set(name, { name, method, compressedSize, size, localOffset });
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * An entry's bytes. `maxBytes` caps the inflated size: the declared size is checked before inflating,
   * and inflation stops at the declared size, so a deflate bomb (or a size field that lies) costs nothing.
   */
  read(name: string, maxBytes: number, limitName?: string): Buffer {
    const e = this.entries.get(name);
    if (!e) throw new LensError('bad-model', `zip archive has no '${name}'`, this.file);
    if (e.size > maxBytes) {
      throw new LensError('bad-model', `zip entry '${name}' inflates to ${formatBytes(e.size)}, over the limit of ${formatBytes(maxBytes)}${limitName ? ` (${limitName})` : ''}`, this.file);
    }
    const b = this.buf;
    const p = e.localOffset;
    if (p + 30 > b.length || b.readUInt32LE(p) !== 0x04034b50) throw new LensError('bad-model', `zip entry '${name}' is corrupt`, this.file);
    const start = p + 30 + b.readUInt16LE(p + 26) + b.readUInt16LE(p + 28);
    if (start + e.compressedSize > b.length) throw new LensError('bad-model', `zip entry '${name}' is truncated`, this.file);
    const data = b.subarray(start, start + e.compressedSize);
    let out: Buffer;
    if (e.method === 0) out = data;
    else if (e.method === 8) {
      try {
        // one byte more than declared: a longer stream is caught below as a size lie
        out = zlib.inflateRawSync(data, { maxOutputLength: Math.max(1, e.size + 1) });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ERR_BUFFER_TOO_LARGE') throw new LensError('bad-model', `zip entry '${name}' inflates to more than its declared ${formatBytes(e.size)} (corrupt or a zip bomb)`, this.file);
        throw new LensError('bad-model', `zip entry '${name}' cannot be inflated (${(err as Error).message.split('\n')[0]})`, this.file);
      }
    } else throw new LensError('unsupported-op', `zip entry '${name}' uses compression method ${e.method} (stored or deflate only)`, this.file);
    if (out.length !== e.size) throw new LensError('bad-model', `zip entry '${name}' is corrupt (size ${out.length}, expected ${e.size})`, this.file);
    return out;
  }
}
