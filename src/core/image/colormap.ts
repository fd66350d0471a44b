/**
 * Relevance -> colours. One function serves the CLI (PNG) and the webview (RGBA bytes), so both show
 * the same picture. Maps are diverging and centred at zero; scaling is symmetric (one v for both signs)
 * so equal |R| gets equal colour strength whatever the sign.
 */
import type { RgbaImage } from './decode';
import { applyPolarity, COLORMAPS as COLORMAP_LIST, type Colormap, type Polarity } from '../../shared/settings';

/** The names are the shared list (the setting's and the panel's); the stops below are keyed by it. */
export type ColormapName = Colormap;
export type HeatmapScale = 'max' | { percentile: number };
export type { Polarity };

export interface HeatmapOptions {
  colormap: ColormapName;
  /** v = max |R| (default), or the p-th percentile of |R| (outliers clipped to ±v). */
  scale?: HeatmapScale;
  polarity?: Polarity;
  /** A fixed |R| at the colormap's ends instead of `scale` (maps shown side by side on one scale). */
  vmax?: number;
}

export interface Heatmap {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
  /** The |R| that maps to the ends of the colormap (0 for an all-zero map). */
  vmax: number;
}

type Rgb = [number, number, number];

/** Evenly spaced control colours (0..1) from t = -1 to t = +1; the middle one is the colour of zero. */
const COLORMAPS: Record<ColormapName, Rgb[]> = {
  // matplotlib's seismic: dark blue, blue, white, red, dark red.
  seismic: [[0, 0, 0.3], [0, 0, 1], [1, 1, 1], [1, 0, 0], [0.5, 0, 0]],
  bwr: [[0, 0, 1], [1, 1, 1], [1, 0, 0]],
  // black at zero so weak relevance disappears into the background (iNNvestigate / Zennit style).
  coldnhot: [[0, 1, 1], [0, 0, 1], [0, 0, 0], [1, 0, 0], [1, 1, 0]],
  // signed grey: negative darker, positive lighter than mid-grey.
  gray: [[0, 0, 0], [0.5, 0.5, 0.5], [1, 1, 1]],
  // |R| only: black at zero, white at ±v.
  'gray-abs': [[1, 1, 1], [0, 0, 0], [1, 1, 1]],
};

export const COLORMAP_NAMES: readonly ColormapName[] = COLORMAP_LIST;

/**
 * Colour (0..255) at t in [-1, 1]; NaN is treated as 0. Interpolation walks outward from the centre
 * stop with |t|, so +t and -t use identical arithmetic and mirror maps stay exactly mirrored.
 */
export function colormapAt(name: ColormapName, t: number): Rgb {
  const stops = COLORMAPS[name];
  const mid = (stops.length - 1) / 2; // every map has an odd number of stops
  const tc = Number.isNaN(t) ? 0 : Math.max(-1, Math.min(1, t));
  const d = Math.abs(tc) * mid;
  const k = Math.min(Math.floor(d), mid - 1);
  const f = d - k;
  const dir = tc < 0 ? -1 : 1;
  const a = stops[mid + dir * k];
  const b = stops[mid + dir * (k + 1)];
  return [0, 1, 2].map((c) => Math.round(255 * (a[c] + f * (b[c] - a[c])))) as Rgb;
}

/** p-th percentile (0 < p <= 100) with linear interpolation between order statistics, like numpy. */
export function percentile(values: Float32Array | number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Sum over channels, then the polarity (the sign not asked for dropped, or |Σ|); non-finite sums count
 * as 0. The heatmap and the PNG export read relevance through this one function.
 */
export function relevanceMap(rel: Float32Array, [H, W, C]: readonly number[], polarity: Polarity = 'both'): Float32Array {
  if (rel.length !== H * W * C) throw new RangeError(`heatmap: ${rel.length} values do not match shape [${H}, ${W}, ${C}]`);
  const map = new Float32Array(H * W);
  for (let i = 0; i < H * W; i++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += rel[i * C + c];
    map[i] = Number.isFinite(s) ? applyPolarity(s, polarity) : 0;
  }
  return map;
}

export function heatmapFromRelevance(rel: Float32Array, shape: readonly [number, number, number], opts: HeatmapOptions): Heatmap {
  const [H, W] = shape;
  const map = relevanceMap(rel, shape, opts.polarity ?? 'both');
  const abs = map.map(Math.abs);
  const scale = opts.scale ?? 'max';
  let vmax = 0;
  if (opts.vmax !== undefined) vmax = opts.vmax;
  else if (scale === 'max') {
    for (const a of abs) vmax = Math.max(vmax, a);
  } else {
    vmax = percentile(abs, scale.percentile);
  }
  const denom = vmax > 0 ? vmax : 1; // all-zero map: every pixel gets the centre colour, no NaN
  const rgba = new Uint8ClampedArray(H * W * 4);
  for (let i = 0; i < H * W; i++) {
    const [r, g, b] = colormapAt(opts.colormap, map[i] / denom);
    rgba[i * 4] = r;
    rgba[i * 4 + 1] = g;
    rgba[i * 4 + 2] = b;
    rgba[i * 4 + 3] = 255;
  }
  return { width: W, height: H, rgba, vmax };
}

/** Alpha blend: out = base·(1−a) + heat·a with a = opacity · heat alpha; the result is opaque. */
export function overlayHeatmap(
  base: RgbaImage,
  heat: { width: number; height: number; rgba: Uint8ClampedArray | Uint8Array },
  opacity: number,
): { width: number; height: number; rgba: Uint8ClampedArray } {
  if (base.width !== heat.width || base.height !== heat.height) {
    throw new RangeError(`overlay: image ${base.width}x${base.height} and heatmap ${heat.width}x${heat.height} differ`);
  }
  const op = Math.max(0, Math.min(1, Number.isFinite(opacity) ? opacity : 1));
  const n = base.width * base.height;
  const rgba = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const a = (op * heat.rgba[i * 4 + 3]) / 255;
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = Math.round(base.data[i * 4 + c] * (1 - a) + heat.rgba[i * 4 + c] * a);
    rgba[i * 4 + 3] = 255;
  }
  return { width: base.width, height: base.height, rgba };
}
