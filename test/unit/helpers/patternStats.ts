/** Comparisons of fitted pattern statistics, shared by the pattern tests. */
import type { PatternStats } from '../../../src/core/patterns/stats';
import { JointMoments } from '../../../src/core/patterns/moments';

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
