/**
 * Forward and vector–Jacobian products of the ops on tensors of any rank (transformers, channel
 * shuffles): transpose, select (index map), constant, matmul of two activations, layerNorm over the
 * last axis, and the smooth activations GELU / SiLU. The batch axis is always axis 0 in front of the
 * node's shape. LRP's rules for them live in rules/transformerRules.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import { sizeOf } from '../graph/ir';
import type { PreparedGraph } from './prepared';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Gathers the flat input positions `index` (−1 = zero) from x [n, …] into [n, …shape]. */
function gatherFlat(x: tf.Tensor, index: tf.Tensor1D, size: number, shape: number[]): tf.Tensor {
  const n = x.shape[0];
  const flat = tf.reshape(x, [n, size]);
  // position `size` is a zero column: index −1 was mapped there
  const padded = tf.concat([flat, tf.zeros([n, 1])], 1);
  return tf.reshape(tf.gather(padded, index, 1), [n, ...shape]);
}

function selectIndex(prep: PreparedGraph, node: Node): tf.Tensor1D {
  const size = sizeOf(prep.graph.nodes[node.inputs[0]].shape);
  return prep.derived(node.id, 'index', () => {
    const ix = node.params.index!.data;
    const out = new Int32Array(ix.length);
    for (let i = 0; i < ix.length; i++) out[i] = ix[i] < 0 ? size : ix[i];
    return tf.tensor1d(out, 'int32');
  });
}

/** The inverse map of an injective select: for every input position, the output position holding it (or zero). */
function selectInverse(prep: PreparedGraph, node: Node): tf.Tensor1D {
  const outSize = sizeOf(node.shape);
  return prep.derived(node.id, 'index-inverse', () => {
    const ix = node.params.index!.data;
    const inv = new Int32Array(sizeOf(prep.graph.nodes[node.inputs[0]].shape)).fill(outSize);
    for (let i = 0; i < ix.length; i++) if (ix[i] >= 0) inv[ix[i]] = i;
    return tf.tensor1d(inv, 'int32');
  });
}

function affine(prep: PreparedGraph, node: Node, which: 'gamma' | 'beta'): tf.Tensor | undefined {
  const p = node.params[which];
  return p ? prep.derived(node.id, which, () => tf.tensor1d(p.data)) : undefined;
}

/** 1/√(var + ε) per row of the last axis, [n, …, 1]. */
export function layerNormInvStd(node: Node, x: tf.Tensor): tf.Tensor {
  const { variance } = tf.moments(x, -1, true);
  return tf.rsqrt(tf.add(variance, node.attrs.epsilon ?? 1e-5));
}

/** (x − μ)/σ without the affine part. */
export function layerNormCore(node: Node, x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.sub(x, tf.mean(x, -1, true)), layerNormInvStd(node, x));
}

export function tensorForward(prep: PreparedGraph, node: Node, ins: tf.Tensor[]): tf.Tensor {
  const x = ins[0];
  switch (node.op) {
    case 'transpose': return tf.transpose(x, [0, ...node.attrs.perm!.map((p) => p + 1)]);
    case 'select': return gatherFlat(x, selectIndex(prep, node), sizeOf(prep.graph.nodes[node.inputs[0]].shape), node.shape);
    case 'constant': {
      const v = prep.derived(node.id, 'value', () => tf.tensor(node.params.value!.data, [1, ...node.shape]));
      return tf.broadcastTo(v, [x.shape[0], ...node.shape]);
      // the constant's input is the graph input: its batch size
    }
    case 'matmul': return tf.matMul(ins[0], ins[1]);
    case 'layerNorm': {
      let y = layerNormCore(node, x);
      const g = affine(prep, node, 'gamma');
      const b = affine(prep, node, 'beta');
      if (g) y = tf.mul(y, g);
      if (b) y = tf.add(y, b);
      return y;
    }
    default: throw new Error(`not a tensor op: ${node.op}`);
  }
}

export function smoothActivation(fn: string, x: tf.Tensor): tf.Tensor {
  switch (fn) {
    case 'gelu': return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    case 'geluTanh': return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))));
    case 'silu': return tf.mul(x, tf.sigmoid(x));
    default: throw new Error(`not a smooth activation: ${fn}`);
  }
}

/** s · f'(x) of the smooth activations. */
export function smoothActivationGradient(fn: string, s: tf.Tensor, x: tf.Tensor): tf.Tensor {
  switch (fn) {
    case 'gelu': {
      // Φ(x) + x·φ(x)
      const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
      const pdf = tf.mul(1 / Math.sqrt(2 * Math.PI), tf.exp(tf.mul(-0.5, tf.square(x))));
      return tf.mul(s, tf.add(cdf, tf.mul(x, pdf)));
    }
    case 'geluTanh': {
      const u = tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
      const t = tf.tanh(u);
      const du = tf.mul(SQRT_2_OVER_PI, tf.add(1, tf.mul(3 * 0.044715, tf.square(x))));
      const d = tf.add(tf.mul(0.5, tf.add(1, t)), tf.mul(tf.mul(0.5, x), tf.mul(tf.sub(1, tf.square(t)), du)));
      return tf.mul(s, d);
    }
    case 'silu': {
      const sg = tf.sigmoid(x);
      return tf.mul(s, tf.mul(sg, tf.add(1, tf.mul(x, tf.sub(1, sg)))));
    }
    default: throw new Error(`not a smooth activation: ${fn}`);
  }
}

/** Vector–Jacobian products (the gradient family; transpose/select/constant also carry relevance as is). */
export function tensorBackward(prep: PreparedGraph, node: Node, s: tf.Tensor, acts: tf.Tensor[]): tf.Tensor[] {
  const x = acts[node.inputs[0]];
  switch (node.op) {
    case 'transpose': {
      const perm = node.attrs.perm!;
      const inv = new Array<number>(perm.length);
      perm.forEach((p, i) => { inv[p] = i; });
      return [tf.transpose(s, [0, ...inv.map((p) => p + 1)])];
    }
    case 'select':
      return [gatherFlat(s, selectInverse(prep, node), sizeOf(node.shape), prep.graph.nodes[node.inputs[0]].shape)];
    case 'constant': return [tf.zerosLike(x)];
    case 'matmul': {
      const b = acts[node.inputs[1]];
      return [tf.matMul(s, b, false, true), tf.matMul(x, s, true, false)];
    }
    case 'layerNorm': {
      // dx = (g − mean(g) − x̂·mean(g·x̂)) / σ with g = s·γ
      const inv = layerNormInvStd(node, x);
      const xh = tf.mul(tf.sub(x, tf.mean(x, -1, true)), inv);
      const gamma = affine(prep, node, 'gamma');
      const g = gamma ? tf.mul(s, gamma) : s;
      return [tf.mul(tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xh, tf.mean(tf.mul(g, xh), -1, true))), inv)];
    }
    default: throw new Error(`not a tensor op: ${node.op}`);
  }
}

export const TENSOR_OPS: ReadonlySet<string> = new Set(['transpose', 'select', 'constant', 'matmul', 'layerNorm']);
export const SMOOTH_ACTIVATIONS: ReadonlySet<string> = new Set(['gelu', 'geluTanh', 'silu']);
