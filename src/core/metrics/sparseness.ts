/**
 * Sparseness of a heatmap: the Gini index of |R| (Hurley & Rickard 2009; used for attributions by
 * Chalasani et al. 2020). 0 when all pixels carry the same |R|, → 1 when one pixel carries all of it.
 */

/** Gini index of the absolute values: 1 − 2 Σ_k (c_(k) / ‖c‖₁) · (n − k + ½) / n, c sorted ascending. */
export function gini(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  const a = Float64Array.from({ length: n }, (_, i) => Math.abs(values[i]));
  a.sort();
  let total = 0;
  for (let i = 0; i < n; i++) total += a[i];
  if (!(total > 0)) return 0;
  let s = 0;
  for (let k = 1; k <= n; k++) s += (a[k - 1] / total) * ((n - k + 0.5) / n);
  return 1 - 2 * s;
}

/** The heatmap the user sees: relevance summed over channels per pixel (HWC in, H·W out). */
export function pixelRelevance(relevance: ArrayLike<number>, channels: number): Float64Array {
  const out = new Float64Array(Math.floor(relevance.length / channels));
  for (let i = 0; i < out.length; i++) {
    let v = 0;
    for (let c = 0; c < channels; c++) v += relevance[i * channels + c];
    out[i] = v;
  }
  return out;
}

/** Gini index of the per-pixel heatmap |Σ_c R|. */
export function heatmapGini(relevance: ArrayLike<number>, channels: number): number {
  return gini(pixelRelevance(relevance, channels));
}
