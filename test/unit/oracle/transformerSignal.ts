/**
 * The gradient-type backward pass of the oracle's transformer block (oracle/transformer.ts) in float64
 * loops: the vector-Jacobian product of each op written from its derivative — LayerNorm's full one (σ
 * depends on x), softmax's, both factors of Q·Kᵀ and A·V, GELU's Φ(x) + xφ(x) — with each dense layer's
 * transposed map taking a kernel of the caller's choice: W (the gradient), the pattern A (PatternNet) or
 * W∘A (PatternAttribution; Kindermans et al. 2018). Started from `start` at the target logit, as the
 * pattern methods start from the logit's value. Faults for the mutation tests.
 */
import type { BlockWeights, Forward, Mat } from './transformer';

export type DenseName = 'wq' | 'wk' | 'wv' | 'wo' | 'w1' | 'w2' | 'wh';
export type SignalFault = 'ln-no-variance-term' | 'softmax-no-centering' | 'gelu-as-relu-mask';

const zeros = (m: Mat): Mat => m.map((r) => r.map(() => 0));
const add = (a: Mat, b: Mat): Mat => a.map((r, t) => r.map((v, i) => v + b[t][i]));

/** gx[t][i] = Σ_j k[i][j] gy[t][j]: a dense layer's transposed map with kernel k ([in][out]) */
function back(k: Mat, gy: Mat): Mat {
  return gy.map((row) => k.map((ki) => ki.reduce((s, kij, j) => s + kij * row[j], 0)));
}

/** y = γ ⊙ (x − μ)/σ + β, σ = √(var + ε): gx = (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)) / σ with ĝ = γ ⊙ gy */
function layerNormBack(x: Mat, gamma: number[], eps: number, gy: Mat, fault?: SignalFault): Mat {
  return x.map((row, t) => {
    const D = row.length;
    const mu = row.reduce((a, b) => a + b, 0) / D;
    const sigma = Math.sqrt(row.reduce((a, b) => a + (b - mu) ** 2, 0) / D + eps);
    const xh = row.map((v) => (v - mu) / sigma);
    const gh = gy[t].map((g, i) => g * gamma[i]);
    const m1 = gh.reduce((a, b) => a + b, 0) / D;
    const m2 = fault === 'ln-no-variance-term' ? 0 : gh.reduce((a, g, i) => a + g * xh[i], 0) / D;
    return gh.map((g, i) => (g - m1 - xh[i] * m2) / sigma);
  });
}

const SQRT2PI = Math.sqrt(2 * Math.PI);
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let k = 1; k < 80; k++) {
    term *= (-x * x) / k;
    sum += term / (2 * k + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const geluGrad = (x: number): number => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / SQRT2PI;

/**
 * The signal at the input tokens [T][D] (class token and position embedding take theirs, not returned).
 * `kernel(name)` is the transposed map's kernel of each dense layer, [in][out] as the weights.
 */
export function blockSignal(w: BlockWeights, f: Forward, target: number, start: number, kernel: (name: DenseName) => Mat, fault?: SignalFault): Mat {
  const dh = w.D / w.H;
  const T1 = w.T + 1;
  // head reads the class token's row of ln3
  const gLn3 = zeros(f.ln3.y);
  const kh = kernel('wh');
  for (let i = 0; i < w.D; i++) gLn3[0][i] = kh[i][target] * start;
  const gX3 = layerNormBack(f.x3, w.ln3.g, w.lnEps, gLn3, fault);
  // x3 = x2 + m2, m2 = gelu(m1) W2, m1 = ln2 W1
  const gG = back(kernel('w2'), gX3);
  const gM1 = gG.map((r, t) => r.map((v, j) => v * (fault === 'gelu-as-relu-mask' ? (f.m1[t][j] > 0 ? 1 : 0) : geluGrad(f.m1[t][j]))));
  const gLn2 = back(kernel('w1'), gM1);
  const gX2 = add(gX3, layerNormBack(f.x2, w.ln2.g, w.lnEps, gLn2, fault));
  // x2 = x + o Wo
  const gO = back(kernel('wo'), gX2);
  const gQ = zeros(f.q);
  const gK = zeros(f.k);
  const gV = zeros(f.v);
  for (let h = 0; h < w.H; h++) {
    const A = f.attn[h];
    const col = (t: number, j: number) => h * dh + j;
    // O = A V
    const gA = A.map((r) => r.map(() => 0));
    for (let t = 0; t < T1; t++) for (let u = 0; u < T1; u++) for (let j = 0; j < dh; j++) {
      gA[t][u] += gO[t][col(t, j)] * f.v[u][col(u, j)];
      gV[u][col(u, j)] += A[t][u] * gO[t][col(t, j)];
    }
    // A = softmax(S) by rows
    const gS = A.map((row, t) => {
      const dot = fault === 'softmax-no-centering' ? 0 : row.reduce((s, a, u) => s + a * gA[t][u], 0);
      return row.map((a, u) => a * (gA[t][u] - dot));
    });
    // S = Q Kᵀ
    for (let t = 0; t < T1; t++) for (let u = 0; u < T1; u++) for (let j = 0; j < dh; j++) {
      gQ[t][col(t, j)] += gS[t][u] * f.k[u][col(u, j)];
      gK[u][col(u, j)] += gS[t][u] * f.q[t][col(t, j)];
    }
  }
  const gLn1 = add(add(back(kernel('wq'), gQ), back(kernel('wk'), gK)), back(kernel('wv'), gV));
  const gX = add(gX2, layerNormBack(f.x, w.ln1.g, w.lnEps, gLn1, fault));
  // x = [cls; tokens] + pos: the tokens' rows
  return gX.slice(1);
}
