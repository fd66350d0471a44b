/**
 * compare-runs: two explain-set runs over the same images (two models, or two versions of one),
 * matched by the image's relative path. Per image: Spearman's rank correlation of the two heatmaps
 * (Pearson correlation of their ranks, ties given their average rank; 1 = same ordering of the
 * cells, 0 = unrelated, −1 = reversed) and whether the top prediction changed. The most changed
 * images are those with the lowest correlation (a changed prediction first on ties).
 */
import { readHeatmap, readManifest, readRecord } from './runFormat';
import { resampleMass } from './grid';
import { LensError } from '../errors';

/** Ranks 1..n, ties averaged. */
export function ranks(a: ArrayLike<number>): Float64Array {
  const n = a.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i] - a[j]);
  const r = new Float64Array(n);
  for (let s = 0; s < n;) {
    let e = s;
    while (e + 1 < n && a[idx[e + 1]] === a[idx[s]]) e++;
    const avg = (s + e) / 2 + 1;
    for (let t = s; t <= e; t++) r[idx[t]] = avg;
    s = e + 1;
  }
  return r;
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i] / n;
    my += y[i] / n;
  }
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  if (sxx === 0 && syy === 0) return 1; // two constant maps order nothing differently
  if (sxx === 0 || syy === 0) return 0;
  return sxy / Math.sqrt(sxx * syy);
}

export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new RangeError('spearman: lengths differ');
  return pearson(ranks(x), ranks(y));
}

export interface ImageComparison {
  rel: string;
  idA: string;
  idB: string;
  label?: number;
  rho: number;
  predictedA: number;
  predictedB: number;
  predictionChanged: boolean;
  /** score of A's top class in B minus in A (when B's top 5 has it; else −score in A) */
  scoreChange: number;
}

export interface RunComparison {
  runA: string;
  runB: string;
  /** heatmaps were compared at size×size */
  size: number;
  compared: number;
  onlyInA: number;
  onlyInB: number;
  meanRho: number;
  medianRho: number;
  minRho: number;
  predictionChanges: number;
  /** lowest rho first */
  images: ImageComparison[];
}

/**
 * `size`: compare the heatmaps area-resampled to size×size (default: the runs' grid); a coarser grid
 * ranks regions instead of single cells, which pixel-level noise of the heatmaps disturbs less.
 */
export function compareRuns(runA: string, runB: string, size?: number): RunComparison {
  const ma = readManifest(runA);
  const mb = readManifest(runB);
  if (ma.grid !== mb.grid) throw new LensError('bad-input', `heatmap grids differ (${ma.grid} vs ${mb.grid}); make both runs with the same --grid`, runB);
  const inB = new Map(mb.images.map((im) => [im.rel, im]));
  const images: ImageComparison[] = [];
  let onlyInA = 0;
  for (const a of ma.images) {
    const b = inB.get(a.rel);
    const ra = readRecord(runA, a.id);
    if (!b) {
      if (ra && !ra.error) onlyInA++;
      continue;
    }
    inB.delete(a.rel);
    const rb = readRecord(runB, b.id);
    if (!ra || ra.error || !rb || rb.error) continue;
    const g = ma.grid;
    const at = (m: Float32Array): ArrayLike<number> => (size && size !== g ? resampleMass(m, g, g, size, size) : m);
    const rho = spearman(at(readHeatmap(runA, a.id, g)), at(readHeatmap(runB, b.id, g)));
    const topA = ra.prediction[0];
    const inBTop = rb.prediction.find((p) => p.class === topA.class);
    images.push({
      rel: a.rel, idA: a.id, idB: b.id, ...(a.label !== undefined ? { label: a.label } : {}), rho,
      predictedA: topA.class, predictedB: rb.prediction[0].class, predictionChanged: topA.class !== rb.prediction[0].class,
      scoreChange: (inBTop?.score ?? 0) - topA.score,
    });
  }
  const onlyInB = [...inB.keys()].filter((rel) => {
    const r = readRecord(runB, inB.get(rel)!.id);
    return r && !r.error;
  }).length;
  if (images.length === 0) throw new LensError('bad-input', `no finished image in common with ${runA}`, runB);
  images.sort((x, y) => x.rho - y.rho || Number(y.predictionChanged) - Number(x.predictionChanged) || (x.rel < y.rel ? -1 : 1));
  const rhos = images.map((c) => c.rho).sort((x, y) => x - y);
  return {
    runA, runB, size: size ?? ma.grid, compared: images.length, onlyInA, onlyInB,
    meanRho: rhos.reduce((s, v) => s + v, 0) / rhos.length,
    medianRho: (rhos[(rhos.length - 1) >> 1] + rhos[rhos.length >> 1]) / 2,
    minRho: rhos[0],
    predictionChanges: images.filter((c) => c.predictionChanged).length,
    images,
  };
}
