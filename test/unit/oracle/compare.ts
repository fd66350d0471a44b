/** Comparisons of engine results with oracle results, and a tally of the largest differences seen. */

export interface Diff {
  maxAbs: number;
  scale: number;
  /** maxAbs / scale (scale = max |reference|) */
  rel: number;
  at: number;
}

export function diff(actual: ArrayLike<number>, reference: ArrayLike<number>): Diff {
  if (actual.length !== reference.length) throw new Error(`length ${actual.length} != ${reference.length}`);
  let maxAbs = 0;
  let scale = 0;
  let at = -1;
  for (let i = 0; i < reference.length; i++) {
    const d = Math.abs(actual[i] - reference[i]);
    if (!(d <= maxAbs)) {
      maxAbs = d;
      at = i;
    }
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  return { maxAbs, scale, rel: scale > 0 ? maxAbs / scale : maxAbs === 0 ? 0 : Infinity, at };
}

export function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/** Largest (or, for 'min' checks, smallest) relative differences per named check, printed at the end of a test file. */
export class Tally {
  private readonly seen = new Map<string, { rel: number; where: string; min: boolean }>();

  add(check: string, rel: number, where: string, mode: 'max' | 'min' = 'max'): void {
    const w = this.seen.get(check);
    const better = !w || Number.isNaN(rel) || (mode === 'max' ? rel > w.rel : rel < w.rel);
    if (better) this.seen.set(check, { rel, where, min: mode === 'min' });
  }

  report(): string {
    return [...this.seen.entries()]
      .map(([k, v]) => `${k}: ${v.min ? 'min' : 'max'} rel diff ${v.rel.toExponential(2)} (${v.where})`).join('\n');
  }
}
