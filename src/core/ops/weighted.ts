/** The entries every weighted op (conv2d, depthwise, dense, stand-alone BatchNorm) shares, built around its LinearOp. */
import type * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import type { BackwardContext } from '../engine/backward';
import { applyLinearRule } from '../rules/applyRule';
import { linearTransposed } from '../rules/linearOps';
import { RULE_NAMES } from '../../shared/ruleSpec';
import type { LinearOp, LrpContext, OpDef, OnnxOp } from './types';
import type { OnnxLinear } from '../onnx/emitter';
import { emitLinearRule } from '../onnx/rules';
import { never } from './common';

/** LRP: the layer's resolved rule (applyRule.ts), recording its bias / stabilizer leaks. */
function weightedLrp(node: Node, r: tf.Tensor, ctx: LrpContext): tf.Tensor[] {
  const rule = ctx.rules.get(node.id);
  if (!rule) throw new Error(`no rule for layer '${node.name}'`);
  const leak = ctx.leaks ? (b: tf.Tensor, st: tf.Tensor) => ctx.leaks!.set(node.id, [b, st]) : undefined;
  return [applyLinearRule({
    prep: ctx.prep, node, a: ctx.acts[node.inputs[0]], z: ctx.acts[node.id], nonNegativeInput: ctx.nonNegative[node.inputs[0]],
    negativeOutputsSilent: ctx.silent[node.id], leak,
  }, r, rule)];
}

/** Gradient family: the transposed op with the layer's own weights. */
function weightedSignal(node: Node, s: tf.Tensor, ctx: BackwardContext): tf.Tensor[] {
  return [linearTransposed(ctx.prep, node, s, 'w')];
}

/** The rules of every layer with a kernel: all but 'pass' (which only suits elementwise layers). */
export const KERNEL_RULES = RULE_NAMES.filter((r) => r !== 'pass');

/** An OpDef for a weighted op from its shape rule, LinearOp and what differs (group, rules, check). */
export function weightedOp(
  def: Pick<OpDef, 'kind' | 'shape' | 'group'> & Partial<Pick<OpDef, 'check' | 'rules' | 'weighted' | 'carriesBounds'>>, linear: LinearOp,
  onnxLinear?: OnnxLinear,
): OpDef {
  return {
    rules: KERNEL_RULES,
    weighted: true,
    carriesBounds: never,
    ...def,
    linear,
    forward: (prep, node, ins) => linear.forward(prep, node, ins[0], linear.weight(prep, node), linear.bias(prep, node)),
    lrp: weightedLrp,
    signal: weightedSignal,
    lrpRuleText: () => 'rule',
    signalRuleText: () => 'transpose',
    nonNegative: never,
    ...(onnxLinear ? { onnx: weightedOnnx(onnxLinear) } : {}),
  };
}

/** The compiled form of a weighted op: forward with its own bias, LRP rules via onnx/rules.ts, the transpose for gradients. */
function weightedOnnx(linear: OnnxLinear): OnnxOp {
  return {
    linear,
    forward: (e, node, ins) => e.forward(node, ins[0], 'w', e.bias(node, 'b')),
    lrp: (e, node, r, ctx) => [emitLinearRule(e, node, r, ctx)],
    signal: (e, node, s) => [e.transposed(node, s, 'w')],
  };
}
