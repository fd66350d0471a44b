/**
 * An independent float64 oracle for one transformer block with a class token (plain arrays, no tfjs):
 * tokens [T, D] + class token, position embedding, LayerNorm, two-head self-attention (Q·Kᵀ, softmax,
 * A·V), output projection, residuals, LayerNorm, MLP with GELU, final LayerNorm, class-token head.
 * Forward and LRP under AttnLRP and CP-LRP written out loop by loop from the papers' formulas
 * (README "Transformers"), with switchable deliberate faults for the mutation tests.
 */
import { seededRandom } from '../../../src/core/seededRandom';

export type Mat = number[][];

export interface BlockWeights {
  T: number; D: number; H: number; F: number; K: number;
  cls: number[]; pos: Mat;
  ln1: { g: number[]; b: number[] }; ln2: { g: number[]; b: number[] }; ln3: { g: number[]; b: number[] };
  wq: Mat; bq: number[]; wk: Mat; bk: number[]; wv: Mat; bv: number[]; wo: Mat; bo: number[];
  w1: Mat; b1: number[]; w2: Mat; b2: number[]; wh: Mat; bh: number[];
  lnEps: number;
}

export type TransformerFault =
  | 'ln-no-centering' | 'softmax-no-taylor-term' | 'matmul-unequal-split' | 'value-rule-to-weights' | 'held-constant-passes'
  | 'gelu-scaled';

export type Composite = 'attn-lrp' | 'cp-lrp';

const EPS = 1e-6;
const stab = (z: number, e = EPS): number => z + (z >= 0 ? e : -e);

export function randomBlock(seed: number): BlockWeights {
  const r = seededRandom(seed);
  const n = (sd: number) => (r() * 2 - 1) * sd * 1.7;
  const mat = (a: number, b: number, sd: number): Mat => Array.from({ length: a }, () => Array.from({ length: b }, () => n(sd)));
  const vec = (a: number, sd: number, mean = 0): number[] => Array.from({ length: a }, () => mean + n(sd));
  const T = 4; const D = 6; const H = 2; const F = 8; const K = 3;
  const ln = () => ({ g: vec(D, 0.3, 1), b: vec(D, 0.2) });
  return {
    T, D, H, F, K, cls: vec(D, 0.5), pos: mat(T + 1, D, 0.3), ln1: ln(), ln2: ln(), ln3: ln(),
    wq: mat(D, D, 0.5), bq: vec(D, 0.1), wk: mat(D, D, 0.5), bk: vec(D, 0.1), wv: mat(D, D, 0.5), bv: vec(D, 0.1),
    wo: mat(D, D, 0.5), bo: vec(D, 0.1), w1: mat(D, F, 0.5), b1: vec(F, 0.1), w2: mat(F, D, 0.5), b2: vec(D, 0.1),
    wh: mat(D, K, 0.5), bh: vec(K, 0.1), lnEps: 1e-5,
  };
}

const erf = (x: number): number => {
  // series (|x| < 3 is all a GELU here needs at 1e-12)
  let term = x; let sum = x;
  for (let k = 1; k < 80; k++) { term *= (-x * x) / k; sum += term / (2 * k + 1); }
  return (2 / Math.sqrt(Math.PI)) * sum;
};
const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));

function linear(x: Mat, w: Mat, b: number[]): Mat {
  return x.map((row) => w[0].map((_, j) => row.reduce((s, v, i) => s + v * w[i][j], b[j])));
}

interface LnState { x: Mat; y: Mat; sigma: number[] }
function layerNorm(x: Mat, p: { g: number[]; b: number[] }, eps: number): LnState {
  const sigma: number[] = [];
  const y = x.map((row) => {
    const mu = row.reduce((a, b) => a + b, 0) / row.length;
    const v = row.reduce((a, b) => a + (b - mu) ** 2, 0) / row.length;
    const s = Math.sqrt(v + eps);
    sigma.push(s);
    return row.map((t, i) => ((t - mu) / s) * p.g[i] + p.b[i]);
  });
  return { x, y, sigma };
}

export interface Forward {
  x0: Mat; x: Mat; ln1: LnState; q: Mat; k: Mat; v: Mat; scores: Mat[]; attn: Mat[]; heads: Mat[]; o: Mat; proj: Mat; x2: Mat;
  ln2: LnState; m1: Mat; g: Mat; m2: Mat; x3: Mat; ln3: LnState; logits: number[];
}

/** tokens: [T][D] (the graph's input [1, T, D]) */
export function blockForward(w: BlockWeights, tokens: Mat): Forward {
  const x0 = [w.cls.slice(), ...tokens.map((r) => r.slice())];
  const x = x0.map((r, t) => r.map((v, i) => v + w.pos[t][i]));
  const ln1 = layerNorm(x, w.ln1, w.lnEps);
  const q = linear(ln1.y, w.wq, w.bq);
  const k = linear(ln1.y, w.wk, w.bk);
  const v = linear(ln1.y, w.wv, w.bv);
  const dh = w.D / w.H;
  const scores: Mat[] = []; const attn: Mat[] = []; const heads: Mat[] = [];
  for (let h = 0; h < w.H; h++) {
    const c = (m: Mat) => m.map((r) => r.slice(h * dh, (h + 1) * dh));
    const [qh, kh, vh] = [c(q), c(k), c(v)];
    const s = qh.map((qr) => kh.map((kr) => qr.reduce((a, t, i) => a + t * kr[i], 0)));
    const a = s.map((row) => {
      const mx = Math.max(...row);
      const e = row.map((t) => Math.exp(t - mx));
      const z = e.reduce((p, t) => p + t, 0);
      return e.map((t) => t / z);
    });
    scores.push(s); attn.push(a);
    heads.push(a.map((ar) => vh[0].map((_, j) => ar.reduce((p, t, i) => p + t * vh[i][j], 0))));
  }
  const o = x.map((_, t) => heads.flatMap((hm) => hm[t]));
  const proj = linear(o, w.wo, w.bo);
  const x2 = x.map((r, t) => r.map((val, i) => val + proj[t][i]));
  const ln2 = layerNorm(x2, w.ln2, w.lnEps);
  const m1 = linear(ln2.y, w.w1, w.b1);
  const g = m1.map((r) => r.map(gelu));
  const m2 = linear(g, w.w2, w.b2);
  const x3 = x2.map((r, t) => r.map((val, i) => val + m2[t][i]));
  const ln3 = layerNorm(x3, w.ln3, w.lnEps);
  const logits = linear([ln3.y[0]], w.wh, w.bh)[0];
  return { x0, x, ln1, q, k, v, scores, attn, heads, o, proj, x2, ln2, m1, g, m2, x3, ln3, logits };
}

/** ε-rule of a dense layer: R_in[t][i] = x[t][i] Σ_j w_ij R[t][j] / stab(z[t][j]) */
function epsLinear(x: Mat, w: Mat, z: Mat, r: Mat): Mat {
  return x.map((row, t) => row.map((xi, i) => xi * w[i].reduce((a, wij, j) => a + (wij * r[t][j]) / stab(z[t][j]), 0)));
}

/** z-rule of a sum a + b (stabilizer only) */
function addRule(a: Mat, b: Mat, r: Mat): [Mat, Mat] {
  const ra = a.map((row, t) => row.map((v, i) => (v * r[t][i]) / stab(v + b[t][i])));
  const rb = b.map((row, t) => row.map((v, i) => (v * r[t][i]) / stab(a[t][i] + v)));
  return [ra, rb];
}

/** LayerNorm with σ constant: y_i = Σ_j W_ij x_j + β_i, W_ij = γ_i (δ_ij − 1/D)/σ; ε-rule. */
function lnRule(s: LnState, p: { g: number[]; b: number[] }, r: Mat, fault?: TransformerFault): Mat {
  return s.x.map((row, t) => {
    const D = row.length;
    return row.map((xj, j) => {
      let acc = 0;
      for (let i = 0; i < D; i++) {
        const wij = (p.g[i] * ((i === j ? 1 : 0) - (fault === 'ln-no-centering' ? 0 : 1 / D))) / s.sigma[t];
        acc += (wij * r[t][i]) / stab(s.y[t][i]);
      }
      return xj * acc;
    });
  });
}

export interface OracleRelevance {
  /** relevance at the input tokens [T][D] */
  input: Mat;
  /** what each absorbing part took: class token, position embedding */
  cls: number; pos: number;
  logit: number;
}

export function blockLrp(
  w: BlockWeights, f: Forward, target: number, comp: Composite, fault?: TransformerFault, opts: { softmaxHeld?: boolean } = {},
): OracleRelevance {
  const T1 = w.T + 1;
  const dh = w.D / w.H;
  // head: only the class token row carries relevance
  const rHead = f.ln3.y.map(() => new Array(w.D).fill(0));
  const z = f.logits;
  for (let i = 0; i < w.D; i++) rHead[0][i] = f.ln3.y[0][i] * (w.wh[i][target] * z[target]) / stab(z[target]);
  const rX3 = lnRule(f.ln3, w.ln3, rHead, fault);
  const [rX2a, rM2] = addRule(f.x2, f.m2, rX3);
  const rG = epsLinear(f.g, w.w2, f.m2, rM2);
  const rM1 = fault === 'gelu-scaled' ? rG.map((r) => r.map((v) => v * 0.9)) : rG; // GELU passes
  const rLn2 = epsLinear(f.ln2.y, w.w1, f.m1, rM1);
  const rX2b = lnRule(f.ln2, w.ln2, rLn2, fault);
  const rX2 = rX2a.map((r, t) => r.map((v, i) => v + rX2b[t][i]));
  const [rXa, rProj] = addRule(f.x, f.proj, rX2);
  const rO = epsLinear(f.o, w.wo, f.proj, rProj);
  const rQ = f.q.map((r) => r.map(() => 0));
  const rK = f.k.map((r) => r.map(() => 0));
  const rV = f.v.map((r) => r.map(() => 0));
  for (let h = 0; h < w.H; h++) {
    const c = (m: Mat) => m.map((r) => r.slice(h * dh, (h + 1) * dh));
    const [qh, kh, vh] = [c(f.q), c(f.k), c(f.v)];
    const A = f.attn[h]; const S = f.scores[h]; const O = f.heads[h];
    const rOh = c(rO);
    // A·V: s = R/stab(O)
    const rA = A.map((r) => r.map(() => 0));
    for (let t = 0; t < T1; t++) for (let u = 0; u < T1; u++) for (let j = 0; j < dh; j++) {
      const term = (A[t][u] * vh[u][j] * rOh[t][j]) / stab(O[t][j]);
      if (comp === 'attn-lrp') {
        const share = fault === 'matmul-unequal-split' ? 0.6 : 0.5;
        rA[t][u] += share * term;
        rV[u][h * dh + j] += (1 - share) * term;
      } else if (fault === 'value-rule-to-weights') {
        rA[t][u] += term;
      } else {
        rV[u][h * dh + j] += term;
      }
    }
    // softmax
    let rS: Mat;
    if (opts.softmaxHeld) {
      rS = fault === 'held-constant-passes' ? rA : S.map((r) => r.map(() => 0));
    } else if (comp === 'attn-lrp') {
      rS = S.map((row, t) => {
        const tot = rA[t].reduce((a, b) => a + b, 0);
        return row.map((sv, u) => sv * (rA[t][u] - (fault === 'softmax-no-taylor-term' ? 0 : A[t][u] * tot)));
      });
    } else {
      rS = fault === 'held-constant-passes' ? rA : S.map((r) => r.map(() => 0));
    }
    // Q·Kᵀ: uniform under attn-lrp; under cp-lrp the softmax passed nothing, so any rule gives 0 — the engine's bilinear-value
    for (let t = 0; t < T1; t++) for (let u = 0; u < T1; u++) for (let j = 0; j < dh; j++) {
      const term = (qh[t][j] * kh[u][j] * rS[t][u]) / stab(S[t][u]);
      if (comp === 'attn-lrp') {
        rQ[t][h * dh + j] += 0.5 * term;
        rK[u][h * dh + j] += 0.5 * term;
      } else {
        rK[u][h * dh + j] += term;
      }
    }
  }
  const rLn1 = [epsLinear(f.ln1.y, w.wq, f.q, rQ), epsLinear(f.ln1.y, w.wk, f.k, rK), epsLinear(f.ln1.y, w.wv, f.v, rV)]
    .reduce((acc, m) => acc.map((r, t) => r.map((v, i) => v + m[t][i])));
  const rXb = lnRule(f.ln1, w.ln1, rLn1, fault);
  const rX = rXa.map((r, t) => r.map((v, i) => v + rXb[t][i]));
  // x = x0 + pos: the position embedding absorbs its share, then the class token its row
  const posM = f.x.map((r, t) => r.map((_, i) => w.pos[t][i]));
  const [rX0, rPos] = addRule(f.x0, posM, rX);
  return {
    input: rX0.slice(1), cls: rX0[0].reduce((a, b) => a + b, 0),
    pos: rPos.flat().reduce((a, b) => a + b, 0), logit: z[target],
  };
}
