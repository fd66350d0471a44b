/**
 * Spectral clustering of a few hundred feature vectors (SpRAy's per-class step):
 *  1. affinity: the symmetric k-nearest-neighbour graph (Euclidean), A_ij = 1 if j is among the k
 *     nearest of i or i among those of j;
 *  2. normalised Laplacian L = I − D^−½ A D^−½, all eigenpairs by Jacobi (./eigen);
 *  3. k by the eigengap heuristic: the k ≤ maxK after which the gap λ_{k+1} − λ_k is largest (k = 1,
 *     one cluster, when the first gap is the largest: a graph that does not split);
 *  4. the rows of the first k eigenvectors, normalised to unit length (Ng, Jordan & Weiss 2001), are
 *     clustered by k-means (k-means++ start from a seeded generator, best of several restarts);
 *  5. a 2-D embedding from eigenvectors 2 and 3 scaled by D^−½ (the random-walk Laplacian's).
 */
import { symmetricEigen } from './eigen';
import { seededRandom } from '../seededRandom';

export interface SpectralOptions {
  neighbours: number;
  maxClusters: number;
  seed: number;
}

export interface SpectralResult {
  k: number;
  assignment: Int32Array;
  /** the smallest eigenvalues of L (up to maxClusters + 1), ascending */
  eigenvalues: number[];
  /** λ_{k+1} − λ_k for k = 1..: the eigengaps the choice was made from */
  gaps: number[];
  /** 2-D coordinates, [x0, y0, x1, y1, …] */
  embedding: Float64Array;
}

export function squaredDistances(x: Float64Array[]): Float64Array {
  const n = x.length;
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      const a = x[i];
      const b = x[j];
      for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
      d[i * n + j] = s;
      d[j * n + i] = s;
    }
  }
  return d;
}

/** Symmetric kNN adjacency (0/1), ties broken by index. */
export function knnAffinity(d: Float64Array, n: number, k: number): Float64Array {
  const a = new Float64Array(n * n);
  const kk = Math.min(k, n - 1);
  for (let i = 0; i < n; i++) {
    const order = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).sort((p, q) => d[i * n + p] - d[i * n + q] || p - q);
    for (let t = 0; t < kk; t++) {
      const j = order[t];
      a[i * n + j] = 1;
      a[j * n + i] = 1;
    }
  }
  return a;
}

/** L = I − D^−½ A D^−½ (a vertex without edges keeps a zero row). */
export function normalizedLaplacian(a: Float64Array, n: number): { l: Float64Array; dInvSqrt: Float64Array } {
  const dInvSqrt = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[i * n + j];
    dInvSqrt[i] = s > 0 ? 1 / Math.sqrt(s) : 0;
  }
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) l[i * n + j] = (i === j && dInvSqrt[i] > 0 ? 1 : 0) - dInvSqrt[i] * a[i * n + j] * dInvSqrt[j];
  }
  return { l, dInvSqrt };
}

/** The eigengap choice: k in 1..maxK maximising λ_{k+1} − λ_k (values ascending). */
export function eigengapK(values: ArrayLike<number>, maxK: number): { k: number; gaps: number[] } {
  const gaps: number[] = [];
  for (let k = 1; k <= Math.min(maxK, values.length - 1); k++) gaps.push(values[k] - values[k - 1]);
  let best = 0;
  for (let i = 1; i < gaps.length; i++) if (gaps[i] > gaps[best] + 1e-12) best = i;
  return { k: gaps.length ? best + 1 : 1, gaps };
}

/** k-means with k-means++ seeding; best (least inertia) of `restarts` seeded runs. */
export function kMeans(x: Float64Array[], k: number, seed: number, restarts = 8): Int32Array {
  const n = x.length;
  const dim = x[0]?.length ?? 0;
  const rnd = seededRandom(seed);
  const dist = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < dim; i++) s += (a[i] - b[i]) ** 2;
    return s;
  };
  let best: Int32Array = new Int32Array(n);
  let bestInertia = Infinity;
  for (let r = 0; r < restarts; r++) {
    const centres: Float64Array[] = [Float64Array.from(x[Math.floor(rnd() * n)])];
    while (centres.length < k) {
      const d2 = x.map((p) => Math.min(...centres.map((c) => dist(p, c))));
      const total = d2.reduce((s, v) => s + v, 0);
      let pick = rnd() * total;
      let idx = 0;
      for (; idx < n - 1 && pick >= d2[idx]; idx++) pick -= d2[idx];
      centres.push(Float64Array.from(x[total > 0 ? idx : Math.floor(rnd() * n)]));
    }
    const assign = new Int32Array(n);
    for (let iter = 0; iter < 100; iter++) {
      let moved = iter === 0;
      for (let i = 0; i < n; i++) {
        let c = 0;
        let bd = Infinity;
        for (let j = 0; j < k; j++) {
          const dd = dist(x[i], centres[j]);
          if (dd < bd) {
            bd = dd;
            c = j;
          }
        }
        if (assign[i] !== c) {
          moved = true;
          assign[i] = c;
        }
      }
      for (let j = 0; j < k; j++) {
        const m = new Float64Array(dim);
        let cnt = 0;
        for (let i = 0; i < n; i++) {
          if (assign[i] !== j) continue;
          cnt++;
          for (let t = 0; t < dim; t++) m[t] += x[i][t];
        }
        if (cnt > 0) centres[j] = m.map((v) => v / cnt);
      }
      if (!moved) break;
    }
    let inertia = 0;
    for (let i = 0; i < n; i++) inertia += dist(x[i], centres[assign[i]]);
    if (inertia < bestInertia - 1e-12) {
      bestInertia = inertia;
      best = assign;
    }
  }
  return best;
}

/** Renumbers clusters 0..k−1 by first appearance, dropping empty ones. */
function compact(assign: Int32Array): { assign: Int32Array; k: number } {
  const map = new Map<number, number>();
  const out = new Int32Array(assign.length);
  assign.forEach((c, i) => {
    if (!map.has(c)) map.set(c, map.size);
    out[i] = map.get(c)!;
  });
  return { assign: out, k: map.size };
}

export function spectralCluster(features: Float64Array[], o: SpectralOptions): SpectralResult {
  const n = features.length;
  if (n < 3) return { k: 1, assignment: new Int32Array(n), eigenvalues: [], gaps: [], embedding: new Float64Array(2 * n) };
  const a = knnAffinity(squaredDistances(features), n, o.neighbours);
  const { l, dInvSqrt } = normalizedLaplacian(a, n);
  const eig = symmetricEigen(l, n);
  const { k: kGap, gaps } = eigengapK(eig.values, Math.min(o.maxClusters, n - 1));
  const embedding = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    embedding[2 * i] = eig.vectors[i * n + 1] * dInvSqrt[i];
    embedding[2 * i + 1] = n > 2 ? eig.vectors[i * n + 2] * dInvSqrt[i] : 0;
  }
  let assignment: Int32Array = new Int32Array(n);
  let k = 1;
  if (kGap > 1) {
    const rows = Array.from({ length: n }, (_, i) => {
      const r = Float64Array.from({ length: kGap }, (_, j) => eig.vectors[i * n + j]);
      const norm = Math.hypot(...r);
      return norm > 0 ? r.map((v) => v / norm) : r;
    });
    ({ assign: assignment, k } = compact(kMeans(rows, kGap, o.seed)));
  }
  return { k, assignment, eigenvalues: Array.from(eig.values.slice(0, Math.min(n, o.maxClusters + 1))), gaps, embedding };
}
