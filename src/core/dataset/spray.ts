/**
 * SpRAy (Spectral Relevance Analysis, Lapuschkin et al. 2019) on an explain-set run: per class, the
 * heatmaps are downsized (area resampling, ./grid) and normalised to unit Σ|R|, clustered spectrally
 * (./spectral: kNN graph, normalised Laplacian, eigengap for k) and embedded in 2-D. A class with more
 * than `maxPerClass` images is clustered on a seeded sample of that many; every other image joins the
 * cluster of its nearest sampled image and takes its coordinates. Clusters are ranked by how unusual
 * they are: unusualness = (1 − size / class size) · ½‖μ_cluster − μ_rest‖₁, with μ the mean normalised
 * heatmap of the cluster and of the rest of its class (½‖·‖₁ of unit-L1 maps lies in [0, 1]): a small
 * cluster whose relevance sits elsewhere than its class's ranks first; a class that does not split has
 * one cluster of unusualness 0.
 */
import { resampleMass } from './grid';
import { readHeatmap, readManifest, readRecord, type RunManifest } from './runFormat';
import { spectralCluster } from './spectral';
import { randomOrder } from '../seededRandom';
import type { ClusterFacts } from '../../shared/datasetProtocol';

export interface SprayOptions {
  /** per-image features: heatmaps area-resampled to size×size (default 16) */
  size: number;
  neighbours: number;
  maxClusters: number;
  maxPerClass: number;
  seed: number;
  /** cluster images by their predicted class (default) or by the class the list gave */
  by: 'predicted' | 'label';
}

export const DEFAULT_SPRAY: SprayOptions = { size: 16, neighbours: 10, maxClusters: 8, maxPerClass: 400, seed: 1, by: 'predicted' };

export interface SprayMember {
  id: string;
  rel: string;
  x: number;
  y: number;
}

export interface SprayCluster extends ClusterFacts {
  /** mean of the members' unit-L1 heatmaps at the run's grid resolution, row-major */
  mean: number[];
  members: SprayMember[];
}

export interface SprayClass {
  class: number;
  label?: string;
  count: number;
  clustered: number;
  k: number;
  eigenvalues: number[];
  gaps: number[];
}

export interface SprayResult {
  run: string;
  grid: number;
  options: SprayOptions;
  classes: SprayClass[];
  /** all clusters, most unusual first */
  clusters: SprayCluster[];
}

function l1Normalised(a: ArrayLike<number>): Float64Array {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]);
  return Float64Array.from(a, (v) => (s > 0 ? v / s : 0));
}

function meanOf(maps: Float64Array[], len: number): Float64Array {
  const m = new Float64Array(len);
  for (const a of maps) for (let i = 0; i < len; i++) m[i] += a[i] / maps.length;
  return m;
}

export function spray(runDir: string, options: Partial<SprayOptions> = {}): SprayResult {
  const o: SprayOptions = { ...DEFAULT_SPRAY, ...options };
  const manifest: RunManifest = readManifest(runDir);
  const g = manifest.grid;
  // per class: ids and grid heatmaps (unit L1); 10,000 × 32² float64 ≈ 80 MB at most
  const groups = new Map<number, { id: string; rel: string; map: Float64Array }[]>();
  for (const im of manifest.images) {
    const r = readRecord(runDir, im.id);
    if (!r || r.error) continue;
    const cls = o.by === 'label' ? im.label : r.prediction[0].class;
    if (cls === undefined) continue;
    const map = l1Normalised(readHeatmap(runDir, im.id, g));
    if (!groups.has(cls)) groups.set(cls, []);
    groups.get(cls)!.push({ id: im.id, rel: im.rel, map });
  }
  const classes: SprayClass[] = [];
  const clusters: SprayCluster[] = [];
  for (const cls of [...groups.keys()].sort((a, b) => a - b)) {
    const items = groups.get(cls)!;
    const n = items.length;
    const features = items.map((it) => l1Normalised(resampleMass(it.map, g, g, o.size, o.size)));
    // the sample that is clustered (all when small enough)
    let sample = items.map((_, i) => i);
    if (n > o.maxPerClass) {
      sample = Array.from(randomOrder(n, o.seed ^ (cls * 0x9e3779b1)).slice(0, o.maxPerClass)).sort((a, b) => a - b);
    }
    const sc = spectralCluster(sample.map((i) => features[i]), { neighbours: o.neighbours, maxClusters: o.maxClusters, seed: o.seed });
    const assign = new Int32Array(n).fill(-1);
    const xy = new Float64Array(2 * n);
    sample.forEach((i, s) => {
      assign[i] = sc.assignment[s];
      xy[2 * i] = sc.embedding[2 * s];
      xy[2 * i + 1] = sc.embedding[2 * s + 1];
    });
    if (sample.length < n) {
      for (let i = 0; i < n; i++) {
        if (assign[i] >= 0) continue;
        let best = sample[0];
        let bd = Infinity;
        for (const s of sample) {
          let d = 0;
          for (let t = 0; t < features[i].length; t++) d += (features[i][t] - features[s][t]) ** 2;
          if (d < bd) {
            bd = d;
            best = s;
          }
        }
        assign[i] = assign[best];
        xy[2 * i] = xy[2 * best];
        xy[2 * i + 1] = xy[2 * best + 1];
      }
    }
    const label = manifest.labels?.[cls];
    classes.push({ class: cls, ...(label !== undefined ? { label } : {}), count: n, clustered: sample.length, k: sc.k, eigenvalues: sc.eigenvalues, gaps: sc.gaps });
    for (let c = 0; c < sc.k; c++) {
      const inside = items.filter((_, i) => assign[i] === c);
      const rest = items.filter((_, i) => assign[i] !== c);
      const mean = meanOf(inside.map((it) => it.map), g * g);
      let unusualness = 0;
      if (rest.length > 0) {
        const restMean = meanOf(rest.map((it) => it.map), g * g);
        let d = 0;
        for (let t = 0; t < g * g; t++) d += Math.abs(mean[t] - restMean[t]);
        unusualness = (1 - inside.length / n) * 0.5 * d;
      }
      clusters.push({
        class: cls, ...(label !== undefined ? { label } : {}), cluster: c, size: inside.length, fraction: inside.length / n, unusualness,
        mean: Array.from(mean),
        members: items.map((it, i) => ({ it, i })).filter(({ i }) => assign[i] === c).map(({ it, i }) => ({ id: it.id, rel: it.rel, x: xy[2 * i], y: xy[2 * i + 1] })),
      });
    }
  }
  clusters.sort((a, b) => b.unusualness - a.unusualness || a.class - b.class || a.cluster - b.cluster);
  return { run: runDir, grid: g, options: o, classes, clusters };
}
