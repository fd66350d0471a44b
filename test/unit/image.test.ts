import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import * as jpeg from 'jpeg-js';
import { decodeImage, readImageFile, type RgbaImage } from '../../src/core/image/decode';
import { centerCrop, resizeRgba, type ResizeMode } from '../../src/core/image/resize';
import { imageToDisplayRgba, preprocessImage } from '../../src/core/image/preprocess';
import { encodePng } from '../../src/core/image/png';
import { LensError } from '../../src/core/errors';
import type { ModelCard } from '../../src/core/card/modelCard';

// ---- helpers: hand-built PNG and BMP files, so the decoder is tested on layouts pngjs would not write ----

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** rows: raw scanline bytes without the filter byte. */
function makePng(width: number, height: number, depth: number, colorType: number, rows: Buffer[], extra: Buffer[] = []): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  const raw = Buffer.concat(rows.map((r) => Buffer.concat([Buffer.from([0]), r])));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra,
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** pixels: [r,g,b] row-major top to bottom. */
function makeBmp(width: number, height: number, pixels: number[][], bpp: 24 | 32, topDown: boolean, bitfields = false): Buffer {
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  const headerSize = bitfields ? 40 + 12 : 40;
  const offset = 14 + headerSize;
  const buf = Buffer.alloc(offset + stride * height);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(offset, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(topDown ? -height : height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(bpp, 28);
  buf.writeUInt32LE(bitfields ? 3 : 0, 30);
  if (bitfields) {
    // deliberately RGBX byte layout (not the usual BGRX) so the masks matter
    buf.writeUInt32LE(0x000000ff, 54);
    buf.writeUInt32LE(0x0000ff00, 58);
    buf.writeUInt32LE(0x00ff0000, 62);
  }
  for (let y = 0; y < height; y++) {
    const row = offset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixels[y * width + x];
      const p = row + x * (bpp / 8);
      if (bitfields) buf.writeUInt32LE(r | (g << 8) | (b << 16), p);
      else {
        buf[p] = b;
        buf[p + 1] = g;
        buf[p + 2] = r;
      }
    }
  }
  return buf;
}

function pixel(img: RgbaImage, x: number, y: number): number[] {
  const o = (y * img.width + x) * 4;
  return Array.from(img.data.subarray(o, o + 4));
}

function gray(width: number, height: number, values: number[]): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  values.forEach((v, i) => data.set([v, v, v, 255], i * 4));
  return { width, height, data };
}

function rowOf(img: RgbaImage, y = 0): number[] {
  return Array.from({ length: img.width }, (_, x) => pixel(img, x, y)[0]);
}

function assertBadImage(fn: () => unknown, file: string, reason: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LensError);
    assert.equal(e.code, 'bad-image');
    assert.equal(e.file, file);
    assert.ok(e.message.includes(file), e.message);
    assert.match(e.message, /cannot decode image: /);
    assert.match(e.message, reason);
    assert.ok(!e.message.includes('\n'), 'one-line message');
    return true;
  });
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-image-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

describe('decodeImage: PNG', () => {
  it('round-trips RGBA pixels exactly through encodePng', () => {
    const w = 5;
    const h = 3;
    const data = new Uint8Array(w * h * 4).map((_, i) => (i * 37 + 11) % 256);
    const img = decodeImage(encodePng(data, w, h), 'x.png');
    assert.equal(img.width, w);
    assert.equal(img.height, h);
    assert.deepEqual(Array.from(img.data), Array.from(data));
  });

  it('expands 16-bit grayscale to 8-bit RGBA', () => {
    const row = Buffer.alloc(4);
    row.writeUInt16BE(0xffff, 0);
    row.writeUInt16BE(0x8080, 2);
    const img = decodeImage(makePng(2, 1, 16, 0, [row]), 'g16.png');
    assert.deepEqual(pixel(img, 0, 0), [255, 255, 255, 255]);
    assert.deepEqual(pixel(img, 1, 0), [128, 128, 128, 255]);
  });

  it('expands a palette image with tRNS alpha', () => {
    const plte = chunk('PLTE', Buffer.from([255, 0, 0, 0, 0, 255]));
    const trns = chunk('tRNS', Buffer.from([255, 64]));
    const img = decodeImage(makePng(2, 1, 8, 3, [Buffer.from([1, 0])], [plte, trns]), 'pal.png');
    assert.deepEqual(pixel(img, 0, 0), [0, 0, 255, 64]);
    assert.deepEqual(pixel(img, 1, 0), [255, 0, 0, 255]);
  });

  it('detects by magic bytes, not by extension', () => {
    const img = decodeImage(encodePng(new Uint8Array([1, 2, 3, 4]), 1, 1), 'really-a-png.jpg');
    assert.deepEqual(pixel(img, 0, 0), [1, 2, 3, 4]);
  });

  it('reports a truncated PNG as bad-image naming the file', () => {
    const png = encodePng(new Uint8Array(16 * 16 * 4).fill(7), 16, 16);
    assertBadImage(() => decodeImage(png.subarray(0, png.length - 30), 'cut.png'), 'cut.png', /PNG/);
  });

  it('refuses an absurd size before allocating', () => {
    const png = makePng(1, 1, 8, 0, [Buffer.from([0])]);
    png.writeUInt32BE(100000, 16);
    png.writeUInt32BE(100000, 20);
    assertBadImage(() => decodeImage(png, 'huge.png'), 'huge.png', /megapixels/);
  });
});

describe('decodeImage: JPEG', () => {
  it('decodes a jpeg-js encoded gradient within tolerance', () => {
    const w = 32;
    const h = 24;
    const data = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x * 8, y * 10, 128, 255], (y * w + x) * 4);
    const encoded = jpeg.encode({ width: w, height: h, data }, 95).data;
    const img = decodeImage(encoded, 'grad.jpg');
    assert.equal(img.width, w);
    assert.equal(img.height, h);
    let maxDiff = 0;
    for (let i = 0; i < data.length; i++) if (i % 4 !== 3) maxDiff = Math.max(maxDiff, Math.abs(img.data[i] - data[i]));
    assert.ok(maxDiff <= 12, `max channel difference ${maxDiff}`);
    assert.equal(img.data[3], 255);
  });

  it('reports a corrupt JPEG as bad-image', () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(50, 0x13)]);
    assertBadImage(() => decodeImage(bytes, 'bad.jpg'), 'bad.jpg', /JPEG/);
  });
});

describe('decodeImage: BMP', () => {
  const pixels = [
    [255, 0, 0], [0, 255, 0], [0, 0, 255],
    [10, 20, 30], [40, 50, 60], [70, 80, 90],
  ];
  const expect = (img: RgbaImage) => {
    assert.equal(img.width, 3);
    assert.equal(img.height, 2);
    for (let i = 0; i < 6; i++) assert.deepEqual(pixel(img, i % 3, Math.floor(i / 3)), [...pixels[i], 255]);
  };
  it('decodes 24-bit bottom-up (with row padding)', () => expect(decodeImage(makeBmp(3, 2, pixels, 24, false), 'a.bmp')));
  it('decodes 24-bit top-down', () => expect(decodeImage(makeBmp(3, 2, pixels, 24, true), 'b.bmp')));
  it('decodes 32-bit BI_RGB', () => expect(decodeImage(makeBmp(3, 2, pixels, 32, false), 'c.bmp')));
  it('decodes 32-bit BI_BITFIELDS using the masks', () => expect(decodeImage(makeBmp(3, 2, pixels, 32, true, true), 'd.bmp')));

  it('rejects 8-bit and truncated BMPs', () => {
    const bmp = makeBmp(3, 2, pixels, 24, false);
    const eight = Buffer.from(bmp);
    eight.writeUInt16LE(8, 28);
    assertBadImage(() => decodeImage(eight, 'e.bmp'), 'e.bmp', /8-bit/);
    assertBadImage(() => decodeImage(bmp.subarray(0, bmp.length - 5), 'f.bmp'), 'f.bmp', /truncated/);
  });
});

describe('decodeImage: other input', () => {
  it('rejects unknown formats, GIF and empty files with a one-line reason', () => {
    assertBadImage(() => decodeImage(Buffer.from('hello world, not an image'), 'n.png'), 'n.png', /not a PNG, JPEG or BMP/);
    assertBadImage(() => decodeImage(Buffer.from('GIF89a......'), 'g.gif'), 'g.gif', /GIF/);
    assertBadImage(() => decodeImage(new Uint8Array(0), 'z.png'), 'z.png', /empty/);
  });

  it('readImageFile reads from disk and reports a missing file as bad-input', () => {
    const file = path.join(tmp, 'one.png');
    fs.writeFileSync(file, encodePng(new Uint8Array([9, 8, 7, 255]), 1, 1));
    assert.deepEqual(pixel(readImageFile(file), 0, 0), [9, 8, 7, 255]);
    const missing = path.join(tmp, 'nope.png');
    assert.throws(() => readImageFile(missing), (e: unknown) => {
      assert.ok(e instanceof LensError);
      assert.equal(e.code, 'bad-input');
      assert.equal(e.message, `${missing}: file not found`);
      return true;
    });
  });

  it('readImageFile reports a corrupt file on disk as bad-image', () => {
    const file = path.join(tmp, 'corrupt.jpg');
    fs.writeFileSync(file, Buffer.from([0xff, 0xd8, 0xff, 0, 1, 2, 3]));
    assertBadImage(() => readImageFile(file), file, /JPEG/);
  });
});

describe('resizeRgba', () => {
  const modes: ResizeMode[] = ['bilinear', 'nearest', 'area'];
  for (const mode of modes) {
    it(`${mode}: a constant image stays constant (down and up)`, () => {
      const img = gray(7, 5, new Array(35).fill(173));
      for (const [w, h] of [[3, 4], [11, 9], [1, 1]]) {
        const out = resizeRgba(img, w, h, mode);
        assert.equal(out.data.length, w * h * 4);
        assert.ok(out.data.every((v, i) => v === (i % 4 === 3 ? 255 : 173)), `${mode} ${w}x${h}`);
      }
    });
  }

  it('area: 2x2 -> 1x1 is the average of the four pixels', () => {
    const out = resizeRgba(gray(2, 2, [10, 20, 30, 41]), 1, 1, 'area');
    assert.deepEqual(pixel(out, 0, 0), [25, 25, 25, 255]); // 25.25 rounds to 25
  });

  it('area: 3 -> 2 weights partial pixels by overlap', () => {
    // output 0 covers [0, 1.5): (0*1 + 90*0.5) / 1.5 = 30; output 1 covers [1.5, 3): (90*0.5 + 180) / 1.5 = 150
    assert.deepEqual(rowOf(resizeRgba(gray(3, 1, [0, 90, 180]), 2, 1, 'area')), [30, 150]);
  });

  it('bilinear with half-pixel centers: 2 -> 4 upscaling matches hand-computed values', () => {
    // source x = (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamp, 0.75/0.25, 0.25/0.75, clamp
    assert.deepEqual(rowOf(resizeRgba(gray(2, 1, [0, 100]), 4, 1, 'bilinear')), [0, 25, 75, 100]);
  });

  it('bilinear: 4 -> 2 averages neighbour pairs (source x = 0.5 and 2.5)', () => {
    assert.deepEqual(rowOf(resizeRgba(gray(4, 1, [0, 100, 200, 250]), 2, 1, 'bilinear')), [50, 225]);
  });

  it('bilinear in 2-D: centre of a 2x2 -> 3x3 upscale is the mean of the corners', () => {
    const out = resizeRgba(gray(2, 2, [0, 60, 120, 200]), 3, 3, 'bilinear');
    // y,x source = (i + 0.5) * 2/3 - 0.5 -> -1/6, 0.5, 7/6; centre (0.5, 0.5) = (0+60+120+200)/4
    assert.equal(pixel(out, 1, 1)[0], 95);
    assert.equal(pixel(out, 0, 0)[0], 0);
    assert.equal(pixel(out, 2, 2)[0], 200);
    assert.equal(pixel(out, 1, 0)[0], 30);
  });

  it('nearest picks the source pixel under each output centre', () => {
    assert.deepEqual(rowOf(resizeRgba(gray(4, 1, [0, 100, 200, 250]), 2, 1, 'nearest')), [100, 250]);
    assert.deepEqual(rowOf(resizeRgba(gray(2, 1, [7, 9]), 4, 1, 'nearest')), [7, 7, 9, 9]);
  });

  it('rejects a non-positive target size', () => {
    assert.throws(() => resizeRgba(gray(2, 2, [0, 0, 0, 0]), 0, 2, 'area'), RangeError);
  });
});

describe('centerCrop', () => {
  it('takes the central region', () => {
    const img = gray(4, 3, [0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]);
    const out = centerCrop(img, 2, 1);
    assert.deepEqual(rowOf(out), [11, 12]);
    assert.throws(() => centerCrop(img, 5, 1), RangeError);
  });
});

describe('preprocessImage', () => {
  const card = (over: Partial<ModelCard['input']>): ModelCard => ({
    input: { height: 1, width: 2, channels: 3, channelOrder: 'rgb', resize: 'bilinear', scaling: '[0,1]', ...over },
  });
  const img: RgbaImage = { width: 2, height: 1, data: new Uint8Array([255, 0, 51, 0, 0, 102, 255, 255]) };

  it('scales to [0,1] in RGB order, HWC, and ignores alpha', () => {
    const out = preprocessImage(img, card({}));
    assert.deepEqual(out.shape, [1, 2, 3]);
    assert.deepEqual(Array.from(out.data), [1, 0, 0.2, 0, 0.4, 1].map(Math.fround));
  });

  it('swaps to BGR and applies [-1,1] and [0,255]', () => {
    assert.deepEqual(Array.from(preprocessImage(img, card({ channelOrder: 'bgr', scaling: '[0,255]' })).data), [51, 0, 255, 255, 102, 0]);
    const pm1 = preprocessImage(img, card({ scaling: '[-1,1]' })).data;
    assert.equal(pm1[0], 1);
    assert.equal(pm1[1], -1);
  });

  it('applies mean/std per model channel (after the channel swap), with a custom scale', () => {
    const out = preprocessImage(img, card({ channelOrder: 'bgr', scaling: { mean: [50, 0, 200], std: [1, 2, 5], scale: 1 } }));
    // pixel 0 as BGR = [51, 0, 255]
    assert.deepEqual(Array.from(out.data.subarray(0, 3)), [1, 0, 11]);
  });

  it('converts to gray with 0.299R + 0.587G + 0.114B for one channel', () => {
    const out = preprocessImage(img, card({ channels: 1, scaling: '[0,255]' }));
    assert.deepEqual(out.shape, [1, 2, 1]);
    assert.ok(Math.abs(out.data[0] - (0.299 * 255 + 0.114 * 51)) < 1e-3);
    assert.ok(Math.abs(out.data[1] - (0.587 * 102 + 0.114 * 255)) < 1e-3);
  });

  it("center-crop keeps the aspect ratio: a 4x2 image -> 1x1 uses only the middle columns", () => {
    const wide = gray(4, 2, [0, 100, 100, 0, 0, 100, 100, 0]);
    const out = preprocessImage(wide, card({ width: 1, height: 1, resize: 'center-crop', scaling: '[0,255]' }));
    assert.deepEqual(Array.from(out.data), [100, 100, 100]);
    // plain area resize mixes in the dark border columns
    assert.equal(preprocessImage(wide, card({ width: 1, height: 1, resize: 'area', scaling: '[0,255]' })).data[0], 50);
  });

  it('imageToDisplayRgba resizes like the model input and is opaque', () => {
    const rgba: RgbaImage = { width: 2, height: 2, data: new Uint8Array([10, 10, 10, 0, 10, 10, 10, 0, 10, 10, 10, 0, 10, 10, 10, 0]) };
    const out = imageToDisplayRgba(rgba, 3, 4);
    assert.equal(out.width, 4);
    assert.equal(out.height, 3);
    assert.ok(out.data.every((v, i) => v === (i % 4 === 3 ? 255 : 10)));
    assert.equal(rgba.data[3], 0, 'input not modified');
  });
});
