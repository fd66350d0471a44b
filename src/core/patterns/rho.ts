/**
 * Signal-estimator quality (Kindermans et al. 2018), on held-out rows:
 *   ρ(S) = 1 − max_v corr(wᵀx, vᵀ(x − S(x))),  v by least squares
 * — a good estimator leaves a distractor d = x − S(x) that tells nothing about the output y = wᵀx.
 * Every estimator compared here has the form S(x) = a₊·y on rows where the neuron's ReLU is on and
 * a₋·y elsewhere (one a for the linear ones), normalised to wᵀa = 1:
 *   relu    S_a₊₋   the two-regime patterns (a₋ from the complement of the positive rows)
 *   linear  S_a     a = cov[x,y]/σ²_y
 *   filter  S_w     a = w/‖w‖²  (what the gradient shows)
 *   random  a = r/(wᵀr), r Gaussian: the chance level
 * and the identity estimator S_x(x) = x, whose distractor is 0: ρ(S_x) = 1 by construction — the
 * measure only sees distractor left in d, not distractor kept in the signal (see patterns info).
 *
 * max_v corr is the least-squares fit of y on d: with d = x − a₊p − a₋q (p = y·M, q = y·(1 − M)),
 * Σ_dd is Σ_xx plus a rank-4 update, so one Cholesky factor of Σ_xx + λI per layer and the Woodbury
 * identity give every neuron and estimator in O(D²). λ = 1e-6·tr(Σ_xx)/D keeps the direction w —
 * along which wᵀd = 0 up to rounding — out of the fit. The in-sample R² is adjusted for the D fitted
 * coefficients, 1 − (1 − R²)(n − 1)/(n − D − 1), so a dense layer with few held-out rows is not
 * flattered by overfitting; a layer with fewer than 2(D + 1) held-out rows is not evaluated.
 */
import type { JointMoments } from './moments';
import { gaussianDraws } from '../seededRandom';

export type EstimatorName = 'relu' | 'linear' | 'filter' | 'identity' | 'random';
export const ESTIMATORS: readonly EstimatorName[] = ['relu', 'linear', 'filter', 'identity', 'random'];

export interface RhoValues {
  /** mean ρ over the evaluated neurons; null where it cannot be estimated (too few rows, not a relu layer) */
  relu: number | null;
  linear: number | null;
  filter: number | null;
  identity: number;
  random: number | null;
  /** neurons evaluated and held-out rows per neuron */
  neurons: number;
  rows: number;
  /** why no neuron was evaluated */
  note?: string;
}

/** In-place Cholesky of a symmetric positive definite n×n matrix (lower triangle). */
function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j];
    const lj = j * n;
    for (let p = 0; p < j; p++) s -= l[lj + p] * l[lj + p];
    if (!(s > 0)) s = 1e-300;
    const djj = Math.sqrt(s);
    l[lj + j] = djj;
    for (let i = j + 1; i < n; i++) {
      const li = i * n;
      let t = a[li + j];
      for (let p = 0; p < j; p++) t -= l[li + p] * l[lj + p];
      l[li + j] = t / djj;
    }
  }
  return l;
}

function cholSolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    const li = i * n;
    for (let p = 0; p < i; p++) s -= l[li + p] * y[p];
    y[i] = s / l[li + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let p = i + 1; p < n; p++) s -= l[p * n + i] * y[p];
    y[i] = s / l[i * n + i];
  }
  return y;
}

/** Dense solve of a small system with partial pivoting. */
function smallSolve(m: number[][], b: number[]): number[] {
  const n = b.length;
  const a = m.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    const piv = a[c][c] || 1e-300;
    for (let r = c + 1; r < n; r++) {
      const f = a[r][c] / piv;
      for (let q = c; q <= n; q++) a[r][q] -= f * a[c][q];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r][n];
    for (let q = r + 1; q < n; q++) s -= a[r][q] * x[q];
    x[r] = s / (a[r][r] || 1e-300);
  }
  return x;
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** a / (wᵀa), or undefined when wᵀa is numerically zero (a dead neuron's pattern). */
function normalise(a: Float64Array, w: Float64Array): Float64Array | undefined {
  const wa = dot(w, a);
  const scale = Math.sqrt(dot(w, w) * dot(a, a));
  if (!(Math.abs(wa) > 1e-9 * scale) || scale === 0) return undefined;
  return a.map((v) => v / wa);
}

export interface RhoInputs {
  regime: 'relu' | 'linear';
  /** the plan's neuron indices and per-group joint moments */
  groups: { neurons: number[]; moments: JointMoments }[];
  /** w of the evaluated neurons: [gd × m] with m = all neurons of the plan, in plan order */
  w: Float64Array;
  planNeurons: number[];
  /** the patterns of the plan's neurons: [gd × m] in plan order, as w */
  linear: Float32Array;
  relu?: Float32Array;
  negative?: Float32Array;
  seed: number;
}

/** ρ of one neuron for the estimators, given its group's factor. */
export function rhoOfLayer(inp: RhoInputs): RhoValues {
  const acc: Record<Exclude<EstimatorName, 'identity'>, number[]> = { relu: [], linear: [], filter: [], random: [] };
  let rows = 0;
  let note: string | undefined;
  const m = inp.planNeurons.length;
  for (const grp of inp.groups) {
    const jm = grp.moments;
    const gd = jm.d;
    const n = jm.n;
    rows = n;
    // fewer rows than twice the regressors: the fit of v is too loose (and a held-out set spanning
    // fewer directions than the fit data lets v read y off the pattern itself)
    if (n < 2 * (gd + 1)) {
      note = `${n} held-out rows < 2·(patch size ${gd} + 1)`;
      continue;
    }
    let tr = 0;
    for (let i = 0; i < gd; i++) tr += jm.cxx[i * gd + i];
    const lambda = Math.max(1e-6 * (tr / gd), 1e-30);
    const a = jm.cxx.slice();
    for (let i = 0; i < gd; i++) a[i * gd + i] += lambda;
    const l = cholesky(a, gd);
    const solve = (b: Float64Array): Float64Array => cholSolve(l, gd, b);
    grp.neurons.forEach((k, jj) => {
      const pi = inp.planNeurons.indexOf(k);
      const col = (arr: Float32Array): Float64Array => {
        const v = new Float64Array(gd);
        for (let i = 0; i < gd; i++) v[i] = arr[i * m + pi];
        return v;
      };
      const w = new Float64Array(gd);
      for (let i = 0; i < gd; i++) w[i] = inp.w[i * m + pi];
      const mm = jm.m;
      const px = new Float64Array(gd);
      const qx = new Float64Array(gd);
      for (let i = 0; i < gd; i++) {
        px[i] = jm.cxp[i * mm + jj];
        qx[i] = jm.cxq[i * mm + jj];
      }
      const spp = jm.cpp[jj];
      const sqq = jm.cqq[jj];
      const spq = jm.cpq[jj];
      const syy = spp + sqq + 2 * spq;
      if (!(syy > 0)) return;
      const spy = spp + spq;
      const sqy = sqq + spq;
      const aipx = solve(px);
      const aiqx = solve(qx);
      const cm = [[spp, -1, spq, 0], [-1, 0, 0, 0], [spq, 0, sqq, -1], [0, 0, -1, 0]];
      const evaluate = (ap: Float64Array, aq: Float64Array): number | null => {
        const aiap = solve(ap);
        const aiaq = aq === ap ? aiap : solve(aq);
        const b = new Float64Array(gd);
        const aib = new Float64Array(gd);
        for (let i = 0; i < gd; i++) {
          b[i] = px[i] + qx[i] - ap[i] * spy - aq[i] * sqy;
          aib[i] = aipx[i] + aiqx[i] - aiap[i] * spy - aiaq[i] * sqy;
        }
        const u = [ap, px, aq, qx];
        const aiu = [aiap, aipx, aiaq, aiqx];
        const s = u.map((ur) => aiu.map((ac) => dot(ur, ac)));
        const t = u.map((ur) => dot(ur, aib));
        const mx = cm.map((row, r) => row.map((_, c) => (r === c ? 1 : 0) + row.reduce((acc2, cv, q) => acc2 + cv * s[q][c], 0)));
        const ct = cm.map((row) => row.reduce((acc2, cv, q) => acc2 + cv * t[q], 0));
        const coef = smallSolve(mx, ct);
        const v = aib.slice();
        for (let q = 0; q < 4; q++) for (let i = 0; i < gd; i++) v[i] -= aiu[q][i] * coef[q];
        const vb = dot(v, b);
        const vdd = vb - lambda * dot(v, v);
        if (!(vdd > 0)) return 1;
        const r2 = Math.min(1, (vb * vb) / (vdd * syy));
        const adj = 1 - ((1 - r2) * (n - 1)) / (n - gd - 1);
        return 1 - Math.sqrt(Math.max(0, adj));
      };
      const push = (name: keyof typeof acc, ap?: Float64Array, aq?: Float64Array): void => {
        if (!ap || !aq) return;
        const r = evaluate(ap, aq);
        if (r !== null) acc[name].push(r);
      };
      const lin = normalise(col(inp.linear), w);
      push('linear', lin, lin);
      if (inp.regime === 'relu' && inp.relu && inp.negative) {
        const ap = normalise(col(inp.relu), w);
        const an = normalise(col(inp.negative), w);
        // a regime with no rows has no pattern: its rows (none) do not matter, use the other
        push('relu', ap ?? an, an ?? ap);
      }
      const ww = dot(w, w);
      if (ww > 0) {
        const f = w.map((v) => v / ww);
        push('filter', f, f);
      }
      const r = normalise(gaussianDraws(inp.seed * 7919 + k + 1, gd), w);
      push('random', r, r);
    });
  }
  const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((a2, b2) => a2 + b2, 0) / xs.length : null);
  return {
    relu: inp.regime === 'relu' ? mean(acc.relu) : null,
    linear: mean(acc.linear),
    filter: mean(acc.filter),
    identity: 1,
    random: mean(acc.random),
    neurons: acc.linear.length,
    rows,
    ...(acc.linear.length === 0 ? { note: note ?? 'no neuron with a usable pattern' } : {}),
  };
}
