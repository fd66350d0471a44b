/**
 * The gradient family as explicit backward passes (no tf.grad: the wasm backend lacks several
 * gradient kernels). One handler serves three signal rules that differ only at ReLU-like activations:
 *   gradient        s · f'(x)                      (saliency, gradient×input, SmoothGrad, IG)
 *   deconvnet       relu(s)                        (the forward mask is ignored, DESIGN.md)
 *   guided          s · f'(x) · 1[s > 0]           (both masks)
 * Every other node passes the ordinary vector–Jacobian product: transposed linear ops, winner-take-all
 * max pooling (the window's first maximum, as TF's MaxPoolGrad), average pooling spread by 1/count.
 * Each op's backward lives in its op-table entry (src/core/ops/<op>.ts, `signal`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import { backward, type BackwardResult, type NodeBackward, type NodeSums } from '../engine/backward';
import type { PreparedGraph } from '../engine/prepared';
import { forward } from '../engine/forward';
import { opDef } from '../ops/registry';
import type { SignalRule } from '../ops/types';
import type { MethodContext, MethodRun } from './method';
import { registerMethod } from './method';

export type { SignalRule };
export { activationGradient, isReluLike } from '../ops/activation';

/** The gradient family's backward: each node's op-table entry under the signal rule. */
export function gradientHandler(rule: SignalRule): NodeBackward {
  return (node, s, ctx) => opDef(node.op).signal(node, s, ctx, rule);
}

/** onehot(target) for a batch of n: the start of every gradient-family pass. */
export function gradientStart(prep: PreparedGraph, target: number, n: number): tf.Tensor {
  const k = prep.graph.nodes[prep.graph.output].shape[0];
  return tf.tidy(() => tf.cast(tf.oneHot(tf.fill([n], target, 'int32') as tf.Tensor1D, k), 'float32'));
}

export function signalRuleText(g: { nodes: Node[]; input: number }, rule: SignalRule): Map<number, string> {
  const m = new Map<number, string>();
  for (const n of g.nodes) if (n.id !== g.input) m.set(n.id, opDef(n.op).signalRuleText(n, rule));
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
