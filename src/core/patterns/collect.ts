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

function read(t: tf.Tensor): Float64Array {
  const v = Float64Array.from(t.dataSync());
  t.dispose();
  return v;
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

/** The layer input padded for its conv geometry, and the slice at kernel offset (dy, dx) as [N·oh·ow, C]. */
function offsetRows(prep: PreparedGraph, spec: PatternLayerSpec, xp: tf.Tensor4D, dy: number, dx: number): tf.Tensor2D {
  const conv = spec.node.attrs.conv!;
  const [oh, ow] = spec.node.shape;
  const [sh, sw] = conv.strides;
  const [dh, dw] = conv.dilations;
  const n = xp.shape[0];
  const c = xp.shape[3];
  const y0 = dy * dh;
  const x0 = dx * dw;
  const s = tf.stridedSlice(xp, [0, y0, x0, 0], [n, y0 + (oh - 1) * sh + 1, x0 + (ow - 1) * sw + 1, c], [1, sh, sw, 1]);
  return tf.reshape(s, [-1, c]) as tf.Tensor2D;
}

function paddedInput(prep: PreparedGraph, spec: PatternLayerSpec, x: tf.Tensor, shift?: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const pads = prep.tensors[spec.node.id].pads!;
    let xp = x as tf.Tensor4D;
    if (pads.flat().some((v) => v !== 0)) xp = tf.pad(xp, [[0, 0], pads[0], pads[1], [0, 0]]);
    return (shift ? tf.sub(xp, shift) : xp.clone()) as tf.Tensor4D;
  });
}

/** Moments of all rows and of the masked rows (relu regime) for one batch. */
export function batchMoments(prep: PreparedGraph, spec: PatternLayerSpec, t: LayerTensors): { all: Moments; plus?: Moments } {
  const { d, k } = spec;
  const dense = spec.op === 'dense';
  const depthwise = spec.op === 'depthwiseConv2d';
  const { y, m } = outputs(prep, spec, t);
  const rows = y.shape[0];
  // centred outputs (all rows; masked rows at their masked mean)
  const head = tf.tidy(() => {
    const ybar = tf.mean(y, 0);
    const g = tf.sub(y, ybar);
    const r: Record<string, tf.Tensor> = { ybar, g, sg: tf.sum(g, 0), cyy: tf.sum(tf.square(g), 0) };
    if (m) {
      const np = tf.sum(m, 0);
      const ybp = tf.divNoNan(tf.sum(tf.mul(m, y), 0), np);
      const gp = tf.mul(m, tf.sub(y, ybp));
      Object.assign(r, { np, ybp, gp, sgp: tf.sum(gp, 0), cyyp: tf.sum(tf.mul(gp, tf.sub(y, ybp)), 0) });
    }
    return r;
  });
  const shift = tf.tidy(() => tf.mean(t.x, dense ? [0] : [0, 1, 2]));
  const parts: Record<'sx' | 'c' | 'sxp' | 'cp', tf.Tensor[]> = { sx: [], c: [], sxp: [], cp: [] };
  try {
    const offsets: [number, number][] = [];
    for (let dy = 0; dy < spec.kh; dy++) for (let dx = 0; dx < spec.kw; dx++) offsets.push([dy, dx]);
    const xp = dense ? undefined : paddedInput(prep, spec, t.x, shift);
    const xd = dense ? (tf.sub(t.x, shift) as tf.Tensor2D) : undefined;
    try {
      for (const [dy, dx] of offsets) {
        const r = tf.tidy(() => {
          const xo = xd ?? offsetRows(prep, spec, xp!, dy, dx);
          if (!depthwise) {
            const o: tf.Tensor[] = [tf.sum(xo, 0), tf.matMul(xo, head.g as tf.Tensor2D, true, false)];
            if (m) o.push(tf.matMul(xo, m, true, false), tf.matMul(xo, head.gp as tf.Tensor2D, true, false));
            return o;
          }
          // depthwise: neuron c·mult + j sees channel c only
          const xk = tf.reshape(tf.broadcastTo(tf.reshape(xo, [rows, spec.inC, 1]), [rows, spec.inC, spec.mult]), [rows, k]);
          const o: tf.Tensor[] = [tf.sum(xk, 0), tf.sum(tf.mul(xk, head.g), 0)];
          if (m) o.push(tf.sum(tf.mul(xk, m), 0), tf.sum(tf.mul(xk, head.gp), 0));
          return o;
        });
        parts.sx.push(r[0]);
        parts.c.push(r[1]);
        if (m) {
          parts.sxp.push(r[2]);
          parts.cp.push(r[3]);
        }
      }
    } finally {
      xp?.dispose();
      xd?.dispose();
    }
    const stack = (ts: tf.Tensor[]): Float64Array => read(ts.length === 1 ? ts[0].clone() : tf.stack(ts));
    const sx = stack(parts.sx);
    const c = stack(parts.c);
    const shiftV = read(shift.clone());
    const ybar = read(head.ybar.clone());
    const sg = read(head.sg.clone());
    const cyyRaw = read(head.cyy.clone());
    const chanOfD = (i: number): number => i % spec.inC;
    const chanOfK = (j: number): number => Math.floor(j / spec.mult);
    const all = new Moments(d, k, !depthwise);
    for (let j = 0; j < k; j++) {
      all.count[j] = rows;
      all.my[j] = ybar[j] + sg[j] / rows;
      all.cyy[j] = cyyRaw[j] - (sg[j] * sg[j]) / rows;
    }
    for (let i = 0; i < d; i++) {
      if (!depthwise) all.mx[i] = shiftV[chanOfD(i)] + sx[i] / rows;
      for (let j = 0; j < k; j++) {
        const sxi = depthwise ? sx[i * k + j] : sx[i];
        if (depthwise) all.mx[i * k + j] = shiftV[chanOfK(j)] + sxi / rows;
        all.cxy[i * k + j] = c[i * k + j] - (sxi * sg[j]) / rows;
      }
    }
    if (!m) return { all };
    const sxp = stack(parts.sxp);
    const cp = stack(parts.cp);
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
        const s = sxp[i * k + j];
        plus.mx[i * k + j] = shiftV[depthwise ? chanOfK(j) : chanOfD(i)] + s / n;
        plus.cxy[i * k + j] = cp[i * k + j] - (s * sgp[j]) / n;
      }
    }
    return { all, plus };
  } finally {
    for (const ts of Object.values(parts)) ts.forEach((x) => x.dispose());
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
  const all = Array.from({ length: spec.positions }, (_, i) => i);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = all.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [all[i], all[j]] = [all[j], all[i]];
  }
  const positions = all.slice(0, p).sort((a, b) => a - b);
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
    const xp = paddedInput(prep, spec, t.x);
    const pos = tf.tensor1d(plan.positions, 'int32');
    const per: tf.Tensor[] = [];
    for (let dy = 0; dy < spec.kh; dy++) {
      for (let dx = 0; dx < spec.kw; dx++) {
        const xo = tf.reshape(offsetRows(prep, spec, xp, dy, dx), [n, spec.positions, spec.inC]);
        per.push(tf.gather(xo, pos, 1));
      }
    }
    return tf.reshape(tf.stack(per, 2), [rows, spec.kh * spec.kw, spec.inC]);
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
        const mx = tf.mean(x, 0);
        const mp = tf.mean(pp, 0);
        const mq = tf.mean(qq, 0);
        const xc = tf.sub(x, mx);
        const pc = tf.sub(pp, mp);
        const qc = tf.sub(qq, mq);
        return [
          mx, mp, mq, tf.sum(xc, 0), tf.sum(pc, 0), tf.sum(qc, 0),
          tf.matMul(xc, xc, true, false), tf.matMul(xc, pc, true, false), tf.matMul(xc, qc, true, false),
          tf.sum(tf.square(pc), 0), tf.sum(tf.square(qc), 0), tf.sum(tf.mul(pc, qc), 0),
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
