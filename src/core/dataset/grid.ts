/**
 * Heatmaps of a run at one fixed small resolution: the input relevance summed over channels, then
 * area-resampled to S×S. Each input pixel's relevance is split among the output cells its square
 * overlaps, in proportion to the overlap, so the total (the input relevance sum that conservation is
 * about) is kept exactly, whether the grid is smaller or larger than the input.
 */

/** weights[o * n + i]: the fraction of input cell i (of n) that falls into output cell o (of s). */
function overlapWeights(n: number, s: number): Float64Array {
  const w = new Float64Array(s * n);
  const step = n / s; // input cells per output cell
  for (let o = 0; o < s; o++) {
    const lo = o * step;
    const hi = (o + 1) * step;
    for (let i = Math.floor(lo); i < Math.min(n, Math.ceil(hi)); i++) {
      const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
      if (overlap > 0) w[o * n + i] = overlap; // input cells are one unit wide
    }
  }
  return w;
}

/** Sum over channels of an HWC array: [H·W]. */
export function channelSum(data: ArrayLike<number>, h: number, w: number, c: number): Float64Array {
  const out = new Float64Array(h * w);
  for (let p = 0; p < h * w; p++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += data[p * c + k];
    out[p] = s;
  }
  return out;
}

/** Area resampling of an h×w map to sh×sw that keeps the total: Σ out = Σ map. */
export function resampleMass(map: ArrayLike<number>, h: number, w: number, sh: number, sw: number): Float64Array {
  const wy = overlapWeights(h, sh);
  const wx = overlapWeights(w, sw);
  // rows first: tmp[y][ox] = Σ_x map[y][x]·wx[ox][x]
  const tmp = new Float64Array(h * sw);
  for (let y = 0; y < h; y++) {
    for (let ox = 0; ox < sw; ox++) {
      let s = 0;
      for (let x = 0; x < w; x++) {
        const k = wx[ox * w + x];
        if (k !== 0) s += map[y * w + x] * k;
      }
      tmp[y * sw + ox] = s;
    }
  }
  const out = new Float64Array(sh * sw);
  for (let oy = 0; oy < sh; oy++) {
    for (let y = 0; y < h; y++) {
      const k = wy[oy * h + y];
      if (k === 0) continue;
      for (let ox = 0; ox < sw; ox++) out[oy * sw + ox] += tmp[y * sw + ox] * k;
    }
  }
  return out;
}

/** The run's heatmap of an HWC relevance: channel sum, area-resampled to size×size, float32. */
export function relevanceGrid(data: ArrayLike<number>, shape: readonly number[], size: number): Float32Array {
  const [h, w, c] = shape;
  return Float32Array.from(resampleMass(channelSum(data, h, w, c), h, w, size, size));
}
