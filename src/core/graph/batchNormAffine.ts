/** A BatchNorm node's arithmetic, apart from canonize.ts so the executors need not import the op table through it. */
import type { Node } from './ir';

/** Per-channel scale and shift of a BatchNorm node: y = x * scale + shift. */
export function batchNormAffine(n: Node): { scale: Float32Array; shift: Float32Array } {
  const { mean, variance, gamma, beta } = n.params;
  const c = mean!.data.length;
  const eps = n.attrs.epsilon ?? 1e-3;
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    // float64 arithmetic, then one rounding: keeps the folded model within 1e-5 of the original.
    const s = (gamma ? gamma.data[i] : 1) / Math.sqrt(variance!.data[i] + eps);
    scale[i] = s;
    shift[i] = (beta ? beta.data[i] : 0) - mean!.data[i] * s;
  }
  return { scale, shift };
}
