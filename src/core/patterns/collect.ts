/**
 * One batch's pattern statistics as tensor ops. A convolution's patch statistics Σ_rows x_patch·gᵀ
 * are its filter gradient with upstream g, computed without Conv2DBackpropFilter (which wasm lacks)
 * as one matMul per kernel offset: the strided slice of the padded input at that offset, [rows, inC],
 * against g, [rows, K]. Inputs are shifted by their per-channel batch mean and outputs centred at their
 * (masked) batch means before the products, so the float32 sums carry no cancellation; the exact
 * batch moments follow in float64 with a first-order correction, then merge by Chan's formula.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PreparedGraph } from '../engine/prepared';
import { JointMoments, Moments } from './moments';
import type { PatternLayerSpec } from './layers';
import { randomOrder } from '../seededRandom';

function read(t: tf.Tensor): Float64Array {
  const v = Float64Array.from(t.dataSync());
  t.dispose();
  return v;
}

/**
 * Column sums of a [rows, k] matrix as a matMul with a row of ones: tfjs reduces a leading axis by
 * transposing first, which on wasm is ~40× slower than this GEMV.
 */
function colSums(t: tf.Tensor): tf.Tensor1D {
  const rows = t.shape[0]!;
  return tf.reshape(tf.matMul(tf.ones([1, rows]), tf.reshape(t, [rows, -1]) as tf.Tensor2D), [-1]);
}

function colMeans(t: tf.Tensor): tf.Tensor1D {
  return tf.div(colSums(t), t.shape[0]!);
}

export interface LayerTensors {
  /** the layer's input activation [N, H, W, C] or [N, D] */
  x: tf.Tensor;
  /** the layer's output with bias */
  z: tf.Tensor;
  /** the activation after it (relu regime) */
  act?: tf.Tensor;
}

/** y = z − b as [rows, K], and the mask as [rows, K] (relu regime). */
function outputs(prep: PreparedGraph, spec: PatternLayerSpec, t: LayerTensors): { y: tf.Tensor2D; m?: tf.Tensor2D } {
  return tf.tidy(() => {
    const b = prep.tensors[spec.node.id].bias;
    const y = tf.reshape(b ? tf.sub(t.z, b) : t.z, [-1, spec.k]) as tf.Tensor2D;
    const m = t.act ? (tf.reshape(tf.cast(tf.greater(t.act, 0), 'float32'), [-1, spec.k]) as tf.Tensor2D) : undefined;
    return m ? { y, m } : { y };
  });
}

function paddedInput(prep: PreparedGraph, spec: PatternLayerSpec, x: tf.Tensor, shift?: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const pads = prep.tensors[spec.node.id].pads!;
    let xp = x as tf.Tensor4D;
    if (pads.flat().some((v) => v !== 0)) xp = tf.pad(xp, [[0, 0], pads[0], pads[1], [0, 0]]);
    return (shift ? tf.sub(xp, shift) : xp.clone()) as tf.Tensor4D;
  });
}

/**
 * The padded input split by stride phase, channel-major: grids[a][b] = xp[:, a::sh, b::sw, :] as
 * [C, N, ⌈Hp/sh⌉, ⌈Wp/sw⌉]. Every kernel offset is then a plain window of one grid (wasm's strided
 * slice is slow; a reshape that keeps C innermost and 4-D slices are fast).
 */
function phaseGrids(xp: tf.Tensor4D, strides: [number, number]): tf.Tensor4D[][] {
  const [sh, sw] = strides;
  return tf.tidy(() => {
    if (sh === 1 && sw === 1) return [[tf.transpose(xp, [3, 0, 1, 2]) as tf.Tensor4D]];
    const [n, hp, wp, c] = xp.shape;
    const h2 = Math.ceil(hp / sh);
    const w2 = Math.ceil(wp / sw);
    const full = h2 * sh !== hp || w2 * sw !== wp ? tf.pad(xp, [[0, 0], [0, h2 * sh - hp], [0, w2 * sw - wp], [0, 0]]) : xp;
    const r = tf.reshape(full, [n * h2, sh, w2, sw * c]);
    const grids: tf.Tensor4D[][] = [];
    for (let a = 0; a < sh; a++) {
      grids.push([]);
      for (let b = 0; b < sw; b++) {
        const ph = tf.reshape(tf.slice(r, [0, a, 0, b * c], [n * h2, 1, w2, c]), [n, h2, w2, c]);
        grids[a].push(tf.transpose(ph, [3, 0, 1, 2]) as tf.Tensor4D);
      }
    }
    return grids;
  });
}

/** The input at kernel offset (dy, dx) for every output position: [C, N, oh, ow]. */
function offsetWindow(spec: PatternLayerSpec, grids: tf.Tensor4D[][], dy: number, dx: number): tf.Tensor4D {
  const conv = spec.node.attrs.conv!;
  const [oh, ow] = spec.node.shape;
  const [sh, sw] = conv.strides;
  const ry = dy * conv.dilations[0];
  const rx = dx * conv.dilations[1];
  const g = grids[ry % sh][rx % sw];
  const [c, n] = g.shape;
  return tf.slice(g, [0, 0, Math.floor(ry / sh), Math.floor(rx / sw)], [c, n, oh, ow]);
}

/**
 * Moments of all rows and of the masked rows (relu regime) for one batch. Per kernel offset one
 * matMul of the (channel-major) input slice against the stacked columns [g | M | g₊ | 1]: the
 * co-moments, the masked input sums and the input sums at once (wasm's transposed-operand matMul is
 * slow, so the input is transposed once per layer instead).
 */
export function batchMoments(prep: PreparedGraph, spec: PatternLayerSpec, t: LayerTensors): { all: Moments; plus?: Moments } {
  const { d, k } = spec;
  const dense = spec.op === 'dense';
  const depthwise = spec.op === 'depthwiseConv2d';
  const { y, m } = outputs(prep, spec, t);
  const rows = y.shape[0];
  const q = m ? 3 : 1;
  // centred outputs (all rows; masked rows at their masked mean) and the stacked right-hand sides
  const head = tf.tidy(() => {
    const ybar = colMeans(y);
    const g = tf.sub(y, ybar);
    const r: Record<string, tf.Tensor> = { ybar, sg: colSums(g), cyy: colSums(tf.square(g)) };
    const cols: tf.Tensor[] = [g];
    if (m) {
      const np = colSums(m);
      const ybp = tf.divNoNan(colSums(tf.mul(m, y)), np);
      const yc = tf.sub(y, ybp);
      const gp = tf.mul(m, yc);
      Object.assign(r, { np, ybp, sgp: colSums(gp), cyyp: colSums(tf.mul(gp, yc)) });
      cols.push(m, gp);
    }
    if (!depthwise) {
      r.rhs = tf.concat([...cols, tf.ones([rows, 1])], 1); // [rows, qK + 1]
    } else {
      // [C, rows, q·mult]: per channel the columns of its neurons (the input sums come separately)
      const c = spec.inC;
      const stacked = cols.length === 1 ? cols[0] : tf.concat(cols, 1);
      r.rhs = tf.reshape(tf.transpose(tf.reshape(stacked, [rows, q, c, spec.mult]), [2, 0, 1, 3]), [c, rows, q * spec.mult]);
    }
    return r;
  });
  const shift = tf.tidy(() => colMeans(tf.reshape(t.x, [-1, spec.inC])));
  const parts: tf.Tensor[] = [];
  try {
    // the input shifted by its batch mean, channel-major (dense: [D, N]; conv: stride-phase grids)
    const xd = dense ? tf.tidy(() => tf.transpose(tf.sub(t.x, shift)) as tf.Tensor2D) : undefined;
    let grids: tf.Tensor4D[][] = [];
    if (!dense) {
      const xp = paddedInput(prep, spec, t.x, shift);
      grids = phaseGrids(xp, spec.node.attrs.conv!.strides);
      xp.dispose();
    }
    try {
      for (let dy = 0; dy < spec.kh; dy++) {
        for (let dx = 0; dx < spec.kw; dx++) {
          parts.push(tf.tidy(() => {
            const xo = xd ?? (tf.reshape(offsetWindow(spec, grids, dy, dx), [spec.inC, rows]) as tf.Tensor2D);
            if (!depthwise) return tf.matMul(xo, head.rhs as tf.Tensor2D);
            const prod = tf.reshape(tf.matMul(tf.reshape(xo, [spec.inC, 1, rows]) as tf.Tensor3D, head.rhs as tf.Tensor3D), [spec.inC, q * spec.mult]);
            return tf.concat([prod, tf.reshape(tf.sum(xo, 1), [spec.inC, 1])], 1);
          }));
        }
      }
    } finally {
      xd?.dispose();
      grids.flat().forEach((x) => x.dispose());
    }
    // [offsets, C, cols]
    const res = read(parts.length === 1 ? tf.expandDims(parts[0], 0) : tf.stack(parts));
    const ncol = depthwise ? q * spec.mult + 1 : q * k + 1;
    const inC = spec.inC;
    const mult = spec.mult;
    /** column block b (0: g, 1: M, 2: g₊; 3 = ones) of input row i (kernel order) and neuron j */
    const at = (i: number, j: number, b: number): number => {
      const off = Math.floor(i / (depthwise ? 1 : inC));
      if (depthwise) {
        // i is the offset; neuron j = c·mult + jj sees channel c
        const c = Math.floor(j / mult);
        const col = b === 3 ? q * mult : b * mult + (j % mult);
        return res[(off * inC + c) * ncol + col];
      }
      const c = i % inC;
      const col = b === 3 ? q * k : b * k + j;
      return res[(off * inC + c) * ncol + col];
    };
    const shiftV = read(shift.clone());
    const ybar = read(head.ybar.clone());
    const sg = read(head.sg.clone());
    const cyyRaw = read(head.cyy.clone());
    const chanOf = (i: number, j: number): number => (depthwise ? Math.floor(j / mult) : i % inC);
    const all = new Moments(d, k, !depthwise);
    for (let j = 0; j < k; j++) {
      all.count[j] = rows;
      all.my[j] = ybar[j] + sg[j] / rows;
      all.cyy[j] = cyyRaw[j] - (sg[j] * sg[j]) / rows;
    }
    for (let i = 0; i < d; i++) {
      if (!depthwise) all.mx[i] = shiftV[chanOf(i, 0)] + at(i, 0, 3) / rows;
      for (let j = 0; j < k; j++) {
        const sxi = at(i, j, 3);
        if (depthwise) all.mx[i * k + j] = shiftV[chanOf(i, j)] + sxi / rows;
        all.cxy[i * k + j] = at(i, j, 0) - (sxi * sg[j]) / rows;
      }
    }
    if (!m) return { all };
    const np = read(head.np.clone());
    const ybp = read(head.ybp.clone());
    const sgp = read(head.sgp.clone());
    const cyyp = read(head.cyyp.clone());
    const plus = new Moments(d, k, false);
    for (let j = 0; j < k; j++) {
      const n = np[j];
      if (n === 0) continue;
      plus.count[j] = n;
      plus.my[j] = ybp[j] + sgp[j] / n;
      plus.cyy[j] = cyyp[j] - (sgp[j] * sgp[j]) / n;
      for (let i = 0; i < d; i++) {
        const sx = at(i, j, 1);
        plus.mx[i * k + j] = shiftV[chanOf(i, j)] + sx / n;
        plus.cxy[i * k + j] = at(i, j, 2) - (sx * sgp[j]) / n;
      }
    }
    return { all, plus };
  } finally {
    parts.forEach((x) => x.dispose());
    Object.values(head).forEach((x) => x.dispose());
    shift.dispose();
    y.dispose();
    m?.dispose();
  }
}

/** ρ statistics of a layer: which neurons, which output positions, in which groups of shared x. */
export interface RhoPlan {
  neurons: number[];
  positions: number[];
  /** conv/dense: one group with every neuron; depthwise: one group per neuron (its channel's patch) */
  groups: { neurons: number[]; channel?: number }[];
  /** patch size of a group */
  gd: number;
}

export function rhoPlan(spec: PatternLayerSpec, maxNeurons: number, maxPositions: number, seed: number): RhoPlan {
  const m = Math.min(spec.k, maxNeurons);
  const neurons = Array.from({ length: m }, (_, i) => Math.floor(((i + 0.5) * spec.k) / m));
  const p = Math.min(spec.positions, maxPositions);
  // a fixed pseudo-random subset of output positions (the same for every image and every fit)
  const positions = Array.from(randomOrder(spec.positions, Math.imul(seed, 2654435761))).slice(0, p).sort((a, b) => a - b);
  const groups = spec.op === 'depthwiseConv2d'
    ? neurons.map((j) => ({ neurons: [j], channel: Math.floor(j / spec.mult) }))
    : [{ neurons }];
  return { neurons, positions, groups, gd: spec.op === 'depthwiseConv2d' ? spec.kh * spec.kw : spec.d };
}

/** Held-out joint moments of one batch, per group of the plan. */
export function batchJointMoments(prep: PreparedGraph, spec: PatternLayerSpec, plan: RhoPlan, t: LayerTensors): JointMoments[] {
  const dense = spec.op === 'dense';
  const n = t.x.shape[0]!;
  const p = plan.positions.length;
  const rows = n * p;
  // patches at the chosen positions: [rows, kh·kw, C] in kernel order
  const patches = tf.tidy(() => {
    if (dense) return tf.reshape(t.x, [rows, 1, spec.inC]);
    const grids = phaseGrids(paddedInput(prep, spec, t.x), spec.node.attrs.conv!.strides);
    const pos = tf.tensor1d(plan.positions, 'int32');
    const per: tf.Tensor[] = [];
    for (let dy = 0; dy < spec.kh; dy++) {
      for (let dx = 0; dx < spec.kw; dx++) {
        const xo = tf.reshape(offsetWindow(spec, grids, dy, dx), [spec.inC, n, spec.positions]);
        per.push(tf.gather(xo, pos, 2)); // [C, N, P]
      }
    }
    // [offsets, C, N, P] → [N, P, offsets, C]
    return tf.reshape(tf.transpose(tf.stack(per), [2, 3, 0, 1]), [rows, spec.kh * spec.kw, spec.inC]);
  });
  const { y, m } = outputs(prep, spec, t);
  try {
    return plan.groups.map((grp) => {
      const res = tf.tidy(() => {
        const x = grp.channel === undefined
          ? tf.reshape(patches, [rows, plan.gd])
          : tf.reshape(tf.gather(patches, [grp.channel], 2), [rows, plan.gd]);
        const sel = (v: tf.Tensor2D): tf.Tensor2D => {
          let s = tf.reshape(v, [n, spec.positions, spec.k]);
          if (!dense) s = tf.gather(s, plan.positions, 1);
          return tf.reshape(tf.gather(s, grp.neurons, 2), [rows, grp.neurons.length]) as tf.Tensor2D;
        };
        const yy = sel(y);
        const mm = m ? sel(m) : undefined;
        const pp = mm ? tf.mul(yy, mm) : yy;
        const qq = mm ? tf.mul(yy, tf.sub(1, mm)) : tf.zerosLike(yy);
        const mx = colMeans(x);
        const mp = colMeans(pp);
        const mq = colMeans(qq);
        const xc = tf.sub(x, mx);
        const pc = tf.sub(pp, mp);
        const qc = tf.sub(qq, mq);
        const xct = tf.transpose(xc);
        return [
          mx, mp, mq, colSums(xc), colSums(pc), colSums(qc),
          tf.matMul(xct, xc), tf.matMul(xct, pc), tf.matMul(xct, qc),
          colSums(tf.square(pc)), colSums(tf.square(qc)), colSums(tf.mul(pc, qc)),
        ];
      });
      const [mx, mp, mq, sx, sp, sq, cxx, cxp, cxq, cpp, cqq, cpq] = res.map(read);
      const gd = plan.gd;
      const mm = grp.neurons.length;
      const jm = new JointMoments(gd, mm);
      jm.n = rows;
      for (let i = 0; i < gd; i++) {
        jm.mx[i] = mx[i] + sx[i] / rows;
        for (let l = 0; l < gd; l++) jm.cxx[i * gd + l] = cxx[i * gd + l] - (sx[i] * sx[l]) / rows;
        for (let j = 0; j < mm; j++) {
          jm.cxp[i * mm + j] = cxp[i * mm + j] - (sx[i] * sp[j]) / rows;
          jm.cxq[i * mm + j] = cxq[i * mm + j] - (sx[i] * sq[j]) / rows;
        }
      }
      for (let j = 0; j < mm; j++) {
        jm.mp[j] = mp[j] + sp[j] / rows;
        jm.mq[j] = mq[j] + sq[j] / rows;
        jm.cpp[j] = cpp[j] - (sp[j] * sp[j]) / rows;
        jm.cqq[j] = cqq[j] - (sq[j] * sq[j]) / rows;
        jm.cpq[j] = cpq[j] - (sp[j] * sq[j]) / rows;
      }
      return jm;
    });
  } finally {
    patches.dispose();
    y.dispose();
    m?.dispose();
  }
}
