/**
 * Patterns from the moments (DESIGN.md, Kindermans et al. 2018), per output neuron k:
 *   linear     a = cov[x, y] / σ²_y
 *   two-regime a₊ = (E₊[xy] − E₊[x]E[y]) / (wᵀE₊[xy] − wᵀE₊[x]E[y])
 * with E₊ over the rows where the neuron's ReLU output is > 0 and E[y] over all rows. Since
 * y = wᵀx, the denominator is E₊[y²] − E₊[y]E[y], computed from the y moments, so a file can be
 * merged without the model. A zero denominator is replaced by 1; a neuron never active gets a₊ = 0.
 */
import { complement, type Moments } from './moments';

/** Rows i0..i1−1 (input index) of the linear pattern, row-major [i1 − i0, k]. */
export function linearPattern(all: Moments, i0 = 0, i1 = all.d): Float32Array {
  const { k } = all;
  const a = new Float32Array((i1 - i0) * k);
  const den = all.cyy.map((v) => (v !== 0 ? v : 1));
  for (let i = i0; i < i1; i++) {
    const row = i * k;
    const out = (i - i0) * k;
    for (let j = 0; j < k; j++) a[out + j] = all.cxy[row + j] / den[j];
  }
  return a;
}

/**
 * Rows i0..i1−1 of a for the rows of `part` (a₊ with the positive regime, a₋ with its complement),
 * E[y] over `all`.
 */
export function regimePattern(all: Moments, part: Moments, i0 = 0, i1 = all.d): Float32Array {
  const { k } = all;
  const a = new Float32Array((i1 - i0) * k);
  const shiftY = new Float64Array(k);
  const den = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const n = part.count[j];
    if (n === 0) continue;
    shiftY[j] = part.my[j] - all.my[j];
    den[j] = part.cyy[j] / n + part.my[j] * shiftY[j];
    if (den[j] === 0) den[j] = 1;
  }
  for (let i = i0; i < i1; i++) {
    const out = (i - i0) * k;
    for (let j = 0; j < k; j++) {
      const n = part.count[j];
      if (n === 0) continue;
      a[out + j] = (part.cxy[i * k + j] / n + part.meanX(i, j) * shiftY[j]) / den[j];
    }
  }
  return a;
}

export function reluPattern(all: Moments, plus: Moments, i0 = 0, i1 = all.d): Float32Array {
  return regimePattern(all, plus, i0, i1);
}

/** a₋, the negative regime's pattern (only for the quality measure of the two-regime estimator). */
export function negativePattern(all: Moments, plus: Moments): Float32Array {
  return regimePattern(all, complement(all, plus));
}
