/** Normalisation over the last axis with optional affine part (LayerNorm; ConvNeXt's LayerNorm2d after a permute). */
import type { OpDef } from './types';
import { never } from './common';
import { tensorBackward, tensorForward } from '../engine/tensorOps';
import { layerNormRelevance } from '../rules/transformerRules';
import type { Emitter, OnnxBackward } from '../onnx/emitter';
import type { Node } from '../graph/ir';
import { layerNormStats, meanLast } from '../onnx/tensorEmit';

/** γ or β as a [D] initializer (broadcasts over the last axis in IR order). */
function affine(e: Emitter, node: Node, which: 'gamma' | 'beta'): string | undefined {
  const p = node.params[which];
  return p ? e.g.weight(p.data, [p.data.length], `${which}_${node.id}`) : undefined;
}

function layerNormForward(e: Emitter, node: Node, xIn: string): string {
  const { centred, inv } = layerNormStats(e, node, e.toIr(node.inputs[0], xIn));
  let y = e.mul(centred, inv);
  const g = affine(e, node, 'gamma');
  const b = affine(e, node, 'beta');
  if (g) y = e.mul(y, g);
  if (b) y = e.add(y, b);
  return e.fromIr(node.id, y);
}

/** Compiled norm-identity (σ held constant, then the ε-rule on the linear map) or pass (rules/transformerRules.ts). */
function layerNormLrp(e: Emitter, node: Node, r: string, ctx: OnnxBackward): string[] {
  const rule = ctx.rules.get(node.id);
  if (rule?.kind === 'pass') {
    ctx.leak?.(node.id, e.g.floats([0]), e.g.floats([0]));
    return [r];
  }
  if (rule?.kind !== 'norm-identity') throw new Error(`rule ${rule?.kind} does not apply to LayerNorm '${node.name}'`);
  const x = e.toIr(node.inputs[0], ctx.acts[node.inputs[0]]);
  const y = e.toIr(node.id, ctx.acts[node.id]);
  const den = e.stabilize(y, rule.eps);
  const s = e.div(e.toIr(node.id, r), den);
  const gamma = affine(e, node, 'gamma');
  const gs = gamma ? e.mul(s, gamma) : s;
  const wts = e.mul(e.sub(gs, meanLast(e, gs)), layerNormStats(e, node, x).inv);
  // β only for the bias share (an initializer nothing reads would be left in the graph otherwise)
  ctx.leak?.(node.id, node.params.beta ? e.sum(e.mul(s, affine(e, node, 'beta')!)) : e.g.floats([0]), e.sum(e.mul(s, e.sub(den, y))));
  return [e.fromIr(node.inputs[0], e.mul(x, wts))];
}

/** Compiled gradient: dx = (g − mean(g) − x̂·mean(g·x̂)) / σ with g = s·γ. */
function layerNormSignal(e: Emitter, node: Node, sIn: string, ctx: OnnxBackward): string[] {
  const x = e.toIr(node.inputs[0], ctx.acts[node.inputs[0]]);
  const { centred, inv } = layerNormStats(e, node, x);
  const xh = e.mul(centred, inv);
  const s = e.toIr(node.id, sIn);
  const gamma = affine(e, node, 'gamma');
  const g = gamma ? e.mul(s, gamma) : s;
  return [e.fromIr(node.inputs[0], e.mul(e.sub(e.sub(g, meanLast(e, g)), e.mul(xh, meanLast(e, e.mul(g, xh)))), inv))];
}

export const layerNorm: OpDef = {
  kind: 'layerNorm',
  shape: (node, ins) => {
    const a = ins[0];
    const d = a[a.length - 1];
    for (const p of [node.params.gamma, node.params.beta]) if (p && p.data.length !== d) throw new Error(`layer '${node.name}': ${p.data.length} affine values for ${d} features`);
    return a.slice();
  },
  forward: (prep, node, ins) => tensorForward(prep, node, ins),
  lrp: (node, r, ctx) => layerNormRelevance(node, r, ctx, ctx.rules.get(node.id)!),
  signal: (node, s, ctx) => tensorBackward(ctx.prep, node, s, ctx.acts),
  lrpRuleText: () => 'rule',
  signalRuleText: () => 'gradient',
  nonNegative: never,
  carriesBounds: never,
  rules: ['norm-identity', 'pass'],
  onnx: { forward: (e, node, ins) => layerNormForward(e, node, ins[0]), lrp: layerNormLrp, signal: layerNormSignal },
};
