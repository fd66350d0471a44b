/**
 * Turns a decoded image into the model's input tensor as the model card describes it.
 *
 * Alpha is ignored: the stored RGB values are used as they are, with no compositing. Compositing over
 * white would invert MNIST-like digits stored as transparent-on-black, compositing over black would
 * change antialiased edges of ordinary photos; using RGB as stored is what PIL's convert('RGB') and
 * most training pipelines do. (pngjs gives fully transparent tRNS pixels RGB 0.)
 */
import type { RgbaImage } from './decode';
import { centerCrop, resizeRgba, resizeRgbaFloat } from './resize';
import { type CardResize, type ModelCard, scalePixelValue } from '../card/modelCard';

export interface PreprocessedImage {
  shape: [number, number, number];
  data: Float32Array;
}

/** The largest central region of an iw×ih image with the target's aspect ratio (what 'center-crop' keeps). */
export function cropRect(iw: number, ih: number, width: number, height: number): { x: number; y: number; width: number; height: number } {
  const target = width / height;
  if (Math.abs(iw / ih - target) < 1e-9) return { x: 0, y: 0, width: iw, height: ih };
  const cw = Math.min(iw, Math.max(1, Math.round(ih * target)));
  const ch = Math.min(ih, Math.max(1, Math.round(iw / target)));
  // centerCrop's offsets: rounded down
  return iw / ih > target ? { x: Math.floor((iw - cw) / 2), y: 0, width: cw, height: ih } : { x: 0, y: Math.floor((ih - ch) / 2), width: iw, height: ch };
}

/** The largest central region with the target's aspect ratio (so 'center-crop' never distorts). */
function cropToAspect(img: RgbaImage, width: number, height: number): RgbaImage {
  const r = cropRect(img.width, img.height, width, height);
  if (r.width === img.width && r.height === img.height) return img;
  return centerCrop(img, r.width, r.height);
}

/**
 * Geometry only: the image at the model's input size. 'center-crop' crops to the target aspect ratio
 * and then resizes bilinearly.
 */
function toInputSize(img: RgbaImage, width: number, height: number, mode: CardResize): RgbaImage {
  if (mode === 'center-crop') return resizeRgba(cropToAspect(img, width, height), width, height, 'bilinear');
  return resizeRgba(img, width, height, mode);
}

export function preprocessImage(img: RgbaImage, card: ModelCard): PreprocessedImage {
  const { height: H, width: W, channels: C, channelOrder, resize, scaling } = card.input;
  // align-corners is a tensor op in the models that use it (tf.image.resizeBilinear): float, no 8-bit rounding
  const px = resize === 'bilinear-align-corners' ? resizeRgbaFloat(img, W, H, resize) : toInputSize(img, W, H, resize).data;
  const data = new Float32Array(H * W * C);
  // Model channel c reads image channel order[c]; mean/std are given in the model's channel order.
  const order = channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  for (let i = 0; i < H * W; i++) {
    const p = i * 4;
    if (C === 1) {
      const gray = 0.299 * px[p] + 0.587 * px[p + 1] + 0.114 * px[p + 2];
      data[i] = scalePixelValue(scaling, 0, gray);
    } else {
      for (let c = 0; c < 3; c++) data[i * 3 + c] = scalePixelValue(scaling, c, px[p + order[c]]);
    }
  }
  return { shape: [H, W, C], data };
}

/**
 * The picture the heatmap is overlaid on: the same geometry the model saw (pass the card's resize
 * mode so a center-crop matches), opaque because the model ignored alpha too.
 */
export function imageToDisplayRgba(img: RgbaImage, height: number, width: number, resize: CardResize = 'bilinear'): RgbaImage {
  const { data } = toInputSize(img, width, height, resize); // always a fresh copy
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { width, height, data };
}
