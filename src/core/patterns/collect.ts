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
import { JointMoments, Moments, type MergeWeights } from './moments';
import type { PatternLayerSpec } from './layers';
import { randomOrder } from '../seededRandom';

function read(t: tf.Tensor): Float64Array {
  const v = Float64Array.from(t.dataSync());
  t.dispose();
  return v;
}

function readF32(t: tf.Tensor): Float32Array {
  const v = t.dataSync() as Float32Array;
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

/** Accumulators a batch is merged into (plus: the relu regime's masked rows). */
export interface MomentTargets {
  all: Moments;
  plus?: Moments;
}

/** Stacked products read back per block of about this many float32 values (16 MB). */
const BLOCK_VALUES = 1 << 22;

/**
 * Merges one batch's moments of all rows and of the masked rows (relu regime) into `into`. Per kernel
 * offset (and block of input channels) one matMul of the channel-major input slice against the
 * stacked columns [g | M | g₊ | 1]: the co-moments, the masked input sums and the input sums at once
 * (wasm's transposed-operand matMul is slow, so the input is transposed once per layer instead). Each
 * product is read back and merged in float64 block by block, so no d×k batch matrix is ever held
 * whole (VGG16's first dense layer: 25088 × 4096). `blockChannels` caps the input channels per block
 * (default: about BLOCK_VALUES values per block).
 */
export function mergeBatchMoments(prep: PreparedGraph, spec: PatternLayerSpec, t: LayerTensors, into: MomentTargets, blockChannels?: number): void {
  const { k } = spec;
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
  try {
    const shiftV = read(shift.clone());
    const sg = read(head.sg.clone());
    // the batch's per-neuron count, mean and Σ(y − ȳ)², merged first; the rows follow block by block
    const count = new Float64Array(k).fill(rows);
    const my = read(head.ybar.clone()).map((v, j) => v + sg[j] / rows);
    const cyy = read(head.cyy.clone()).map((v, j) => v - (sg[j] * sg[j]) / rows);
    const wAll = into.all.mergeHead(count, my, cyy);
    let plus: { np: Float64Array; sgp: Float64Array; w: MergeWeights } | undefined;
    if (m && into.plus) {
      const np = read(head.np.clone());
      const sgp = read(head.sgp.clone());
      const myp = read(head.ybp.clone()).map((v, j) => (np[j] ? v + sgp[j] / np[j] : 0));
      const cyyp = read(head.cyyp.clone()).map((v, j) => (np[j] ? v - (sgp[j] * sgp[j]) / np[j] : 0));
      plus = { np, sgp, w: into.plus.mergeHead(np, myp, cyyp) };
    }
    const ncol = depthwise ? q * spec.mult + 1 : q * k + 1;
    const chans = depthwise ? spec.inC : Math.max(1, Math.min(spec.inC, blockChannels ?? Math.floor(BLOCK_VALUES / ncol)));
    const blockRows = depthwise ? 1 : chans;
    const allMx = new Float64Array(depthwise ? k : blockRows);
    const allCxy = new Float64Array(blockRows * k);
    const plusMx = plus ? new Float64Array(blockRows * k) : undefined;
    const plusCxy = plus ? new Float64Array(blockRows * k) : undefined;
    /**
     * Block `res` of the products → the batch's moments of input rows i0..i0+nr−1 (kernel order),
     * merged. Non-depthwise: res is [nr, ncol], row r holding input channel c0 + r, and neuron j's
     * columns at j, K + j, 2K + j, the input sum at qK. Depthwise (nr = 1, one kernel offset): res is
     * [C, ncol], neuron j = c·mult + jj reading channel c's row at jj, mult + jj, 2·mult + jj, q·mult.
     */
    const mergeBlock = (res: Float32Array, i0: number, nr: number, c0: number): void => {
      for (let r = 0; r < nr; r++) {
        for (let j = 0; j < k; j++) {
          const c = depthwise ? Math.floor(j / spec.mult) : c0 + r;
          const base = depthwise ? c * ncol + (j % spec.mult) : r * ncol + j;
          const stride = depthwise ? spec.mult : k;
          const sx = res[depthwise ? c * ncol + q * spec.mult : r * ncol + q * k];
          const o = r * k + j;
          if (depthwise) allMx[o] = shiftV[c] + sx / rows;
          else if (j === 0) allMx[r] = shiftV[c] + sx / rows;
          allCxy[o] = res[base] - (sx * sg[j]) / rows;
          if (plus) {
            const n = plus.np[j];
            if (n === 0) continue;
            const sxp = res[base + stride];
            plusMx![o] = shiftV[c] + sxp / n;
            plusCxy![o] = res[base + 2 * stride] - (sxp * plus.sgp[j]) / n;
          }
        }
      }
      into.all.mergeRows(wAll, i0, i0 + nr, allMx, allCxy);
      if (plus) into.plus!.mergeRows(plus.w, i0, i0 + nr, plusMx!, plusCxy!);
    };
    // the input shifted by its batch mean, channel-major (dense: [D, rows], a row per image and token; conv: stride-phase grids)
    const xd = dense ? tf.tidy(() => tf.transpose(tf.reshape(tf.sub(t.x, shift), [rows, spec.inC])) as tf.Tensor2D) : undefined;
    let grids: tf.Tensor4D[][] = [];
    if (!dense) {
      const xp = paddedInput(prep, spec, t.x, shift);
      grids = phaseGrids(xp, spec.node.attrs.conv!.strides);
      xp.dispose();
    }
    try {
      for (let dy = 0; dy < spec.kh; dy++) {
        for (let dx = 0; dx < spec.kw; dx++) {
          const off = dy * spec.kw + dx;
          if (depthwise) {
            const res = tf.tidy(() => {
              const xo = tf.reshape(offsetWindow(spec, grids, dy, dx), [spec.inC, rows]);
              const prod = tf.reshape(tf.matMul(tf.reshape(xo, [spec.inC, 1, rows]) as tf.Tensor3D, head.rhs as tf.Tensor3D), [spec.inC, q * spec.mult]);
              return tf.concat([prod, tf.reshape(tf.sum(xo, 1), [spec.inC, 1])], 1);
            });
            mergeBlock(readF32(res), off, 1, 0);
            continue;
          }
          const xo = xd ?? tf.tidy(() => tf.reshape(offsetWindow(spec, grids, dy, dx), [spec.inC, rows]) as tf.Tensor2D);
          try {
            for (let c0 = 0; c0 < spec.inC; c0 += chans) {
              const nr = Math.min(chans, spec.inC - c0);
              const res = tf.tidy(() => tf.matMul(nr === spec.inC ? xo : tf.slice(xo, [c0, 0], [nr, rows]), head.rhs as tf.Tensor2D));
              mergeBlock(readF32(res), off * spec.inC + c0, nr, c0);
            }
          } finally {
            if (xo !== xd) xo.dispose();
          }
        }
      }
    } finally {
      xd?.dispose();
      grids.flat().forEach((x) => x.dispose());
    }
  } finally {
    Object.values(head).forEach((x) => x.dispose());
    shift.dispose();
    y.dispose();
    m?.dispose();
  }
}

/** One batch's moments on their own (the moments merged into empty accumulators are the batch's, exactly). */
export function batchMoments(prep: PreparedGraph, spec: PatternLayerSpec, t: LayerTensors): { all: Moments; plus?: Moments } {
  const depthwise = spec.op === 'depthwiseConv2d';
  const out: MomentTargets = { all: new Moments(spec.d, spec.k, !depthwise), ...(t.act ? { plus: new Moments(spec.d, spec.k, false) } : {}) };
  mergeBatchMoments(prep, spec, t, out);
  return out;
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
    if (dense) return tf.reshape(tf.gather(tf.reshape(t.x, [n, spec.positions, spec.inC]), plan.positions, 1), [rows, 1, spec.inC]);
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
          const s = tf.gather(tf.reshape(v, [n, spec.positions, spec.k]), plan.positions, 1);
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
