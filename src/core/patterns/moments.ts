/**
 * Mergeable, count-weighted statistics for PatternNet, in float64. A batch's moments are computed as
 * tensor ops (float32, centred at the batch means so nothing cancels) and merged here with Chan's
 * parallel formula: merging is exact up to float64 rounding, so fitting two halves of a dataset and
 * merging their files equals one fit over both.
 *
 * Moments (per output neuron k of a layer, over the rows where k's mask is 1):
 *   count[k], my[k] = mean y_k, cyy[k] = Σ (y_k − my_k)²,
 *   mx[d(,k)] = mean x_d, cxy[d,k] = Σ (x_d − mx_d)(y_k − my_k)      (d,k row-major, d over the
 *   input patch in kernel order [kh, kw, inC]); `sharedX`: one mx for all k (all-rows moments of a
 *   conv/dense layer), else one per k (masked rows, or depthwise where neuron k sees channel k/m).
 * JointMoments (the held-out statistics of the quality measure ρ): mean and co-moment matrix of x,
 * and per neuron j the parts p_j = y_j·M_j, q_j = y_j·(1 − M_j) of its output with their co-moments.
 */

/** What every row of a batch merge needs: the batch's counts and Chan's weights per neuron. */
export interface MergeWeights {
  nb: Float64Array;
  /** nb / n, nb·na / n, ȳ_b − ȳ_a */
  f: Float64Array;
  g: Float64Array;
  dy: Float64Array;
}

export class Moments {
  readonly count: Float64Array;
  readonly my: Float64Array;
  readonly cyy: Float64Array;
  readonly mx: Float64Array;
  readonly cxy: Float64Array;

  constructor(readonly d: number, readonly k: number, readonly sharedX: boolean, init?: Partial<Record<'count' | 'my' | 'cyy' | 'mx' | 'cxy', Float64Array>>) {
    this.count = init?.count ?? new Float64Array(k);
    this.my = init?.my ?? new Float64Array(k);
    this.cyy = init?.cyy ?? new Float64Array(k);
    this.mx = init?.mx ?? new Float64Array(sharedX ? d : d * k);
    this.cxy = init?.cxy ?? new Float64Array(d * k);
    if (this.count.length !== k || this.my.length !== k || this.cyy.length !== k
      || this.mx.length !== (sharedX ? d : d * k) || this.cxy.length !== d * k) {
      throw new Error('Moments: array sizes do not match d, k');
    }
  }

  clone(): Moments {
    return new Moments(this.d, this.k, this.sharedX, {
      count: this.count.slice(), my: this.my.slice(), cyy: this.cyy.slice(), mx: this.mx.slice(), cxy: this.cxy.slice(),
    });
  }

  /** Adds the moments of disjoint rows (Chan et al.): this ← this ∪ b. */
  merge(b: Moments): void {
    if (b.d !== this.d || b.k !== this.k || b.sharedX !== this.sharedX) throw new Error('Moments.merge: shapes differ');
    this.mergeRows(this.mergeHead(b.count, b.my, b.cyy), 0, this.d, b.mx, b.cxy);
  }

  /**
   * Chan's merge in two steps, so a batch's d×k part can arrive in blocks of input rows and never be
   * held whole: mergeHead takes the batch's per-neuron count, mean and Σ(y − ȳ)² and returns the
   * weights every row needs (computed from the counts before the merge); mergeRows then adds rows
   * i0..i1−1 of the batch's mx and cxy (block-local, row-major). Every row must be merged once.
   */
  mergeHead(count: Float64Array, my: Float64Array, cyy: Float64Array): MergeWeights {
    const { k } = this;
    const w: MergeWeights = { nb: count.slice(), f: new Float64Array(k), g: new Float64Array(k), dy: new Float64Array(k) };
    for (let j = 0; j < k; j++) {
      const na = this.count[j];
      const nb = count[j];
      if (nb === 0) continue;
      const n = na + nb;
      w.f[j] = nb / n;
      w.g[j] = (na * nb) / n;
      w.dy[j] = my[j] - this.my[j];
      this.count[j] = n;
      this.my[j] += w.dy[j] * w.f[j];
      this.cyy[j] += cyy[j] + w.dy[j] * w.dy[j] * w.g[j];
    }
    return w;
  }

  mergeRows(w: MergeWeights, i0: number, i1: number, bmx: Float64Array, bcxy: Float64Array): void {
    const { k, mx, cxy } = this;
    const { f, g, dy, nb } = w;
    if (i0 < 0 || i1 > this.d || i1 < i0 || bcxy.length < (i1 - i0) * k || bmx.length < (i1 - i0) * (this.sharedX ? 1 : k)) {
      throw new Error('Moments.mergeRows: block out of range');
    }
    if (this.sharedX) {
      // all rows: the same count for every k
      const f0 = f[0];
      for (let i = i0; i < i1; i++) {
        const dx = bmx[i - i0] - mx[i];
        const row = i * k;
        const brow = (i - i0) * k;
        for (let j = 0; j < k; j++) cxy[row + j] += bcxy[brow + j] + dx * dy[j] * g[j];
        mx[i] += dx * f0;
      }
    } else {
      for (let i = i0; i < i1; i++) {
        const row = i * k;
        const brow = (i - i0) * k;
        for (let j = 0; j < k; j++) {
          if (nb[j] === 0) continue;
          const dx = bmx[brow + j] - mx[row + j];
          cxy[row + j] += bcxy[brow + j] + dx * dy[j] * g[j];
          mx[row + j] += dx * f[j];
        }
      }
    }
  }

  /** The moments of neurons `cols` alone (in that order): what ρ needs of a layer. */
  columns(cols: readonly number[]): Moments {
    const { d, k } = this;
    const m = cols.length;
    const pick = (a: Float64Array): Float64Array => {
      const out = new Float64Array(d * m);
      for (let i = 0; i < d; i++) cols.forEach((j, c) => (out[i * m + c] = a[i * k + j]));
      return out;
    };
    const at = (a: Float64Array): Float64Array => Float64Array.from(cols, (j) => a[j]);
    return new Moments(d, m, this.sharedX, {
      count: at(this.count), my: at(this.my), cyy: at(this.cyy), mx: this.sharedX ? this.mx.slice() : pick(this.mx), cxy: pick(this.cxy),
    });
  }

  /** mean of x_d as seen by neuron k */
  meanX(i: number, j: number): number {
    return this.sharedX ? this.mx[i] : this.mx[i * this.k + j];
  }
}

/** The rows of `all` that are not in `part` (Chan's formula solved for the other half). */
export function complement(all: Moments, part: Moments): Moments {
  const { d, k } = all;
  const out = new Moments(d, k, false);
  for (let j = 0; j < k; j++) {
    const n = all.count[j];
    const np = part.count[j];
    const nq = n - np;
    if (nq <= 0) continue;
    out.count[j] = nq;
    const myq = (n * all.my[j] - np * part.my[j]) / nq;
    out.my[j] = myq;
    const dy = myq - part.my[j];
    out.cyy[j] = all.cyy[j] - part.cyy[j] - (dy * dy * np * nq) / n;
    for (let i = 0; i < d; i++) {
      const mxq = (n * all.meanX(i, j) - np * part.meanX(i, j)) / nq;
      out.mx[i * k + j] = mxq;
      const dx = mxq - part.meanX(i, j);
      out.cxy[i * k + j] = all.cxy[i * k + j] - part.cxy[i * k + j] - (dx * dy * np * nq) / n;
    }
  }
  return out;
}

export class JointMoments {
  n = 0;
  readonly mx: Float64Array;
  readonly cxx: Float64Array;
  readonly mp: Float64Array;
  readonly mq: Float64Array;
  readonly cpp: Float64Array;
  readonly cqq: Float64Array;
  readonly cpq: Float64Array;
  readonly cxp: Float64Array;
  readonly cxq: Float64Array;

  /** d inputs, m neurons */
  constructor(readonly d: number, readonly m: number) {
    this.mx = new Float64Array(d);
    this.cxx = new Float64Array(d * d);
    this.mp = new Float64Array(m);
    this.mq = new Float64Array(m);
    this.cpp = new Float64Array(m);
    this.cqq = new Float64Array(m);
    this.cpq = new Float64Array(m);
    this.cxp = new Float64Array(d * m);
    this.cxq = new Float64Array(d * m);
  }

  static readonly FIELDS = ['mx', 'cxx', 'mp', 'mq', 'cpp', 'cqq', 'cpq', 'cxp', 'cxq'] as const;

  merge(b: JointMoments): void {
    const { d, m } = this;
    if (b.d !== d || b.m !== m) throw new Error('JointMoments.merge: shapes differ');
    if (b.n === 0) return;
    const n = this.n + b.n;
    const f = b.n / n;
    const g = (this.n * b.n) / n;
    const dx = new Float64Array(d);
    for (let i = 0; i < d; i++) dx[i] = b.mx[i] - this.mx[i];
    const dp = new Float64Array(m);
    const dq = new Float64Array(m);
    for (let j = 0; j < m; j++) {
      dp[j] = b.mp[j] - this.mp[j];
      dq[j] = b.mq[j] - this.mq[j];
    }
    for (let i = 0; i < d; i++) {
      const gi = dx[i] * g;
      const row = i * d;
      for (let l = 0; l < d; l++) this.cxx[row + l] += b.cxx[row + l] + gi * dx[l];
      for (let j = 0; j < m; j++) {
        this.cxp[i * m + j] += b.cxp[i * m + j] + gi * dp[j];
        this.cxq[i * m + j] += b.cxq[i * m + j] + gi * dq[j];
      }
    }
    for (let j = 0; j < m; j++) {
      this.cpp[j] += b.cpp[j] + dp[j] * dp[j] * g;
      this.cqq[j] += b.cqq[j] + dq[j] * dq[j] * g;
      this.cpq[j] += b.cpq[j] + dp[j] * dq[j] * g;
      this.mp[j] += dp[j] * f;
      this.mq[j] += dq[j] * f;
    }
    for (let i = 0; i < d; i++) this.mx[i] += dx[i] * f;
    this.n = n;
  }
}
