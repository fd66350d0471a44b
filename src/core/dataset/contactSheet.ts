/**
 * A cluster's contact sheet as one PNG: the first tile is the cluster's average heatmap (framed), the
 * others its members' heatmaps, each scaled to its own max |R| (seismic: red for, blue against), in
 * rows of `columns` tiles on a grey background.
 */
import { heatmapFromRelevance } from '../image/colormap';
import { encodePng } from '../image/png';
import { upscaleNearest } from '../image/upscale';

export function contactSheetPng(mean: ArrayLike<number>, members: Float32Array[], grid: number, opts: { tile?: number; columns?: number } = {}): Buffer {
  const scale = Math.max(1, Math.round((opts.tile ?? 64) / grid));
  const tile = grid * scale;
  const gap = 4;
  const columns = Math.max(1, Math.min(opts.columns ?? 8, members.length + 1));
  const rows = Math.ceil((members.length + 1) / columns);
  const width = columns * (tile + gap) + gap;
  const height = rows * (tile + gap) + gap;
  const out = new Uint8ClampedArray(width * height * 4).fill(96);
  for (let i = 3; i < out.length; i += 4) out[i] = 255;
  const maps = [Float32Array.from(mean), ...members];
  maps.forEach((m, t) => {
    const heat = heatmapFromRelevance(m, [grid, grid, 1], { colormap: 'seismic', scale: 'max' });
    const up = upscaleNearest(heat.rgba, grid, grid, scale);
    const x0 = gap + (t % columns) * (tile + gap);
    const y0 = gap + Math.floor(t / columns) * (tile + gap);
    if (t === 0) {
      // a frame around the average: 2 px of black inside the gap
      for (let y = y0 - 2; y < y0 + tile + 2; y++) {
        for (let x = x0 - 2; x < x0 + tile + 2; x++) {
          const d = (y * width + x) * 4;
          out[d] = out[d + 1] = out[d + 2] = 0;
        }
      }
    }
    for (let y = 0; y < tile; y++) out.set(up.rgba.subarray(y * tile * 4, (y + 1) * tile * 4), ((y0 + y) * width + x0) * 4);
  });
  return encodePng(out, width, height);
}
