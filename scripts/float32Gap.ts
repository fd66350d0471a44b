/** What the real-model scripts (zoo, backendGap) measure a backend gap with, and against. */

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Every value times 1 ± 2⁻²⁴ (seeded signs): the input as another float32 rounding of the same numbers could have left it. */
export function oneRounding(x: Float32Array): Float32Array {
  let seed = 7;
  return Float32Array.from(x, (v) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return v * (1 + (seed < 2 ** 30 ? -1 : 1) * 2 ** -24);
  });
}
