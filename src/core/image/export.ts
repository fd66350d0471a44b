/**
 * PNG exports at display size: the heatmap resampled onto the photo the user gave, at the photo's own
 * resolution (or a requested size), not at the model's input size. The colour scale is the one of the
 * model-size heatmap (same vmax as the panel), so only the geometry changes.
 */
import type { RgbaImage } from './decode';
import { heatmapFromRelevance, overlayHeatmap, relevanceMap, type HeatmapOptions } from './colormap';
import { resampleMap, resizeRgba } from './resize';
import type { CardResize } from '../card/modelCard';
import { cropRect } from '../image/preprocess';
import { upscaleNearest } from './upscale';

/** Exports of small images (a 28×28 digit) are enlarged by an integer factor to at least this longer side. */
export const MIN_EXPORT_SIDE = 224;

export interface ExportOptions extends HeatmapOptions {
  /** heatmap opacity over the photo (ignored for heatmapOnly) */
  opacity: number;
  /** the coloured heatmap alone, no photo under it */
  heatmapOnly?: boolean;
  /**
   * output size; default: the photo's own (the model's input size for an .npy input), enlarged by the
   * smallest integer factor (nearest neighbour, pixels stay crisp) that reaches MIN_EXPORT_SIDE
   */
  size?: { width: number; height: number };
}

export interface ExportSource {
  /** the photo as decoded, before any resizing */
  image: RgbaImage;
  /** how the model's input was cut from it (center-crop covers only the central region) */
  resize: CardResize;
}


/** The RGBA picture of an export (encode with encodePng). */
export function exportPicture(
  relevance: { shape: number[]; data: Float32Array }, source: ExportSource | undefined, opts: ExportOptions,
): { width: number; height: number; rgba: Uint8ClampedArray } {
  const pic = exportAtSize(relevance, source, opts);
  const side = Math.max(pic.width, pic.height);
  if (opts.size || side >= MIN_EXPORT_SIDE) return pic;
  return upscaleNearest(pic.rgba, pic.width, pic.height, Math.ceil(MIN_EXPORT_SIDE / side));
}

function exportAtSize(
  relevance: { shape: number[]; data: Float32Array }, source: ExportSource | undefined, opts: ExportOptions,
): { width: number; height: number; rgba: Uint8ClampedArray } {
  const [H, W] = relevance.shape;
  const shape = relevance.shape as [number, number, number];
  // the colour scale of the model-size map
  const { vmax } = heatmapFromRelevance(relevance.data, shape, opts);
  const out = opts.size ?? (source ? { width: source.image.width, height: source.image.height } : { width: W, height: H });
  // where the model's input lies in the output: all of it, or the central crop scaled to the output
  let rect = { x: 0, y: 0, width: out.width, height: out.height };
  if (source && source.resize === 'center-crop') {
    const c = cropRect(source.image.width, source.image.height, W, H);
    const sx = out.width / source.image.width;
    const sy = out.height / source.image.height;
    rect = { x: Math.round(c.x * sx), y: Math.round(c.y * sy), width: Math.max(1, Math.round(c.width * sx)), height: Math.max(1, Math.round(c.height * sy)) };
  }
  const map = resampleMap(relevanceMap(relevance.data, shape, opts.polarity), W, H, rect.width, rect.height);
  const region = heatmapFromRelevance(map, [rect.height, rect.width, 1], { ...opts, vmax });
  const heat = new Uint8ClampedArray(out.width * out.height * 4);
  for (let y = 0; y < rect.height; y++) {
    const from = y * rect.width * 4;
    heat.set(region.rgba.subarray(from, from + rect.width * 4), ((rect.y + y) * out.width + rect.x) * 4);
  }
  if (opts.heatmapOnly || !source) {
    // outside a center-crop region: the colour of zero relevance
    const zero = heatmapFromRelevance(new Float32Array(1), [1, 1, 1], { ...opts, vmax: 1 }).rgba;
    for (let i = 0; i < out.width * out.height; i++) if (heat[i * 4 + 3] === 0) heat.set(zero, i * 4);
    return { width: out.width, height: out.height, rgba: heat };
  }
  const base = out.width === source.image.width && out.height === source.image.height ? source.image : resizeRgba(source.image, out.width, out.height, 'bilinear');
  const opaque = { width: base.width, height: base.height, data: new Uint8Array(base.data) };
  for (let i = 3; i < opaque.data.length; i += 4) opaque.data[i] = 255;
  return overlayHeatmap(opaque, { width: out.width, height: out.height, rgba: heat }, opts.opacity);
}
