/**
 * One generic LRP rule on a weighted layer (Zennit's BasicHook idea): a few (input modifier, kernel
 * variant) pairs give the denominator z; the relevance is R_in = Σ in_mod(a) ⊙ Wᵀ_v (R / stab(z)).
 * Every rule of DESIGN.md is a preset of it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import type { PreparedGraph } from '../engine/prepared';
import type { ResolvedRule } from './resolved';
import { STABILIZER } from './resolved';
import { biasVariant, linearForward, linearTransposed, type KernelVariant } from './linearOps';
import { runNode } from '../engine/forward';
import { blockSum } from '../engine/backward';
import { carryBounds } from './boundCarry';
import { LensError } from '../errors';

/**
 * z + ε·sign(z) with sign(0) = +1, written as z − ε·step(−z, −1) (step(v, α) = v > 0 ? 1 : α):
 * on wasm a broadcasting `where` is ~30× slower than these unary ops.
 */
export function stabilize(z: tf.Tensor, eps: number | tf.Tensor): tf.Tensor {
  return tf.sub(z, tf.mul(tf.step(tf.neg(z), -1), eps));
}

/** min(x, 0) without the slow broadcasting minimum of the wasm backend. */
export function negativePart(x: tf.Tensor): tf.Tensor {
  return tf.neg(tf.relu(tf.neg(x)));
}

function addBias(z: tf.Tensor, b: tf.Tensor | undefined): tf.Tensor {
  return b ? tf.add(z, b) : z;
}

/** The z^B bound images at the layer's input (rules/boundCarry.ts says where they come from). */
function boundPair(prep: PreparedGraph, node: Node, low: number | number[], high: number | number[]): [tf.Tensor, tf.Tensor] {
  const perChannel = (shape: number[], v: number | number[]): tf.Tensor => {
    const c = shape[shape.length - 1];
    const vals = Array.isArray(v) ? v : new Array(c).fill(v);
    if (vals.length !== c) {
      throw new LensError('bad-usage', `z-box bounds of layer '${node.name}' have ${vals.length} values, its input has ${c} channels`);
    }
    return tf.mul(tf.ones([1, ...shape]), tf.tensor1d(vals));
  };
  return carryBounds(prep.graph, node, {
    images: (shape) => [perChannel(shape, low), perChannel(shape, high)],
    run: (n, ins) => runNode(prep, n, ins),
    order: (l, h) => [tf.minimum(l, h), tf.maximum(l, h)],
  });
}

function boundImage(prep: PreparedGraph, node: Node, which: 'low' | 'high', low: number | number[], high: number | number[]): tf.Tensor {
  const key = `bound:${which}:${String(low)}:${String(high)}`;
  return prep.derived(node.id, key, () => boundPair(prep, node, low, high)[which === 'low' ? 0 : 1], `bound:${which}`);
}

export interface RuleContext {
  prep: PreparedGraph;
  node: Node;
  /** the layer's input activation */
  a: tf.Tensor;
  /** the layer's recorded output (with bias) */
  z: tf.Tensor;
  /** statically known: a ≥ 0 everywhere (after a ReLU), so the a⁻ terms vanish */
  nonNegativeInput: boolean;
  /** statically known: no relevance arrives where z < 0 (a ReLU follows and later rules scale by activations) */
  negativeOutputsSilent?: boolean;
  /** when set, receives the closed-form leak: Σ s·bias′ and Σ s·(den − z′) (kept scalars) */
  leak?: (bias: tf.Tensor, stabilizer: tf.Tensor) => void;
}

/**
 * Closed-form leak of a rule term with s = w·R/den: the relevance that never reaches the inputs is
 * Σ s·b′ (absorbed by the bias in the denominator) plus Σ s·(den − z′) (by the stabilizer).
 */
class LeakSum {
  bias: tf.Tensor = tf.scalar(0);
  stab: tf.Tensor = tf.scalar(0);
  constructor(private readonly on: boolean) {}
  add(s: tf.Tensor, bias: tf.Tensor | undefined, den: tf.Tensor, z: tf.Tensor, sign = 1): void {
    if (!this.on) return;
    // two-level sums as the row's own: a flat float32 sum of a 56×56×256 layer is off by ~1e-4 of itself
    if (bias) this.bias = tf.add(this.bias, tf.mul(blockSum(tf.mul(s, bias)), sign));
    this.stab = tf.add(this.stab, tf.mul(blockSum(tf.mul(s, tf.sub(den, z))), sign));
  }
  report(ctx: RuleContext): void {
    if (this.on) ctx.leak!(tf.keep(this.bias), tf.keep(this.stab));
  }
}

export function applyLinearRule(ctx: RuleContext, r: tf.Tensor, rule: ResolvedRule): tf.Tensor {
  return tf.tidy(() => {
    const leak = new LeakSum(!!ctx.leak);
    const out = ruleBody(ctx, r, rule, leak);
    leak.report(ctx);
    return out;
  });
}

function ruleBody(ctx: RuleContext, r: tf.Tensor, rule: ResolvedRule, leak: LeakSum): tf.Tensor {
  const { prep, node, a } = ctx;
  switch (rule.kind) {
    case 'z': {
      const z = rule.bias ? ctx.z : linearForward(prep, node, a, 'w');
      let eps: number | tf.Tensor = rule.eps;
      if (rule.stdScaled) eps = tf.mul(tf.sqrt(tf.moments(z).variance), rule.eps);
      const den = stabilize(z, eps);
      const s = tf.div(r, den);
      leak.add(s, rule.bias ? biasVariant(prep, node, 'b') : undefined, den, z);
      return tf.mul(a, linearTransposed(prep, node, s, 'w'));
    }
    case 'sign': {
      // R_in = s(a) ⊙ Wᵀ(R / stab(z)), s(a) = +1 where a ≥ μ else −1: −step(μ − a, −1)
      const z = rule.bias ? ctx.z : linearForward(prep, node, a, 'w');
      const s = tf.div(r, stabilize(z, STABILIZER));
      const signs = tf.neg(tf.step(tf.sub(rule.mu, a), -1));
      return tf.mul(signs, linearTransposed(prep, node, s, 'w'));
    }
    case 'gamma': {
      // Sign-aware γ (as Zennit): outputs with z ≥ 0 favour positive contributions (a⁺ with w+γw⁺,
      // a⁻ with w+γw⁻, bias b+γb⁺), outputs with z < 0 negative ones. For a ≥ 0 and z ≥ 0 this is
      // DESIGN.md's w+γw⁺ / b+γb⁺, the only branch needed when no relevance arrives at z < 0.
      const vp = `wg:${rule.gamma}` as const;
      const vn = `wgn:${rule.gamma}` as const;
      const pos = ctx.nonNegativeInput ? a : tf.relu(a);
      const neg = ctx.nonNegativeInput ? undefined : negativePart(a);
      const branch = (rm: tf.Tensor, wa: KernelVariant, wb: KernelVariant, b: tf.Tensor | undefined): tf.Tensor => {
        let z = linearForward(prep, node, pos, wa, b);
        if (neg) z = tf.add(z, linearForward(prep, node, neg, wb));
        const den = stabilize(z, STABILIZER);
        const s = tf.div(rm, den);
        leak.add(s, b, den, z);
        let out = tf.mul(pos, linearTransposed(prep, node, s, wa));
        if (neg) out = tf.add(out, tf.mul(neg, linearTransposed(prep, node, s, wb)));
        return out;
      };
      const bp = rule.bias ? biasVariant(prep, node, `bg:${rule.gamma}`) : undefined;
      // Bias-free: the branch follows the sign of z without bias (the denominators' own sign), which may
      // differ from the recorded output's, so the ReLU shortcut does not apply. Zennit 0.5.1 picks the branch
      // by the output with bias instead; its denominators can then have the other sign and blow up
      // (nsfwjs MobileNetV2: non-finite relevance), so we deliberately differ there (zennit.test.ts).
      if (ctx.negativeOutputsSilent && !neg && rule.bias) return branch(r, vp, vn, bp);
      const zSign = rule.bias ? ctx.z : linearForward(prep, node, a, 'w');
      const down = tf.step(tf.neg(zSign), 0); // 1 where z < 0
      return tf.add(
        branch(tf.mul(r, tf.sub(1, down)), vp, vn, bp),
        branch(tf.mul(r, down), vn, vp, rule.bias ? biasVariant(prep, node, `bgn:${rule.gamma}`) : undefined),
      );
    }
    case 'norm-identity': case 'softmax-taylor': case 'held-constant': case 'bilinear-uniform': case 'bilinear-value':
      throw new LensError('bad-usage', `rule '${rule.kind}' is not for linear layers; '${node.name}' is ${node.op}`);
    case 'pass':
      if (node.op !== 'batchNorm') throw new LensError('bad-usage', `rule 'pass' is for elementwise layers; '${node.name}' is ${node.op}`);
      return r;
    case 'alpha-beta': {
      const pos = ctx.nonNegativeInput ? a : tf.relu(a);
      const neg = ctx.nonNegativeInput ? undefined : negativePart(a);
      // positive contributions: a⁺w⁺ + a⁻w⁻ (+ b⁺); negative: a⁺w⁻ + a⁻w⁺ (+ b⁻)
      const part = (wa: 'w+' | 'w-', wb: 'w+' | 'w-', b: 'b+' | 'b-', bias: boolean, weight: number): tf.Tensor => {
        let z = linearForward(prep, node, pos, wa);
        if (neg) z = tf.add(z, linearForward(prep, node, neg, wb));
        const bv = bias ? biasVariant(prep, node, b) : undefined;
        z = addBias(z, bv);
        const den = stabilize(z, STABILIZER);
        const s = tf.mul(tf.div(r, den), weight);
        leak.add(s, bv, den, z, b === 'b+' ? 1 : -1);
        let out = tf.mul(pos, linearTransposed(prep, node, s, wa));
        if (neg) out = tf.add(out, tf.mul(neg, linearTransposed(prep, node, s, wb)));
        return out;
      };
      const rp = part('w+', 'w-', 'b+', rule.bias, rule.alpha);
      return rule.beta === 0 ? rp : tf.sub(rp, part('w-', 'w+', 'b-', rule.bias, rule.beta));
    }
    case 'flat': case 'w-square': {
      const v = rule.kind === 'flat' ? 'ones' : 'w2';
      const z = prep.derived(node.id, `z:${v}`, () => linearForward(prep, node, tf.ones([1, ...prep.graph.nodes[node.inputs[0]].shape]), v));
      const den = stabilize(z, STABILIZER);
      const s = tf.div(r, den);
      leak.add(s, undefined, den, z);
      return linearTransposed(prep, node, s, v);
    }
    case 'z-box': {
      const low = boundImage(prep, node, 'low', rule.low, rule.high);
      const high = boundImage(prep, node, 'high', rule.low, rule.high);
      const zl = prep.derived(node.id, `zl:${String(rule.low)}:${String(rule.high)}`, () => linearForward(prep, node, low, 'w+'), 'zl');
      const zh = prep.derived(node.id, `zh:${String(rule.low)}:${String(rule.high)}`, () => linearForward(prep, node, high, 'w-'), 'zh');
      // the bias cancels: (xw + b) − (lw⁺ + b⁺) − (hw⁻ + b⁻)
      const z = tf.sub(tf.sub(linearForward(prep, node, a, 'w'), zl), zh);
      const den = stabilize(z, STABILIZER);
      const s = tf.div(r, den);
      leak.add(s, undefined, den, z);
      return tf.sub(
        tf.sub(tf.mul(a, linearTransposed(prep, node, s, 'w')), tf.mul(low, linearTransposed(prep, node, s, 'w+'))),
        tf.mul(high, linearTransposed(prep, node, s, 'w-')),
      );
    }
  }
}
