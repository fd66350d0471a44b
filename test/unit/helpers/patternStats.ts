/** Comparisons of fitted pattern statistics, shared by the pattern tests. */
import type { PatternStats } from '../../../src/core/patterns/stats';
import { JointMoments, Moments } from '../../../src/core/patterns/moments';

/** max |a − b| relative to max |b| (absolute when b is all zero). */
export function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s === 0 ? m : m / s;
}

/** The largest relative difference over every moment of every layer (both regimes, the ρ groups). */
export function worstStatsDifference(a: PatternStats, b: PatternStats): number {
  let worst = 0;
  a.layers.forEach((la, i) => {
    const lb = b.layers[i];
    for (const f of ['count', 'my', 'cyy', 'mx', 'cxy'] as const) {
      worst = Math.max(worst, maxRel(la.all[f], lb.all[f]));
      if (la.plus) worst = Math.max(worst, maxRel(la.plus[f], lb.plus![f]));
    }
    worst = Math.max(worst, maxRel(la.linear!, lb.linear!));
    if (la.relu) worst = Math.max(worst, maxRel(la.relu, lb.relu!));
    la.rho?.groups.forEach((g, gi) => {
      for (const f of JointMoments.FIELDS) worst = Math.max(worst, maxRel(g.moments[f], lb.rho!.groups[gi].moments[f]));
    });
  });
  return worst;
}

/** Count, means and centred co-moments of rows x against outputs y (masked rows only, per neuron, with a mask), in float64 loops. */
export function directMoments(x: number[][], y: number[][], mask: number[][] | undefined): { n: number[]; mx: number[][]; my: number[]; cxy: number[][]; cyy: number[] } {
  const d = x[0].length;
  const k = y[0].length;
  const n = new Array<number>(k).fill(0);
  const mx = Array.from({ length: d }, () => new Array<number>(k).fill(0));
  const my = new Array<number>(k).fill(0);
  for (let r = 0; r < x.length; r++) {
    for (let j = 0; j < k; j++) {
      if (mask && !mask[r][j]) continue;
      n[j]++;
      my[j] += y[r][j];
      for (let i = 0; i < d; i++) mx[i][j] += x[r][i];
    }
  }
  for (let j = 0; j < k; j++) {
    my[j] /= n[j] || 1;
    for (let i = 0; i < d; i++) mx[i][j] /= n[j] || 1;
  }
  const cxy = Array.from({ length: d }, () => new Array<number>(k).fill(0));
  const cyy = new Array<number>(k).fill(0);
  for (let r = 0; r < x.length; r++) {
    for (let j = 0; j < k; j++) {
      if (mask && !mask[r][j]) continue;
      cyy[j] += (y[r][j] - my[j]) ** 2;
      for (let i = 0; i < d; i++) cxy[i][j] += (x[r][i] - mx[i][j]) * (y[r][j] - my[j]);
    }
  }
  return { n, mx, my, cxy, cyy };
}

/** The same as the engine's Moments (a shared input mean without a mask). */
export function momentsOf(x: number[][], y: number[][], mask: number[][] | undefined): Moments {
  const dm = directMoments(x, y, mask);
  const d = x[0].length;
  const k = y[0].length;
  const m = new Moments(d, k, !mask);
  for (let j = 0; j < k; j++) {
    m.count[j] = dm.n[j];
    m.my[j] = dm.my[j];
    m.cyy[j] = dm.cyy[j];
    for (let i = 0; i < d; i++) {
      if (mask) m.mx[i * k + j] = dm.mx[i][j];
      else m.mx[i] = dm.mx[i][0];
      m.cxy[i * k + j] = dm.cxy[i][j];
    }
  }
  return m;
}
