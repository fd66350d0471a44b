/** Integer nearest-neighbour upscaling, so a 28×28 heatmap is readable without smoothing it. */
export function upscaleNearest(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, k: number): { rgba: Uint8ClampedArray; width: number; height: number } {
  const W = width * k;
  const H = height * k;
  const out = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++) {
    const sy = Math.floor(y / k);
    for (let x = 0; x < W; x++) {
      const s = (sy * width + Math.floor(x / k)) * 4;
      const d = (y * W + x) * 4;
      out[d] = rgba[s];
      out[d + 1] = rgba[s + 1];
      out[d + 2] = rgba[s + 2];
      out[d + 3] = rgba[s + 3];
    }
  }
  return { rgba: out, width: W, height: H };
}
