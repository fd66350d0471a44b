/**
 * The one seeded pseudo-random source of the engine (mulberry32): random orders for pixel flipping,
 * k-means seeding, the subsets and random directions of pattern fitting. The same stream on every
 * backend and platform, so a fixed seed gives the same figures everywhere.
 */

/** Uniform numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniformly random permutation of 0..n−1 (Fisher–Yates). */
export function randomOrder(n: number, seed: number): Int32Array {
  const rnd = seededRandom(seed);
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** n draws of N(0, 1) (Box–Muller; 1 − u keeps the logarithm finite). */
export function gaussianDraws(seed: number, n: number): Float64Array {
  const rnd = seededRandom(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  return out;
}
