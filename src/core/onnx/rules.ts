/**
 * The LRP rules of rules/applyRule.ts emitted into the compiled graph: the same generic rule (input
 * modifier, kernel variant, stabilized denominator) with the modified kernels as initializers. Constant
 * subgraphs (z^B bound images through the input scaling, flat / w² denominators) are folded by onnxruntime.
 */
import type { Node } from '../graph/ir';
import type { ResolvedRule } from '../rules/resolved';
import { scalesByInput, STABILIZER } from '../rules/resolved';
import { opDef } from '../ops/lookup';
import { boundsAsGiven, carryBounds } from '../rules/boundCarry';
import { LensError } from '../errors';
import type { BiasVariant, Emitter, OnnxBackward } from './emitter';
import { valuesRead, type Subgraph } from './onnxGraph';

/**
 * What of a rule shapes the compiled graph (its parameters are graph inputs): sessions are cached by
 * this, so ε, γ, α, β and z^B bounds change without a recompile.
 */
export function ruleStructure(r: ResolvedRule): unknown {
  switch (r.kind) {
    case 'z': return { kind: r.kind, bias: r.bias, stdScaled: r.stdScaled };
    case 'gamma': return { kind: r.kind, bias: r.bias };
    case 'z-box': return { kind: r.kind };
    case 'sign': return { kind: r.kind, bias: r.bias };
    case 'alpha-beta': return { kind: r.kind, bias: r.bias, beta: r.beta === 0 ? 0 : 'input' };
    default: return r;
  }
}

// Readers of rule parameters, made at module level: a closure made inside the emission would keep its
// scope, and with it the Emitter and every initializer of the compile, alive as long as the session.
const readEps = (q: ResolvedRule): number[] => [q.kind === 'z' ? q.eps : 0];
const readGamma = (q: ResolvedRule): number[] => [q.kind === 'gamma' ? q.gamma : 0];
const readGammaValue = (q: ResolvedRule): number | undefined => (q.kind === 'gamma' ? q.gamma : undefined);
const readAlpha = (q: ResolvedRule): number[] => [q.kind === 'alpha-beta' ? q.alpha : 0];
const readBeta = (q: ResolvedRule): number[] => [q.kind === 'alpha-beta' ? q.beta : 0];
const readMu = (q: ResolvedRule): number[] => [q.kind === 'sign' ? q.mu : 0];
function readBound(node: Node, c: number, which: 'low' | 'high'): (q: ResolvedRule) => number[] {
  return (q) => boundValues(node, c, q.kind === 'z-box' ? q[which] : 0);
}
function readZBox(node: Node, c: number, which: 'low' | 'high'): (q: ResolvedRule) => number[] | undefined {
  return (q) => (q.kind === 'z-box' ? boundValues(node, c, q[which]) : undefined);
}

class Leak {
  bias?: string;
  stab?: string;
  private readonly channels = new Map<string, string>();
  constructor(private readonly e: Emitter, private readonly node: Node, private readonly on: boolean) {}
  add(s: string, bias: string | undefined, den: string, z: string, sign = 1): void {
    if (!this.on) return;
    if (bias) this.bias = this.acc(this.bias, this.channelSum(s, bias), sign);
    this.stab = this.acc(this.stab, this.e.sum(this.e.mul(s, this.e.sub(den, z))), sign);
  }

  /** A branch whose stabilizer is the constant eps wherever s ≠ 0 (den = z + eps there): its share is eps·Σs. */
  addPositive(s: string, bias: string | undefined, eps: string, sign = 1): void {
    if (!this.on) return;
    if (bias) this.bias = this.acc(this.bias, this.channelSum(s, bias), sign);
    this.stab = this.acc(this.stab, this.e.mul(this.total(s), eps), sign);
  }

  /** Shares given whole (a rule that sums its branches itself). */
  addSums(bias: string | undefined, stab: string): void {
    if (!this.on) return;
    if (bias) this.bias = this.acc(this.bias, bias, 1);
    this.stab = this.acc(this.stab, stab, 1);
  }

  get wanted(): boolean {
    return this.on;
  }

  private acc(prev: string | undefined, t: string, sign: number): string {
    const v = sign === 1 ? t : this.e.g.op('Neg', [t]);
    return prev ? this.e.add(prev, v) : v;
  }

  /** s summed over batch and space, per channel ([1, C, 1, 1]; s itself if it is not a feature map), once per s. */
  private perChannel(s: string): string {
    const e = this.e;
    if (!e.isMap(this.node.id)) return s;
    let c = this.channels.get(s);
    if (!c) this.channels.set(s, (c = e.g.op('ReduceSum', [s, e.g.ints([0, 2, 3])], { keepdims: { i: 1 } })));
    return c;
  }

  /** Σ s·b with b per channel: no product as large as s. */
  channelSum(s: string, bias: string): string {
    return this.e.sum(this.e.mul(this.perChannel(s), bias));
  }

  /** Σ s. */
  total(s: string): string {
    return this.e.sum(this.perChannel(s));
  }
}

/** The values of one z^B bound per input channel (a number: the same for all). */
function boundValues(node: Node, c: number, v: number | number[]): number[] {
  const vals = Array.isArray(v) ? v : new Array<number>(c).fill(v);
  if (vals.length !== c) throw new LensError('bad-usage', `z-box bounds of layer '${node.name}' have ${vals.length} values, its input has ${c} channels`);
  return vals;
}

/**
 * Per-channel bound image [1, ...shape] in the compiled layout from the graph input p<id>_<low|high> ([C]),
 * so new bounds re-run the session.
 */
function perChannel(e: Emitter, node: Node, shape: number[], which: 'low' | 'high'): string {
  const c = shape[shape.length - 1];
  const p = e.param(node, which, [c], readBound(node, c, which));
  const compiled = shape.length === 3 ? [1, c, shape[0], shape[1]] : [1, ...shape];
  const lead = shape.length === 3 ? [1, c, 1, 1] : [...new Array<number>(shape.length).fill(1), c];
  return e.g.op('Expand', [e.g.op('Reshape', [p, e.g.ints(lead)]), e.g.ints(compiled)]);
}

/** The z^B bound images at the layer's input, carried from the graph input (rules/boundCarry.ts). */
function boundPair(e: Emitter, node: Node): [string, string] {
  return carryBounds(e.graph, node, {
    images: (shape) => [perChannel(e, node, shape, 'low'), perChannel(e, node, shape, 'high')],
    run: (n, ins) => opDef(n.op).onnx!.forward(e, n, ins),
    order: (l, h) => [e.g.op('Min', [l, h]), e.g.op('Max', [l, h])],
  });
}

/**
 * What of a rule the universal graph's choice must match: its parameters are graph inputs, and so is
 * whether it counts the bias (Emitter.biasSwitch), so a bias-free composite's layer set to a rule with
 * bias stays on the session.
 */
export function choiceStructure(r: ResolvedRule): string {
  const s = ruleStructure(r) as Record<string, unknown>;
  // γ with and without bias are two choices: with bias, a layer whose negative outputs are silent
  // takes the up branch alone (`ruleBody`), which is wrong without bias
  return JSON.stringify('bias' in s && r.kind !== 'gamma' ? { ...s, bias: 'input' } : s);
}

/**
 * The rules for the silent-output analysis of the universal graph: per layer that switches, a choice
 * that does not scale relevance by its input activation if it has one, so that what
 * silentNegativeOutputs finds holds under every assignment of the choices.
 */
export function leastSilentRules(rules: Map<number, ResolvedRule>, choices: Map<number, ResolvedRule[]>): Map<number, ResolvedRule> {
  const out = new Map(rules);
  for (const [id, c] of choices) out.set(id, c.find((r) => !scalesByInput(r)) ?? rules.get(id)!);
  return out;
}

/** The rules a layer of the universal graph switches between without a recompile (plus its own). */
export function ruleChoices(current: ResolvedRule, first: boolean, depthwise = false): ResolvedRule[] {
  const bias = true; // switched by a graph input
  const all: ResolvedRule[] = [
    // z⁺ (α1β0) apart from α-β: its branch has half the convolutions
    { kind: 'z', eps: 0, stdScaled: false, bias }, { kind: 'gamma', gamma: 0, bias }, { kind: 'gamma', gamma: 0, bias: false },
    { kind: 'alpha-beta', alpha: 1, beta: 0, bias },
    { kind: 'alpha-beta', alpha: 1, beta: 1, bias },
    ...(first ? [{ kind: 'z-box', low: 0, high: 0 } as const, { kind: 'flat' } as const] : []),
    // w² also for depthwise layers (a composite's choice there)
    ...(first || depthwise ? [{ kind: 'w-square' } as const] : []),
  ];
  if (!all.some((r) => choiceStructure(r) === choiceStructure(current))) all.push(current);
  return all;
}

/**
 * A weighted layer whose rule is a graph input `rk<id>` (int64 [1], the index into `choices`): one If
 * branch per rule, so a rule change re-runs the session. `ctx.silent` must hold for every choice of the
 * later layers (compile.ts takes it from `leastSilentRules`).
 */
export function emitRuleChoice(e: Emitter, node: Node, r: string, ctx: OnnxBackward, choices: ResolvedRule[]): string {
  const sel = e.g.input(`rk${node.id}`, [1], 'int64');
  // the leaks: single values of any rank (a scalar sum, or one broadcast with a [1] parameter)
  const dims = [e.dims(node.inputs[0]), ...(ctx.leak ? [undefined, undefined] : [])];
  const inline = (rule: ResolvedRule): string[] => {
    let leaks: string[] = [];
    const sub: OnnxBackward = {
      ...ctx, rules: new Map([[node.id, rule]]), leak: ctx.leak ? (_id, b, st) => (leaks = [b, st]) : undefined,
    };
    const out = emitLinearRule(e, node, r, sub);
    return [out, ...leaks];
  };
  // each choice's own branch: the then branch of its If, the last one's the innermost else
  const own: Subgraph[] = [];
  const chain = (j: number): string[] => {
    if (j === choices.length - 1) return inline(choices[j]);
    const cond = e.g.op('Equal', [sel, e.g.ints([j])]);
    const then = e.branch(() => inline(choices[j]), dims);
    const other = e.branch(() => chain(j + 1), dims);
    own[j] = then;
    if (j === choices.length - 2) own[j + 1] = other;
    return e.g.opN('If', [cond], { then_branch: { g: then }, else_branch: { g: other } }, dims.length);
  };
  const [out, bias, stab] = chain(0);
  if (e.choiceReads && own.length) {
    for (const b of own) e.choiceBranches.add(b);
    e.choiceReads.setChoices(node.id, choices.map(choiceStructure), own.map((b) => valuesRead(b.nodes)));
  }
  if (ctx.leak) ctx.leak(node.id, bias, stab);
  return out;
}

/** The layer's output z = wa + b: the forward's value, or with the universal graph's switched bias. */
function biased(e: Emitter, node: Node, ctx: OnnxBackward, a: string): string {
  return e.biasSwitch ? e.forward(node, a, 'w', e.bias(node, 'b')) : ctx.acts[node.id];
}

/** The relevance at a weighted layer's input under its rule. */
export function emitLinearRule(e: Emitter, node: Node, r: string, ctx: OnnxBackward): string {
  const rule = ctx.rules.get(node.id);
  if (!rule) throw new Error(`no rule for layer '${node.name}'`);
  const leak = new Leak(e, node, !!ctx.leak);
  const out = ruleBody(e, node, r, rule, ctx, leak);
  if (ctx.leak) ctx.leak(node.id, leak.bias ?? e.g.floats([0]), leak.stab ?? e.g.floats([0]));
  return out;
}

/**
 * The γ rule on a non-negative input with both output signs live, as one signal. With d = [z < 0] (z the
 * forward's, or without bias for the bias-free rule) the two branches' denominators are
 * z_up = w·x + γ·w⁺x + b_γ ≥ z ≥ 0 where d = 0 and z_down = w·x + γ·w⁻x + b_γ⁻ ≤ z < 0 where d = 1, so each
 * stabilizer has a known sign and one division serves both: s = R / (d ? z_down − ε : z_up + ε), s_d = d·s.
 * The relevance x ⊙ (W_γᵀ(s − s_d) + W_γ⁻ᵀ s_d) is x ⊙ (W_γᵀ s − γ|W|ᵀ s_d): two products, ~10
 * elementwise passes fewer per layer than the branches apart.
 */
function gammaBothBranches(
  e: Emitter, node: Node, r: string,
  v: { base: string; zp: string; zSign: string; upBias: string; downBias: string; bp?: string; bn?: string; gamma: string }, leak: Leak,
): string {
  const d = e.below0(v.zSign);
  // the γ part of each branch: w⁺x up, w⁻x = wx − w⁺x down (base − zp: base is wx, or z = wx + b with b in the
  // biases), as zp + d·(base − 2zp): onnxruntime's Where took ~5× an elementwise pass here (ResNet-50's CLI run:
  // 20 of them 44 ms, measured)
  const part = e.add(v.zp, e.mul(d, e.sub(e.sub(v.base, v.zp), v.zp)));
  // up + d·(down − up): the per-channel difference is tiny, its product with d one pass
  const bias = e.add(v.upBias, e.mul(d, e.sub(v.downBias, v.upBias)));
  const den = e.add(e.add(v.base, e.mul(v.gamma, part)), bias);
  const s = e.div(r, den);
  const sd = e.mul(s, d);
  if (leak.wanted) {
    // bias: Σ s_up·b_γ + Σ s_d·b_γ⁻; stabilizer: ε·Σ s_up − ε·Σ s_d = ε·(Σ s − 2Σ s_d)
    const biasShare = v.bp && v.bn ? e.add(leak.channelSum(s, v.bp), leak.channelSum(sd, e.sub(v.bn, v.bp))) : undefined;
    leak.addSums(biasShare, e.mul(e.g.scalar(STABILIZER), e.sub(leak.total(s), e.mul(e.g.scalar(2), leak.total(sd)))));
  }
  // W_γᵀs − γ|W|ᵀs_d = Wᵀ(s + γs_d) + γW⁺ᵀ(s − 2s_d): the constant kernels w and w⁺, not a fed W_γ and |W| beside
  // them (ResNet-50's universal graph: +260 MB peak RSS for ~5 ms, measured)
  const a = e.add(s, e.mul(v.gamma, sd));
  const b = e.sub(s, e.mul(e.g.scalar(2), sd));
  return e.add(e.transposed(node, a, 'w'), e.mul(v.gamma, e.transposed(node, b, 'w+')));
}

/**
 * The γ rule where no relevance reaches the negative outputs (silent, non-negative input, with bias): r = 0
 * wherever z < 0, and z_γ = z + γ(w⁺x + b⁺) ≥ z ≥ 0 wherever it is not (x ≥ 0, γ ≥ 0), so the stabilizer's
 * sign is + wherever relevance flows and den = max(z_γ + ε, ε), z_γ + ε = base + γ·zp + c. Wᵀs + γW⁺ᵀs is
 * one product by w + γw⁺ (`transposedMixed`, fed from JS once per γ where the session runs more than once).
 */
function gammaSilent(e: Emitter, node: Node, r: string, v: { base: string; zp: string; c: string; bp?: string; gamma: string }, leak: Leak): string {
  const eps = e.g.scalar(STABILIZER);
  const s = e.div(r, e.g.op('Max', [e.add(e.add(v.base, e.mul(v.gamma, v.zp)), v.c), eps]));
  leak.addPositive(s, v.bp, eps);
  return e.transposedMixed(node, s, v.gamma, readGammaValue);
}

function ruleBody(e: Emitter, node: Node, r: string, rule: ResolvedRule, ctx: OnnxBackward, leak: Leak): string {
  const a = ctx.acts[node.inputs[0]];
  const nonNeg = ctx.nonNegative[node.inputs[0]];
  switch (rule.kind) {
    case 'z': {
      const z = rule.bias ? biased(e, node, ctx, a) : e.forward(node, a, 'w');
      let eps = e.param(node, 'eps', [1], readEps);
      if (rule.stdScaled) {
        const flat = e.g.op('Reshape', [z, e.g.ints([1, -1])]);
        const mean = e.g.op('ReduceMean', [flat], { axes: { ints: [1] }, keepdims: { i: 1 } });
        const d = e.sub(flat, mean);
        const variance = e.g.op('ReduceMean', [e.mul(d, d)], { axes: { ints: [1] }, keepdims: { i: 0 } });
        eps = e.mul(e.g.op('Sqrt', [variance]), eps);
      }
      if (ctx.silent[node.id] && rule.bias && !e.biasSwitch) {
        // r = 0 wherever z ≤ 0 (only ReLUs read z and the later rules scale by their input), so the
        // stabilizer's sign is + wherever relevance flows: one Max instead of the sign's four passes
        const s = e.div(r, e.g.op('Max', [e.add(z, eps), eps]));
        leak.addPositive(s, e.bias(node, 'b'), eps);
        return e.mul(a, e.transposed(node, s, 'w'));
      }
      const den = e.stabilize(z, eps);
      const s = e.div(r, den);
      leak.add(s, rule.bias ? e.bias(node, 'b') : undefined, den, z);
      return e.mul(a, e.transposed(node, s, 'w'));
    }
    case 'sign': {
      // as rules/applyRule.ts: s(a) ⊙ Wᵀ(R / stab(z)), s(a) = 1 − 2·[a < μ], μ a graph input
      const z = rule.bias ? biased(e, node, ctx, a) : e.forward(node, a, 'w');
      const s = e.div(r, e.stabilize(z, STABILIZER));
      const below = e.below0(e.sub(a, e.param(node, 'mu', [1], readMu)));
      return e.mul(e.sub(e.g.scalar(1), e.mul(below, e.g.scalar(2))), e.transposed(node, s, 'w'));
    }
    case 'gamma': {
      // γ is a graph input: with w_γ = w + γw⁺ and w_γ⁻ = w + γw⁻ = (1+γ)w − γw⁺, every convolution by a
      // γ kernel is one by w plus γ times one by w⁺ (constant kernels, two stored instead of three)
      const gamma = e.param(node, 'gamma', [1], readGamma);
      const pos = nonNeg ? a : e.inputPart(node, a, 'pos');
      const neg = nonNeg ? undefined : e.inputPart(node, a, 'neg');
      const zpP = e.forward(node, pos, 'w+');
      const eps = e.g.scalar(STABILIZER);
      if (!neg && rule.bias && !e.biasSwitch) {
        // from the forward's z = wx + b itself (the Conv with its bias): no product without bias is kept
        // beside it through the backward. z_γ = z + γ(w⁺x + b⁺); down: z + γ(z − w⁺x) − γb⁺
        const b = e.bias(node, 'b');
        const z = ctx.acts[node.id];
        // γb⁺ once: onnxruntime's one-run session has no common-subexpression pass
        const gb = b && e.mul(gamma, e.relu(b));
        const c = gb ? e.add(gb, eps) : eps;
        const bp = b && gb && e.add(b, gb);
        if (ctx.silent[node.id]) return e.mul(pos, gammaSilent(e, node, r, { base: z, zp: zpP, c, bp, gamma }, leak));
        const bn = b && e.add(b, e.mul(gamma, e.negPart(b)));
        return e.mul(pos, gammaBothBranches(e, node, r, { base: z, zp: zpP, zSign: z, upBias: c, downBias: e.g.op('Neg', [c]), bp, bn, gamma }, leak));
      }
      const zwP = e.forward(node, pos, 'w');
      const zmP = e.sub(zwP, zpP);
      let zw = zwP;
      let upG = zpP; // the γ-scaled part of the branch for positive outputs: z⁺(pos) + z⁻(neg)
      let downG = zmP; // and for negative outputs: z⁻(pos) + z⁺(neg)
      if (neg) {
        const zwN = e.forward(node, neg, 'w');
        const zpN = e.forward(node, neg, 'w+');
        zw = e.add(zwP, zwN);
        upG = e.add(upG, e.sub(zwN, zpN));
        downG = e.add(downG, zpN);
      }
      // bias-free (nobias): no bias in numerators and denominators
      const b = rule.bias ? e.bias(node, 'b') : undefined;
      const bp = b && e.add(b, e.mul(gamma, e.relu(b)));
      const bn = b && e.add(b, e.mul(gamma, e.negPart(b)));
      const branch = (rm: string, zg: string, bias: string | undefined): string => {
        let z = e.add(zw, e.mul(gamma, zg));
        if (bias) z = e.add(z, bias);
        const den = e.stabilize(z, STABILIZER);
        const s = e.div(rm, den);
        leak.add(s, bias, den, z);
        return s;
      };
      const onePlus = e.add(e.g.scalar(1), gamma);
      const back = (sw: string, sp: string): string => e.add(e.transposed(node, sw, 'w'), e.mul(gamma, e.transposed(node, sp, 'w+')));
      // bias-free: the branch follows the sign of z without bias, as rules/applyRule.ts (why there)
      if (ctx.silent[node.id] && !neg && rule.bias) {
        // as above, from the product without bias (the universal graph switches the bias)
        return e.mul(pos, gammaSilent(e, node, r, { base: zw, zp: zpP, c: bp ? e.add(bp, eps) : eps, bp, gamma }, leak));
      }
      // the universal graph switches the bias: z with it, where the layer has one (Swin's patch merging and
      // other bias-free layers have not: z is then the product itself)
      const switched = rule.bias && e.biasSwitch ? e.bias(node, 'b') : undefined;
      const zSign = !rule.bias ? zw : !e.biasSwitch ? ctx.acts[node.id] : switched ? e.add(zw, switched) : zw;
      if (!neg) {
        const upBias = bp ? e.add(bp, eps) : eps;
        const downBias = bn ? e.sub(bn, eps) : e.g.op('Neg', [eps]);
        return e.mul(pos, gammaBothBranches(e, node, r, { base: zw, zp: zpP, zSign, upBias, downBias, bp, bn, gamma }, leak));
      }
      const down = e.below0(zSign);
      const up = e.sub(e.g.scalar(1), down);
      const su = branch(e.mul(r, up), upG, bp);
      const sd = branch(e.mul(r, down), downG, bn);
      // pos·(Wᵀ_γ su + Wᵀ_γ⁻ sd), neg·(Wᵀ_γ⁻ su + Wᵀ_γ sd)
      let out = e.mul(pos, back(e.add(su, e.mul(onePlus, sd)), e.sub(su, sd)));
      if (neg) out = e.add(out, e.mul(neg, back(e.add(e.mul(onePlus, su), sd), e.sub(sd, su))));
      return out;
    }
    case 'pass':
      if (node.op !== 'batchNorm') throw new LensError('bad-usage', `rule 'pass' is for elementwise layers; '${node.name}' is ${node.op}`);
      return r;
    case 'alpha-beta': {
      const pos = nonNeg ? a : e.inputPart(node, a, 'pos');
      const neg = nonNeg ? undefined : e.inputPart(node, a, 'neg');
      const part = (wa: 'w+' | 'w-', wb: 'w+' | 'w-', b: BiasVariant, bias: boolean, weight: string): string => {
        let z = e.forward(node, pos, wa);
        if (neg) z = e.add(z, e.forward(node, neg, wb));
        const bv = bias ? e.bias(node, b) : undefined;
        if (!neg) {
          // x ≥ 0: z = w^±x + b^± has the sign of its part (0 only where every term is 0, and there
          // either sign of ε gives the same relevance and share), so the stabilizer is ±ε, joined to the bias
          const eps = e.g.scalar(wa === 'w+' ? STABILIZER : -STABILIZER);
          const s = e.mul(e.div(r, e.add(z, bv ? e.add(bv, eps) : eps)), weight);
          leak.addPositive(s, bv, eps, b === 'b+' ? 1 : -1);
          // times the input once both branches are joined (below)
          return e.transposed(node, s, wa);
        }
        if (bv) z = e.add(z, bv);
        const den = e.stabilize(z, STABILIZER);
        const s = e.mul(e.div(r, den), weight);
        leak.add(s, bv, den, z, b === 'b+' ? 1 : -1);
        let out = e.mul(pos, e.transposed(node, s, wa));
        if (neg) out = e.add(out, e.mul(neg, e.transposed(node, s, wb)));
        return out;
      };
      const alpha = e.param(node, 'alpha', [1], readAlpha);
      const rp = part('w+', 'w-', 'b+', rule.bias, alpha);
      const joined = rule.beta === 0 ? rp : e.sub(rp, part('w-', 'w+', 'b-', rule.bias, e.param(node, 'beta', [1], readBeta)));
      // x ⊙ (W⁺ᵀs⁺ − W⁻ᵀs⁻): one product by the input instead of one per branch
      return neg ? joined : e.mul(pos, joined);
    }
    case 'flat': case 'w-square': {
      const v = rule.kind === 'flat' ? 'ones' : 'w2';
      const shape = e.graph.nodes[node.inputs[0]].shape;
      const ones = e.constantOf(shape, new Float32Array(shape.reduce((x, y) => x * y, 1)).fill(1));
      const z = e.forward(node, ones, v);
      const den = e.stabilize(z, STABILIZER);
      const s = e.div(r, den);
      leak.add(s, undefined, den, z);
      return e.transposed(node, s, v);
    }
    case 'z-box': {
      const [low, high] = boundPair(e, node);
      // bound images as given at a conv: their products are fed, made once per bound values
      const c = e.graph.nodes[node.inputs[0]].shape.at(-1)!;
      const given = !e.unfolded && node.op === 'conv2d' && boundsAsGiven(e.graph, node);
      const zl = given ? e.boundProduct(node, 'low', readZBox(node, c, 'low')) : e.forward(node, low, 'w+');
      const zh = given ? e.boundProduct(node, 'high', readZBox(node, c, 'high')) : e.forward(node, high, 'w-');
      const z = e.sub(e.sub(e.forward(node, a, 'w'), zl), zh);
      const den = e.stabilize(z, STABILIZER);
      const s = e.div(r, den);
      leak.add(s, undefined, den, z);
      // a·Wᵀs − l·W⁺ᵀs − h·W⁻ᵀs with Wᵀs = W⁺ᵀs + W⁻ᵀs: two transposed convolutions instead of three (on
      // the first layer they run at the image's size, and strided: onnxruntime's ConvTranspose)
      return e.add(e.mul(e.sub(a, low), e.transposed(node, s, 'w+')), e.mul(e.sub(a, high), e.transposed(node, s, 'w-')));
    }
    // the transformer ops' rules are emitted by their own op files (ops/layerNorm.ts, softmax.ts, matmul.ts)
    default:
      throw new Error(`rule '${rule.kind}' of layer '${node.name}' has no compiled form`);
  }
}
