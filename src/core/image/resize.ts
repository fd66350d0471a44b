/**
 * Resizing of RGBA images, separable: each mode is a table of (source index, weight) taps per output
 * row/column, applied horizontally then vertically in float, rounded once at the end. All four
 * channels are resampled independently (no premultiplied alpha: preprocessing ignores alpha).
 */
import type { RgbaImage } from './decode';

/**
 * 'bilinear': half-pixel centres (TF half_pixel_centers, PIL, OpenCV, torchvision), rounded to 8 bits as
 * an image library would; 'bilinear-align-corners': corner pixels aligned (tf.image.resizeBilinear with
 * alignCorners = true, as nsfwjs does), kept in float like a tensor op.
 */
export type ResizeMode = 'bilinear' | 'bilinear-align-corners' | 'nearest' | 'area';

interface Taps {
  index: number[][];
  weight: number[][];
}

/** TF's half_pixel_centers=true: source coordinate (x + 0.5) * scale - 0.5, clamped at the borders. */
function bilinearTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const index: number[][] = [];
  const weight: number[][] = [];
  for (let x = 0; x < outSize; x++) {
    const src = (x + 0.5) * scale - 0.5;
    const fl = Math.floor(src);
    const lerp = src - fl;
    const lo = Math.max(fl, 0);
    const hi = Math.min(Math.ceil(src), inSize - 1);
    index.push([lo, Math.max(hi, 0)]);
    weight.push([1 - lerp, lerp]);
  }
  return { index, weight };
}

/** Align corners: source coordinate x * (in − 1) / (out − 1), so the corner pixels map onto each other. */
function alignCornersTaps(inSize: number, outSize: number): Taps {
  const scale = outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  const index: number[][] = [];
  const weight: number[][] = [];
  for (let x = 0; x < outSize; x++) {
    const src = x * scale;
    const lo = Math.floor(src);
    const hi = Math.min(lo + 1, inSize - 1);
    index.push([lo, hi]);
    weight.push([1 - (src - lo), src - lo]);
  }
  return { index, weight };
}

/** Nearest with half-pixel centers: the source pixel whose cell contains the output pixel's centre. */
function nearestTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const index: number[][] = [];
  for (let x = 0; x < outSize; x++) index.push([Math.min(Math.floor((x + 0.5) * scale), inSize - 1)]);
  return { index, weight: index.map(() => [1]) };
}

/** Box filter: output pixel x covers source interval [x*scale, (x+1)*scale); weights are overlaps. */
function areaTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const index: number[][] = [];
  const weight: number[][] = [];
  for (let x = 0; x < outSize; x++) {
    const start = x * scale;
    const end = (x + 1) * scale;
    const idx: number[] = [];
    const w: number[] = [];
    for (let s = Math.floor(start); s < Math.min(Math.ceil(end), inSize); s++) {
      const overlap = Math.min(end, s + 1) - Math.max(start, s);
      if (overlap > 1e-12) {
        idx.push(s);
        w.push(overlap / scale);
      }
    }
    index.push(idx);
    weight.push(w);
  }
  return { index, weight };
}

function tapsFor(mode: ResizeMode, inSize: number, outSize: number): Taps {
  if (mode === 'nearest') return nearestTaps(inSize, outSize);
  if (mode === 'area') return areaTaps(inSize, outSize);
  if (mode === 'bilinear-align-corners') return alignCornersTaps(inSize, outSize);
  return bilinearTaps(inSize, outSize);
}

export function resizeRgba(img: RgbaImage, width: number, height: number, mode: ResizeMode): RgbaImage {
  const f = resizeRgbaFloat(img, width, height, mode);
  const out = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(f[i])));
  return { width, height, data: out };
}

/** The same resampling without the final rounding to 8 bits (RGBA, 0..255 floats). */
export function resizeRgbaFloat(img: RgbaImage, width: number, height: number, mode: ResizeMode): Float64Array {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`resizeRgba: invalid target size ${width}x${height}`);
  }
  if (width === img.width && height === img.height) return Float64Array.from(img.data);
  const tx = tapsFor(mode, img.width, width);
  const ty = tapsFor(mode, img.height, height);
  const src = img.data;

  // Horizontal pass: img.height rows x width columns.
  const mid = new Float64Array(img.height * width * 4);
  for (let y = 0; y < img.height; y++) {
    const rowIn = y * img.width * 4;
    const rowOut = y * width * 4;
    for (let x = 0; x < width; x++) {
      const idx = tx.index[x];
      const w = tx.weight[x];
      for (let c = 0; c < 4; c++) {
        let acc = 0;
        for (let k = 0; k < idx.length; k++) acc += w[k] * src[rowIn + idx[k] * 4 + c];
        mid[rowOut + x * 4 + c] = acc;
      }
    }
  }

  // Vertical pass.
  const out = new Float64Array(width * height * 4);
  const rowLen = width * 4;
  for (let y = 0; y < height; y++) {
    const idx = ty.index[y];
    const w = ty.weight[y];
    for (let i = 0; i < rowLen; i++) {
      let acc = 0;
      for (let k = 0; k < idx.length; k++) acc += w[k] * mid[idx[k] * rowLen + i];
      out[y * rowLen + i] = acc;
    }
  }
  return out;
}

/**
 * A float map (h×w, one value per pixel) resampled to height×width, bilinear with half-pixel centres,
 * in float (no rounding): the relevance map of an export at the photo's own resolution.
 */
export function resampleMap(map: Float32Array, w: number, h: number, width: number, height: number): Float32Array {
  const tx = bilinearTaps(w, width);
  const ty = bilinearTaps(h, height);
  const mid = new Float64Array(h * width);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < width; x++) mid[y * width + x] = tx.weight[x][0] * map[y * w + tx.index[x][0]] + tx.weight[x][1] * map[y * w + tx.index[x][1]];
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const [a, b] = ty.index[y];
    const [wa, wb] = ty.weight[y];
    for (let x = 0; x < width; x++) out[y * width + x] = wa * mid[a * width + x] + wb * mid[b * width + x];
  }
  return out;
}

/** The central width x height region; odd leftovers go to the right/bottom (offsets rounded down). */
export function centerCrop(img: RgbaImage, width: number, height: number): RgbaImage {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || width > img.width || height > img.height) {
    throw new RangeError(`centerCrop: cannot crop ${width}x${height} from ${img.width}x${img.height}`);
  }
  const left = Math.floor((img.width - width) / 2);
  const top = Math.floor((img.height - height) / 2);
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * img.width + left) * 4;
    out.set(img.data.subarray(from, from + width * 4), y * width * 4);
  }
  return { width, height, data: out };
}
