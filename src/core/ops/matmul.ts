/** Product of two activations over the last two axes (attention Q·Kᵀ and A·V): rules bilinear-uniform / bilinear-value. */
import type { OpDef } from './types';
import { never } from './common';
import { tensorBackward, tensorForward } from '../engine/tensorOps';
import { matmulRelevance } from '../rules/transformerRules';
import type { Emitter, OnnxBackward } from '../onnx/emitter';
import type { Node } from '../graph/ir';
import { swapLast2, zerosLike } from '../onnx/tensorEmit';

/** The two factors, the product and the signal in IR order, and the rank of the batched values. */
function irValues(e: Emitter, node: Node, s: string, ctx: OnnxBackward) {
  const [ia, ib] = node.inputs;
  return { a: e.toIr(ia, ctx.acts[ia]), b: e.toIr(ib, ctx.acts[ib]), s: e.toIr(node.id, s), rank: node.shape.length + 1 };
}

/** Compiled LRP: bilinear-uniform (half to each factor) or bilinear-value (all to B), ε-stabilised (rules/transformerRules.ts). */
function matmulLrp(e: Emitter, node: Node, r: string, ctx: OnnxBackward): string[] {
  const rule = ctx.rules.get(node.id);
  if (!rule || (rule.kind !== 'bilinear-uniform' && rule.kind !== 'bilinear-value')) throw new Error(`rule ${rule?.kind} does not apply to matmul '${node.name}'`);
  const { a, b, s: rIr, rank } = irValues(e, node, r, ctx);
  const z = e.toIr(node.id, ctx.acts[node.id]);
  const den = e.stabilize(z, rule.eps);
  const s = e.div(rIr, den);
  ctx.leak?.(node.id, e.g.floats([0]), e.sum(e.mul(s, e.sub(den, z))));
  const rb = e.mul(b, e.g.op('MatMul', [swapLast2(e, a, rank), s]));
  if (rule.kind === 'bilinear-value') return [zerosLike(e, ctx.acts[node.inputs[0]]), e.fromIr(node.inputs[1], rb)];
  const ra = e.mul(a, e.g.op('MatMul', [s, swapLast2(e, b, rank)]));
  const half = e.g.scalar(0.5);
  return [e.fromIr(node.inputs[0], e.mul(ra, half)), e.fromIr(node.inputs[1], e.mul(rb, half))];
}

export const matmul: OpDef = {
  kind: 'matmul',
  shape: (node, ins) => {
    const [a, b] = ins;
    const r = a.length;
    if (r < 2 || b.length !== r || a.slice(0, -2).some((d, i) => d !== b[i]) || a[r - 1] !== b[r - 2]) {
      throw new Error(`layer '${node.name}': cannot multiply [${a.join(', ')}] by [${b?.join(', ')}]`);
    }
    return [...a.slice(0, -1), b[r - 1]];
  },
  forward: (prep, node, ins) => tensorForward(prep, node, ins),
  lrp: (node, r, ctx) => matmulRelevance(node, r, ctx, ctx.rules.get(node.id)!),
  signal: (node, s, ctx) => tensorBackward(ctx.prep, node, s, ctx.acts),
  lrpRuleText: () => 'rule',
  signalRuleText: () => 'gradient',
  nonNegative: never,
  carriesBounds: never,
  rules: ['bilinear-uniform', 'bilinear-value'],
  onnx: {
    forward: (e, node, ins) => e.fromIr(node.id, e.g.op('MatMul', [e.toIr(node.inputs[0], ins[0]), e.toIr(node.inputs[1], ins[1])])),
    lrp: matmulLrp,
    signal: (e, node, sig, ctx) => {
      const { a, b, s, rank } = irValues(e, node, sig, ctx);
      return [e.fromIr(node.inputs[0], e.g.op('MatMul', [s, swapLast2(e, b, rank)])), e.fromIr(node.inputs[1], e.g.op('MatMul', [swapLast2(e, a, rank), s]))];
    },
  },
};
