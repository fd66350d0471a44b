/**
 * Image decoding for explanation inputs. The format is detected from magic bytes, never from the
 * extension (a .jpg that is really a PNG is common). Output is always 8-bit RGBA.
 */
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { LensError } from '../errors';
import { LIMITS, readBounded } from '../io/boundedRead';

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA, row-major, 4 bytes per pixel. */
  data: Uint8Array;
}

// Larger images are refused before allocating: 50 MP RGBA is already 200 MB.
const MAX_MEGAPIXELS = 50;
const JPEG_MAX_MEMORY_MB = 512;

function badImage(reason: string, file: string): LensError {
  return new LensError('bad-image', `cannot decode image: ${reason}`, file);
}

/** First line of a library error, short enough for a one-line message. */
function shortReason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const line = text.split(/\r?\n/)[0].trim() || 'corrupt data';
  return line.length > 120 ? line.slice(0, 117) + '...' : line;
}

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

function checkSize(width: number, height: number, file: string): void {
  if (!(width > 0 && height > 0)) throw badImage(`invalid size ${width}x${height}`, file);
  if (width * height > MAX_MEGAPIXELS * 1e6) {
    throw badImage(`${width}x${height} is larger than ${MAX_MEGAPIXELS} megapixels`, file);
  }
}

function decodePng(bytes: Uint8Array, file: string): RgbaImage {
  if (bytes.length >= 24) {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    checkSize(v.getUint32(16), v.getUint32(20), file); // IHDR width/height, before pngjs allocates
  }
  try {
    // pngjs expands gray / palette / tRNS / 16-bit to 8-bit RGBA.
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
  } catch (e) {
    throw badImage(`PNG: ${shortReason(e)}`, file);
  }
}

function decodeJpeg(bytes: Uint8Array, file: string): RgbaImage {
  try {
    const img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: MAX_MEGAPIXELS,
      maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB,
    });
    checkSize(img.width, img.height, file);
    return { width: img.width, height: img.height, data: img.data };
  } catch (e) {
    if (e instanceof LensError) throw e;
    throw badImage(`JPEG: ${shortReason(e)}`, file);
  }
}

/** Position of the lowest set bit and the number of bits of a channel mask. */
function maskInfo(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

/**
 * Uncompressed BMP: 24-bit BI_RGB, 32-bit BI_RGB (4th byte unused, so opaque) and 32-bit
 * BI_BITFIELDS. Rows are padded to 4 bytes; positive height means bottom-up rows.
 */
function decodeBmp(bytes: Uint8Array, file: string): RgbaImage {
  if (bytes.length < 54) throw badImage('BMP: truncated header', file);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pixelOffset = v.getUint32(10, true);
  const dibSize = v.getUint32(14, true);
  if (dibSize < 40) throw badImage(`BMP: unsupported header (size ${dibSize})`, file);
  const width = v.getInt32(18, true);
  const rawHeight = v.getInt32(22, true);
  const bpp = v.getUint16(28, true);
  const compression = v.getUint32(30, true);
  const height = Math.abs(rawHeight);
  const topDown = rawHeight < 0;
  checkSize(width, height, file);

  let masks: [number, number, number, number] | undefined;
  if (bpp === 32 && (compression === 3 || compression === 6)) {
    // Masks live inside V2+ headers, or right after a 40-byte header.
    const at = 54;
    const hasAlpha = dibSize >= 56 || compression === 6;
    if (bytes.length < at + (hasAlpha ? 16 : 12)) throw badImage('BMP: truncated bit masks', file);
    masks = [v.getUint32(at, true), v.getUint32(at + 4, true), v.getUint32(at + 8, true), hasAlpha ? v.getUint32(at + 12, true) : 0];
  } else if (!((bpp === 24 || bpp === 32) && compression === 0)) {
    throw badImage(`BMP: only uncompressed 24/32-bit is supported (got ${bpp}-bit, compression ${compression})`, file);
  }

  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (pixelOffset + stride * height > bytes.length) throw badImage('BMP: truncated pixel data', file);
  const out = new Uint8Array(width * height * 4);
  const channels = masks?.map(maskInfo);
  for (let y = 0; y < height; y++) {
    const row = pixelOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (channels) {
        const px = v.getUint32(row + x * 4, true);
        for (let c = 0; c < 4; c++) {
          const { shift, max } = channels[c];
          out[o + c] = max === 0 ? (c === 3 ? 255 : 0) : Math.round((((px >>> shift) & max) * 255) / max);
        }
      } else {
        const p = row + x * (bpp / 8);
        out[o] = bytes[p + 2];
        out[o + 1] = bytes[p + 1];
        out[o + 2] = bytes[p];
        out[o + 3] = 255;
      }
    }
  }
  return { width, height, data: out };
}

export function decodeImage(bytes: Uint8Array, file: string): RgbaImage {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return decodePng(bytes, file);
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return decodeJpeg(bytes, file);
  if (startsWith(bytes, [0x42, 0x4d])) return decodeBmp(bytes, file);
  if (startsWith(bytes, [0x47, 0x49, 0x46, 0x38])) throw badImage('GIF is not supported (use PNG, JPEG or BMP)', file);
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && bytes.length >= 12 && String.fromCharCode(...bytes.subarray(8, 12)) === 'WEBP') {
    throw badImage('WebP is not supported (use PNG, JPEG or BMP)', file);
  }
  throw badImage(bytes.length === 0 ? 'empty file' : 'not a PNG, JPEG or BMP file', file);
}

export function readImageFile(filePath: string): RgbaImage {
  const bytes = readBounded(filePath, { what: 'file', maxBytes: LIMITS.imageBytes, code: 'bad-input' });
  return decodeImage(bytes, filePath);
}
