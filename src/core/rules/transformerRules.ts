/**
 * LRP rules of the transformer ops (README "Transformers"), each with its closed-form leak for the
 * conservation table (bias share, stabilizer share):
 *
 * LayerNorm y = γ·(x − μ)/σ + β:
 *   norm-identity (AttnLRP, Achtibat et al. 2024; CP-LRP, Ali et al. 2022): σ held constant, the layer is
 *     then linear, y_i = Σ_j W_ij x_j + β_i with W_ij = γ_i(δ_ij − 1/D)/σ, and the ε-rule applies:
 *     R_j = x_j Σ_i W_ij s_i, s = R/stab(y, ε). Leak: Σ s·β (bias), Σ s·(stab(y) − y).
 *   pass: R unchanged (the identity rule on the whole layer).
 * Softmax inside the network, y = softmax(x) over the last axis:
 *   softmax-taylor (AttnLRP Prop. 3.1, Taylor at x with bias): R_in,i = x_i (R_i − y_i Σ_j R_j); the bias
 *     of the expansion absorbs Σ_j R_j (1 − x_j + Σ_i x_i y_i) per row.
 *   held-constant (CP-LRP): the attention weights are constants, no relevance flows into them (all of
 *     what arrives is absorbed; in CP-LRP nothing arrives because A·V sends it to V).
 * MatMul of two activations z = A·B (Q·Kᵀ, A·V), s = R/stab(z, ε):
 *   bilinear-uniform (AttnLRP Prop. 3.3, ε then uniform): R_A = ½ A ⊙ (s Bᵀ), R_B = ½ B ⊙ (Aᵀ s).
 *   bilinear-value (CP-LRP): A held constant, z linear in B: R_B = B ⊙ (Aᵀ s), R_A = 0.
 * A constant node (class token, position embedding, attention bias) absorbs what reaches it (bias share).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import { blockSum, type BackwardContext } from '../engine/backward';
import { layerNormInvStd } from '../engine/tensorOps';
import { stabilize } from './applyRule';
import type { ResolvedRule } from './resolved';

// Leak sums in two levels (blockSum): ViT-B/16's attention has 466k values per softmax, and a flat float32
// sum of its Taylor bias left its table row open by 1e-4.
function recordLeak(ctx: BackwardContext, node: Node, bias: tf.Tensor, stab: tf.Tensor): void {
  if (ctx.leaks) ctx.leaks.set(node.id, [tf.keep(bias), tf.keep(stab)]);
}

export function layerNormRelevance(node: Node, r: tf.Tensor, ctx: BackwardContext, rule: ResolvedRule): tf.Tensor[] {
  if (rule.kind === 'pass') {
    recordLeak(ctx, node, tf.scalar(0), tf.scalar(0));
    return [r];
  }
  if (rule.kind !== 'norm-identity') throw new Error(`rule ${rule.kind} does not apply to LayerNorm '${node.name}'`);
  const x = ctx.acts[node.inputs[0]];
  const y = ctx.acts[node.id];
  const den = stabilize(y, rule.eps);
  const s = tf.div(r, den);
  const gamma = node.params.gamma ? tf.tensor1d(node.params.gamma.data) : undefined;
  const beta = node.params.beta ? tf.tensor1d(node.params.beta.data) : undefined;
  // Wᵀs: (γs − mean(γs)) / σ, σ from the forward input (held constant)
  const gs = gamma ? tf.mul(s, gamma) : s;
  const wts = tf.mul(tf.sub(gs, tf.mean(gs, -1, true)), layerNormInvStd(node, x));
  recordLeak(ctx, node, beta ? blockSum(tf.mul(s, beta)) : tf.scalar(0), blockSum(tf.mul(s, tf.sub(den, y))));
  return [tf.mul(x, wts)];
}

export function softmaxRelevance(node: Node, r: tf.Tensor, ctx: BackwardContext, rule: ResolvedRule): tf.Tensor[] {
  const x = ctx.acts[node.inputs[0]];
  const y = ctx.acts[node.id];
  if (rule.kind === 'held-constant') {
    recordLeak(ctx, node, blockSum(r), tf.scalar(0));
    return [tf.zerosLike(x)];
  }
  if (rule.kind !== 'softmax-taylor') throw new Error(`rule ${rule.kind} does not apply to softmax '${node.name}'`);
  const rowSum = tf.sum(r, -1, true);
  const out = tf.mul(x, tf.sub(r, tf.mul(y, rowSum)));
  // bias of the expansion, per row: Σ_j R_j (1 − x_j) + (Σ_i x_i y_i) Σ_j R_j
  const xy = tf.sum(tf.mul(x, y), -1, true);
  const bias = tf.add(blockSum(tf.mul(r, tf.sub(1, x))), blockSum(tf.mul(xy, rowSum)));
  recordLeak(ctx, node, bias, tf.scalar(0));
  return [out];
}

export function matmulRelevance(node: Node, r: tf.Tensor, ctx: BackwardContext, rule: ResolvedRule): tf.Tensor[] {
  const a = ctx.acts[node.inputs[0]];
  const b = ctx.acts[node.inputs[1]];
  const z = ctx.acts[node.id];
  if (rule.kind !== 'bilinear-uniform' && rule.kind !== 'bilinear-value') throw new Error(`rule ${rule.kind} does not apply to matmul '${node.name}'`);
  const den = stabilize(z, rule.eps);
  const s = tf.div(r, den);
  recordLeak(ctx, node, tf.scalar(0), blockSum(tf.mul(s, tf.sub(den, z))));
  const rb = tf.mul(b, tf.matMul(a, s, true, false));
  if (rule.kind === 'bilinear-value') return [tf.zerosLike(a), rb];
  const ra = tf.mul(a, tf.matMul(s, b, false, true));
  return [tf.mul(ra, 0.5), tf.mul(rb, 0.5)];
}

export function constantRelevance(node: Node, r: tf.Tensor, ctx: BackwardContext): tf.Tensor[] {
  recordLeak(ctx, node, blockSum(r), tf.scalar(0));
  return [tf.zerosLike(ctx.acts[node.inputs[0]])];
}
