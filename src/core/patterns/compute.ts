/**
 * Patterns from the moments (DESIGN.md, Kindermans et al. 2018), per output neuron k:
 *   linear     a = cov[x, y] / σ²_y
 *   two-regime a₊ = (E₊[xy] − E₊[x]E[y]) / (wᵀE₊[xy] − wᵀE₊[x]E[y])
 * with E₊ over the rows where the neuron's ReLU output is > 0 and E[y] over all rows. Since
 * y = wᵀx, the denominator is E₊[y²] − E₊[y]E[y], computed from the y moments, so a file can be
 * merged without the model. A zero denominator is replaced by 1; a neuron never active gets a₊ = 0.
 */
import { complement, type Moments } from './moments';

export function linearPattern(all: Moments): Float32Array {
  const { d, k } = all;
  const a = new Float32Array(d * k);
  for (let j = 0; j < k; j++) {
    const den = all.cyy[j] !== 0 ? all.cyy[j] : 1;
    for (let i = 0; i < d; i++) a[i * k + j] = all.cxy[i * k + j] / den;
  }
  return a;
}

/** a for the rows of `part` (a₊ with the positive regime, a₋ with its complement), E[y] over `all`. */
export function regimePattern(all: Moments, part: Moments): Float32Array {
  const { d, k } = all;
  const a = new Float32Array(d * k);
  for (let j = 0; j < k; j++) {
    const n = part.count[j];
    if (n === 0) continue;
    const shiftY = part.my[j] - all.my[j];
    let den = part.cyy[j] / n + part.my[j] * shiftY;
    if (den === 0) den = 1;
    for (let i = 0; i < d; i++) a[i * k + j] = (part.cxy[i * k + j] / n + part.meanX(i, j) * shiftY) / den;
  }
  return a;
}

export function reluPattern(all: Moments, plus: Moments): Float32Array {
  return regimePattern(all, plus);
}

/** a₋, the negative regime's pattern (only for the quality measure of the two-regime estimator). */
export function negativePattern(all: Moments, plus: Moments): Float32Array {
  return regimePattern(all, complement(all, plus));
}
