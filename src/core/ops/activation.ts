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
import type { Emitter } from '../onnx/emitter';
import { smoothForward, smoothGradient } from '../onnx/tensorEmit';

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
  onnx: {
    forward: (e, node, ins) => onnxActivate(e, node, ins[0]),
    lrp: (_e, _n, r) => [r],
    signal: (e, node, s, ctx, rule) => {
      const x = ctx.acts[node.inputs[0]];
      const y = ctx.acts[node.id];
      if (rule === 'gradient' || !isReluLike(node)) return [onnxGradient(e, node, s, x, y)];
      if (rule === 'guided') return [e.relu(onnxGradient(e, node, s, x, y))];
      return [node.attrs.activation === 'leakyRelu' ? e.g.op('LeakyRelu', [s], { alpha: { f: node.attrs.alpha ?? 0.2 } }) : e.relu(s)];
    },
  },
};

function onnxActivate(e: Emitter, node: Node, x: string): string {
  const a = node.attrs;
  switch (a.activation) {
    case 'relu': return e.relu(x);
    case 'relu6': return e.g.op('Clip', [x, e.g.scalar(0), e.g.scalar(6)]);
    case 'leakyRelu': return e.g.op('LeakyRelu', [x], { alpha: { f: a.alpha ?? 0.2 } });
    case 'elu': return e.g.op('Elu', [x], { alpha: { f: a.alpha ?? 1 } });
    case 'sigmoid': return e.g.op('Sigmoid', [x]);
    case 'tanh': return e.g.op('Tanh', [x]);
    case 'softmax': return e.g.op('Softmax', [x], { axis: { i: e.isMap(node.id) ? 1 : -1 } });
    case 'clip': return e.g.op('Clip', [x, e.g.scalar(a.clipMin ?? -Infinity), e.g.scalar(a.clipMax ?? Infinity)]);
    case 'linear': return x;
    case 'gelu': case 'geluTanh': case 'silu': return smoothForward(e, a.activation, x);
    default: throw new LensError('unsupported-op', `layer '${node.name}': activation '${a.activation}' is not supported`);
  }
}

/** s · f'(x) in the compiled graph (as activationGradient). */
function onnxGradient(e: Emitter, node: Node, s: string, x: string, y: string): string {
  const a = node.attrs;
  // before the shared zero below, which GELU / SiLU would leave unused
  if (a.activation === 'gelu' || a.activation === 'geluTanh' || a.activation === 'silu') return smoothGradient(e, a.activation, s, x);
  const zero = e.g.scalar(0);
  const open = (lo: number, hi: number): string => e.g.op('And', [e.g.op('Greater', [x, e.g.scalar(lo)]), e.g.op('Less', [x, e.g.scalar(hi)])]);
  const pos = (): string => e.g.op('Greater', [x, zero]);
  switch (a.activation) {
    case 'relu': return e.g.op('Where', [pos(), s, zero]);
    case 'relu6': return e.g.op('Where', [open(0, 6), s, zero]);
    case 'clip': return e.g.op('Where', [open(a.clipMin ?? -Infinity, a.clipMax ?? Infinity), s, zero]);
    case 'leakyRelu': return e.g.op('Where', [pos(), s, e.mul(s, e.g.scalar(a.alpha ?? 0.2))]);
    case 'elu': return e.g.op('Where', [pos(), s, e.mul(s, e.add(y, e.g.scalar(a.alpha ?? 1)))]);
    case 'sigmoid': return e.mul(s, e.mul(y, e.sub(e.g.scalar(1), y)));
    case 'tanh': return e.mul(s, e.sub(e.g.scalar(1), e.mul(y, y)));
    case 'softmax': {
      const axis = e.isMap(node.id) ? 1 : -1;
      const dot = e.g.op('ReduceSum', [e.mul(s, y), e.g.ints([axis])], { keepdims: { i: 1 } });
      return e.mul(y, e.sub(s, dot));
    }
    case 'linear': return s;
    default: throw new Error(`activation '${a.activation}' has no backward`);
  }
}
