/**
 * Elementwise activations (attrs.activation). LRP passes relevance unchanged; the gradient family
 * multiplies by f'(x), except that deconvnet and guided backprop change the backward of ReLU-like units:
 *   deconvnet  relu(s)                (the forward mask is ignored, DESIGN.md)
 *   guided     s · f'(x) · 1[s > 0]   (both masks)
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ActivationFn, Node } from '../graph/ir';
import { LensError } from '../errors';
import type { OpDef, SignalRule } from './types';
import { sameShape } from './common';
import { smoothActivation, smoothActivationGradient } from '../engine/tensorOps';

/** Activation functions the engine implements. */
export const ACTIVATIONS: ReadonlySet<ActivationFn> = new Set<ActivationFn>([
  'relu', 'relu6', 'leakyRelu', 'elu', 'sigmoid', 'tanh', 'softmax', 'linear', 'clip', 'gelu', 'geluTanh', 'silu',
]);

export function activate(node: Node, x: tf.Tensor): tf.Tensor {
  const a = node.attrs;
  switch (a.activation) {
    case 'relu': return tf.relu(x);
    case 'relu6': return tf.relu6(x);
    case 'leakyRelu': return tf.leakyRelu(x, a.alpha ?? 0.2);
    case 'elu': return (a.alpha ?? 1) === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(tf.expm1(x), a.alpha!));
    case 'sigmoid': return tf.sigmoid(x);
    case 'tanh': return tf.tanh(x);
    case 'softmax': return tf.softmax(x);
    case 'clip': return tf.clipByValue(x, a.clipMin ?? -Infinity, a.clipMax ?? Infinity);
    case 'linear': return x.clone();
    case 'gelu': case 'geluTanh': case 'silu': return smoothActivation(a.activation, x);
    default: throw new LensError('unsupported-op', `layer '${node.name}': activation '${a.activation}' is not supported`);
  }
}

/** Activations whose backward the deconvnet / guided rules change. */
export function isReluLike(node: Node): boolean {
  const a = node.attrs.activation;
  return a === 'relu' || a === 'relu6' || a === 'leakyRelu' || (a === 'clip' && (node.attrs.clipMin ?? -Infinity) >= 0);
}

/** s · f'(x) for an activation node with input x and output y. */
export function activationGradient(node: Node, s: tf.Tensor, x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const a = node.attrs;
  switch (a.activation) {
    // where, not a product with the mask: a closed unit passes exactly 0 even for an infinite signal
    case 'relu': return tf.where(tf.greater(x, 0), s, tf.zerosLike(s));
    case 'relu6': return tf.where(tf.logicalAnd(tf.greater(x, 0), tf.less(x, 6)), s, tf.zerosLike(s));
    case 'clip': return tf.where(tf.logicalAnd(tf.greater(x, a.clipMin ?? -Infinity), tf.less(x, a.clipMax ?? Infinity)), s, tf.zerosLike(s));
    case 'leakyRelu': return tf.where(tf.greater(x, 0), s, tf.mul(s, a.alpha ?? 0.2));
    // elu: α(eˣ − 1) for x ≤ 0, whose derivative αeˣ = y + α
    case 'elu': return tf.where(tf.greater(x, 0), s, tf.mul(s, tf.add(y, a.alpha ?? 1)));
    case 'sigmoid': return tf.mul(s, tf.mul(y, tf.sub(1, y)));
    case 'tanh': return tf.mul(s, tf.sub(1, tf.square(y)));
    case 'softmax': return tf.mul(y, tf.sub(s, tf.sum(tf.mul(s, y), -1, true)));
    case 'linear': return s.clone();
    case 'gelu': case 'geluTanh': case 'silu': return smoothActivationGradient(a.activation, s, x);
    default: throw new Error(`activation '${a.activation}' has no backward`);
  }
}

function activationBackward(node: Node, s: tf.Tensor, x: tf.Tensor, y: tf.Tensor, rule: SignalRule): tf.Tensor {
  if (rule === 'gradient' || !isReluLike(node)) return activationGradient(node, s, x, y);
  if (rule === 'guided') return tf.relu(activationGradient(node, s, x, y));
  // deconvnet: the activation's rectifier applied to the backward signal
  return node.attrs.activation === 'leakyRelu' ? tf.leakyRelu(s, node.attrs.alpha ?? 0.2) : tf.relu(s);
}

export const activation: OpDef = {
  kind: 'activation',
  shape: sameShape,
  check: (g, n) => {
    const fn = n.attrs.activation ?? '';
    if (!ACTIVATIONS.has(fn as ActivationFn)) return { supported: false, note: `activation '${fn}' is not implemented by the engine` };
    if (fn === 'softmax' && n.id !== g.output) return { supported: true, note: 'softmax inside the network: LRP passes relevance through it unchanged' };
    if (fn === 'gelu' || fn === 'geluTanh' || fn === 'silu') return { supported: true, note: 'LRP passes relevance through it (AttnLRP); gradients use its derivative' };
    if (fn === 'softmax') return { supported: true, note: 'final softmax: stripped by canonization, the logit is explained' };
    return { supported: true };
  },
  forward: (_p, node, ins) => activate(node, ins[0]),
  lrp: (_n, r) => [r],
  signal: (node, s, ctx, rule) => [activationBackward(node, s, ctx.acts[node.inputs[0]], ctx.acts[node.id], rule)],
  lrpRuleText: () => 'pass',
  signalRuleText: (node, rule) => (rule !== 'gradient' && isReluLike(node) ? rule : 'gradient'),
  nonNegative: (node, ins) => ['relu', 'relu6', 'sigmoid', 'softmax'].includes(node.attrs.activation!)
    || (node.attrs.activation === 'clip' && (node.attrs.clipMin ?? -1) >= 0)
    || (node.attrs.activation === 'linear' && ins[0]),
  carriesBounds: (node) => node.attrs.activation === 'linear',
};
