/**
 * Relevance at a layer, one small map per channel (strongest |Σ| first). By default every map shares
 * one colour scale, so a channel with Σ −0.009 looks as weak as it is next to one with Σ 2.6; per-map
 * scaling (each map to its own max) is an option. The maps are transparent where the relevance is zero
 * (alpha = |R| / vmax), so weak channels show the panel's background instead of bright white squares.
 */
import { heatmapFromRelevance, percentile, type HeatmapOptions } from './colormap';
import { applyPolarity } from '../../shared/settings';

export interface ChannelMap {
  index: number;
  sum: number;
  /** the |R| at the ends of this map's colour scale (the shared one unless per-map) */
  vmax: number;
  picture: { width: number; height: number; rgba: Uint8ClampedArray };
}

export interface ChannelMaps {
  scale: 'shared' | 'per-map';
  /** the shared scale (max or percentile of |R| over the maps shown) */
  vmax: number;
  channels: ChannelMap[];
  omitted: number;
}

/** `data` is H×W×C (a dense layer's vector is shape [1, N, 1]). */
export function channelMaps(
  data: Float32Array, [H, W, C]: readonly number[], opts: HeatmapOptions, maxChannels: number, perMapScale = false,
): ChannelMaps {
  const sums = new Float64Array(C);
  for (let i = 0; i < data.length; i++) sums[i % C] += data[i];
  const order = Array.from(sums.keys()).sort((a, b) => Math.abs(sums[b]) - Math.abs(sums[a])).slice(0, maxChannels);
  const planes = order.map((c) => {
    const p = new Float32Array(H * W);
    for (let i = 0; i < H * W; i++) p[i] = data[i * C + c];
    return p;
  });
  // the shared scale, by the same rule as one map's (max or percentile of |R|), over all maps shown
  const all = new Float32Array(planes.length * H * W);
  planes.forEach((p, k) => all.set(p.map((v) => (Number.isFinite(v) ? Math.abs(v) : 0)), k * H * W));
  const scale = opts.scale ?? 'max';
  const shared = scale === 'max' ? all.reduce((m, v) => Math.max(m, v), 0) : percentile(all, scale.percentile);
  const channels = planes.map((p, k): ChannelMap => {
    const h = heatmapFromRelevance(p, [H, W, 1], perMapScale ? opts : { ...opts, vmax: shared });
    const denom = h.vmax > 0 ? h.vmax : 1;
    for (let i = 0; i < H * W; i++) {
      const v = Number.isFinite(p[i]) ? p[i] : 0;
      const shown = applyPolarity(v, opts.polarity ?? 'both');
      h.rgba[i * 4 + 3] = Math.round(255 * Math.min(1, Math.abs(shown) / denom));
    }
    return { index: order[k], sum: sums[order[k]], vmax: h.vmax, picture: { width: h.width, height: h.height, rgba: h.rgba } };
  });
  return { scale: perMapScale ? 'per-map' : 'shared', vmax: shared, channels, omitted: C - channels.length };
}
