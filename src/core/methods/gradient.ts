/**
 * The gradient family as explicit backward passes (no tf.grad: the wasm backend lacks several
 * gradient kernels). One handler serves three signal rules that differ only at ReLU-like activations:
 *   gradient        s · f'(x)                      (saliency, gradient×input, SmoothGrad, IG)
 *   deconvnet       relu(s)                        (the forward mask is ignored, DESIGN.md)
 *   guided          s · f'(x) · 1[s > 0]           (both masks)
 * Every other node passes the ordinary vector–Jacobian product: transposed linear ops, winner-take-all
 * max pooling (the window's first maximum, as TF's MaxPoolGrad), average pooling spread by 1/count.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import { LINEAR_OPS } from '../graph/ir';
import { backward, type BackwardContext, type BackwardResult, type NodeBackward, type NodeSums } from '../engine/backward';
import type { PreparedGraph } from '../engine/prepared';
import { forward } from '../engine/forward';
import { avgPoolTransposed, maxPoolBackward } from '../engine/poolOps';
import { linearTransposed } from '../rules/linearOps';
import { smoothActivationGradient, tensorBackward } from '../engine/tensorOps';
import { cropPad, reshapeBack, splitConcat } from './lrpHandlers';
import type { MethodContext, MethodRun } from './method';
import { registerMethod } from './method';

export type SignalRule = 'gradient' | 'deconvnet' | 'guided';

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

/** Vector–Jacobian product of every non-activation node (shared with PatternNet). */
export function structuralBackward(node: Node, s: tf.Tensor, ctx: BackwardContext): tf.Tensor[] {
  const a = ctx.acts[node.inputs[0]];
  switch (node.op) {
    case 'conv2d': case 'depthwiseConv2d': case 'dense': case 'batchNorm':
      return [linearTransposed(ctx.prep, node, s, 'w')];
    case 'maxPool':
      return [maxPoolBackward(a as tf.Tensor4D, ctx.acts[node.id] as tf.Tensor4D, s as tf.Tensor4D, node.attrs.pool!)];
    case 'avgPool':
      return [avgPoolTransposed(s as tf.Tensor4D, node.attrs.pool!, [a.shape[1]!, a.shape[2]!])];
    case 'globalAvgPool': {
      const [n, h, w, c] = a.shape;
      return [tf.broadcastTo(tf.reshape(tf.div(s, h * w), [n, 1, 1, c]), [n, h, w, c])];
    }
    // fresh tensors, never the signal itself: the executor owns and disposes it
    case 'add': return node.inputs.map(() => s.clone());
    case 'mul': {
      const g = ctx.acts[node.inputs[1]];
      const sa = tf.mul(s, a);
      return [tf.mul(s, g), g.rank === 4 && g.shape[1] === 1 && g.shape[2] === 1 && a.shape[1] !== 1 ? tf.sum(sa, [1, 2], true) : sa];
    }
    case 'concat': return splitConcat(node, s, ctx);
    case 'flatten': case 'reshape': return reshapeBack(node, s, ctx);
    case 'pad': return cropPad(node, s);
    case 'identity': return [s.clone()];
    case 'input': return [];
    case 'activation': throw new Error('activation handled by the signal rule');
    case 'transpose': case 'select': case 'constant': case 'matmul': case 'layerNorm':
      return tensorBackward(ctx.prep, node, s, ctx.acts);
  }
}

export function gradientHandler(rule: SignalRule): NodeBackward {
  return (node, s, ctx) => {
    if (node.op === 'activation') return [activationBackward(node, s, ctx.acts[node.inputs[0]], ctx.acts[node.id], rule)];
    return structuralBackward(node, s, ctx);
  };
}

/** onehot(target) for a batch of n: the start of every gradient-family pass. */
export function gradientStart(prep: PreparedGraph, target: number, n: number): tf.Tensor {
  const k = prep.graph.nodes[prep.graph.output].shape[0];
  return tf.tidy(() => tf.cast(tf.oneHot(tf.fill([n], target, 'int32') as tf.Tensor1D, k), 'float32'));
}

export function signalRuleText(g: { nodes: Node[]; input: number }, rule: SignalRule): Map<number, string> {
  const m = new Map<number, string>();
  for (const n of g.nodes) {
    if (n.id === g.input) continue;
    if (n.op === 'activation') m.set(n.id, rule !== 'gradient' && isReluLike(n) ? rule : 'gradient');
    else if (LINEAR_OPS.has(n.op) || n.op === 'batchNorm') m.set(n.id, 'transpose');
    else if (n.op === 'maxPool') m.set(n.id, 'winner-take-all');
    else m.set(n.id, 'gradient');
  }
  return m;
}

/** One backward pass of `rule` over already computed activations (batched). */
export function signalBackward(
  prep: PreparedGraph, acts: tf.Tensor[], target: number, rule: SignalRule,
  opts: { checkpoint?: () => void; keep?: ReadonlySet<number> } = {},
): BackwardResult {
  const n = acts[prep.graph.input].shape[0]!;
  const start = gradientStart(prep, target, n);
  try {
    return backward({ prep, acts }, start, gradientHandler(rule), { checkpoint: opts.checkpoint, keep: opts.keep });
  } finally {
    start.dispose();
  }
}

export interface BatchGradient {
  /** ∂f_target/∂x per row, [n, H, W, C] */
  grad: tf.Tensor4D;
  /** f_target per row */
  outputs: Float32Array;
  sums: (NodeSums | undefined)[];
}

/** Forward + gradient for a batch of inputs (SmoothGrad samples, IG path points). */
export function batchGradient(prep: PreparedGraph, xs: tf.Tensor4D, target: number, checkpoint?: () => void): BatchGradient {
  const acts = forward(prep, xs);
  try {
    const outputs = tf.tidy(() => tf.gather(acts[prep.graph.output], [target], 1).dataSync() as Float32Array);
    const res = signalBackward(prep, acts, target, 'gradient', { checkpoint });
    res.kept.forEach((t) => t.dispose());
    return { grad: res.input as tf.Tensor4D, outputs: new Float32Array(outputs), sums: res.sums };
  } finally {
    acts.forEach((t) => t.dispose());
  }
}

/** Accumulates per-node sums over several passes, divided by `count` at the end. */
export class SumAccumulator {
  private readonly acc: ({ out: number; in: number } | undefined)[] = [];
  add(sums: (NodeSums | undefined)[]): void {
    sums.forEach((s, i) => {
      if (!s) return;
      const a = (this.acc[i] ??= { out: 0, in: 0 });
      a.out += s.out;
      a.in += s.in;
    });
  }
  mean(count: number): (NodeSums | undefined)[] {
    return this.acc.map((s) => (s ? { out: s.out / count, in: s.in / count } : undefined));
  }
}

function run(ctx: MethodContext, rule: SignalRule, timesInput: boolean): MethodRun {
  const res = signalBackward(ctx.prep, ctx.acts, ctx.target, rule, { checkpoint: ctx.checkpoint, keep: ctx.keep });
  let relevance = res.input;
  if (timesInput) {
    relevance = tf.mul(res.input, ctx.x);
    res.input.dispose();
  }
  return { relevance, sums: res.sums, ruleText: signalRuleText(ctx.prep.graph, rule), composite: null, kept: res.kept };
}

registerMethod('gradient', (ctx) => run(ctx, 'gradient', false));
registerMethod('gradient-x-input', (ctx) => run(ctx, 'gradient', true));
registerMethod('deconvnet', (ctx) => run(ctx, 'deconvnet', false));
registerMethod('guided-backprop', (ctx) => run(ctx, 'guided', false));
