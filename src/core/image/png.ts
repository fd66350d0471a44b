/** PNG encoding of RGBA pixels (heatmaps, overlays) for the CLI's --png output. */
import { PNG } from 'pngjs';

export function encodePng(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): Buffer {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || rgba.length !== width * height * 4) {
    throw new RangeError(`encodePng: ${rgba.length} bytes do not make a ${width}x${height} RGBA image`);
  }
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return PNG.sync.write(png, { colorType: 6 });
}
