/**
 * LRP's per-node backward: weighted layers apply their rule; pooling, add and concat follow the
 * DESIGN.md conventions (winner-take-all max pooling, proportional z-rule for average pooling and
 * add, split for concat); activations pass relevance unchanged; reshapes and pads reshape and crop.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Graph, Node } from '../graph/ir';
import { consumers } from '../graph/ir';
import type { BackwardContext, NodeBackward } from '../engine/backward';
import type { ResolvedRule } from '../rules/resolved';
import { STABILIZER } from '../rules/resolved';
import { applyLinearRule, stabilize } from '../rules/applyRule';
import { avgPoolTransposed, maxPoolBackward } from '../engine/poolOps';
import { batchedAxis } from '../engine/forward';
import { tensorBackward } from '../engine/tensorOps';
import { constantRelevance, layerNormRelevance, matmulRelevance, softmaxRelevance } from '../rules/transformerRules';

/** Structural (non-weighted) nodes, shared by LRP and the gradient-family methods. */
export function splitConcat(node: Node, signal: tf.Tensor, ctx: BackwardContext): tf.Tensor[] {
  const axis = batchedAxis(node, signal.rank);
  const sizes = node.inputs.map((i) => ctx.acts[i].shape[axis]);
  return tf.split(signal, sizes, axis);
}

export function reshapeBack(node: Node, signal: tf.Tensor, ctx: BackwardContext): tf.Tensor[] {
  return [tf.reshape(signal, ctx.acts[node.inputs[0]].shape)];
}

export function cropPad(node: Node, signal: tf.Tensor): tf.Tensor[] {
  const p = node.attrs.pads!;
  const [n, h, w, c] = signal.shape;
  return [tf.slice(signal, [0, p[0][0], p[1][0], 0], [n, h - p[0][0] - p[0][1], w - p[1][0] - p[1][1], c])];
}

/** How LRP treats each non-weighted op, for the conservation table. */
export function structuralRuleText(node: Node): string {
  switch (node.op) {
    case 'maxPool': return 'winner-take-all';
    case 'avgPool': case 'globalAvgPool': case 'add': return 'z-rule';
    case 'concat': return 'split';
    case 'mul': return 'gate';
    case 'constant': return 'absorbs (bias)';
    case 'transpose': case 'select': return 'moves';
    default: return 'pass';
  }
}

/** s = R / stab(z) for the z-rule of a parameter-free node, recording its stabilizer leak Σ s·(den − z). */
function zRuleSignal(node: Node, r: tf.Tensor, ctx: BackwardContext): tf.Tensor {
  const z = ctx.acts[node.id];
  const den = stabilize(z, STABILIZER);
  const s = tf.div(r, den);
  if (ctx.leaks) ctx.leaks.set(node.id, [tf.keep(tf.scalar(0)), tf.keep(tf.sum(tf.mul(s, tf.sub(den, z))))]);
  return s;
}

/**
 * Weighted nodes at whose outputs no relevance can arrive where z < 0: every consumer is a ReLU (so
 * those positions have activation 0) and every rule downstream scales relevance by its input
 * activation (all but flat and w²), up to the next weighted layers.
 */
export function silentNegativeOutputs(g: Graph, rules: Map<number, ResolvedRule>): boolean[] {
  const cons = consumers(g);
  const relu = (id: number): boolean => {
    const n = g.nodes[id];
    return n.op === 'activation' && (n.attrs.activation === 'relu' || n.attrs.activation === 'relu6');
  };
  const scalesByActivation = (start: number): boolean => {
    const stack = [start];
    const seen = new Set<number>();
    while (stack.length) {
      const id = stack.pop()!;
      for (const c of cons[id]) {
        if (seen.has(c)) continue;
        seen.add(c);
        const rule = rules.get(c);
        if (rule) {
          if (rule.kind === 'flat' || rule.kind === 'w-square' || rule.kind === 'pass') return false;
        } else stack.push(c);
      }
    }
    return true;
  };
  return g.nodes.map((n) => n.id !== g.output && cons[n.id].length > 0 && cons[n.id].every(relu) && scalesByActivation(n.id));
}

export function lrpHandler(rules: Map<number, ResolvedRule>, nonNegative: boolean[], silent: boolean[] = []): NodeBackward {
  const ruleOf = (node: Node): ResolvedRule => {
    const rule = rules.get(node.id);
    if (!rule) throw new Error(`no rule for layer '${node.name}'`);
    return rule;
  };
  return (node, r, ctx) => {
    const a = ctx.acts[node.inputs[0]];
    switch (node.op) {
      case 'conv2d': case 'depthwiseConv2d': case 'dense': case 'batchNorm': {
        const rule = rules.get(node.id);
        if (!rule) throw new Error(`no rule for layer '${node.name}'`);
        const leak = ctx.leaks ? (b: tf.Tensor, st: tf.Tensor) => ctx.leaks!.set(node.id, [b, st]) : undefined;
        return [applyLinearRule({
          prep: ctx.prep, node, a, z: ctx.acts[node.id], nonNegativeInput: nonNegative[node.inputs[0]],
          negativeOutputsSilent: silent[node.id], leak,
        }, r, rule)];
      }
      case 'maxPool':
        return [maxPoolBackward(a as tf.Tensor4D, ctx.acts[node.id] as tf.Tensor4D, r as tf.Tensor4D, node.attrs.pool!)];
      case 'avgPool': {
        const s = zRuleSignal(node, r, ctx) as tf.Tensor4D;
        return [tf.mul(a, avgPoolTransposed(s, node.attrs.pool!, [a.shape[1]!, a.shape[2]!]))];
      }
      case 'globalAvgPool': {
        const [n, h, w, c] = a.shape;
        const s = tf.reshape(tf.div(zRuleSignal(node, r, ctx), h * w), [n, 1, 1, c]);
        return [tf.mul(a, s)];
      }
      case 'add': {
        const s = zRuleSignal(node, r, ctx);
        return node.inputs.map((i) => tf.mul(ctx.acts[i], s));
      }
      case 'mul': return [r, tf.zerosLike(ctx.acts[node.inputs[1]])];
      case 'concat': return splitConcat(node, r, ctx);
      case 'flatten': case 'reshape': return reshapeBack(node, r, ctx);
      case 'pad': return cropPad(node, r);
      case 'activation': {
        // a softmax inside the network (attention) takes its own rule; other activations pass relevance
        const rule = rules.get(node.id);
        return rule ? softmaxRelevance(node, r, ctx, rule) : [r];
      }
      case 'identity': return [r];
      case 'input': return [];
      case 'transpose': case 'select': return tensorBackward(ctx.prep, node, r, ctx.acts);
      case 'constant': return constantRelevance(node, r, ctx);
      case 'matmul': return matmulRelevance(node, r, ctx, ruleOf(node));
      case 'layerNorm': return layerNormRelevance(node, r, ctx, ruleOf(node));
    }
  };
}
