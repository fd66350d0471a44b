/**
 * The LRP rules of rules/applyRule.ts emitted into the compiled graph: the same generic rule (input
 * modifier, kernel variant, stabilized denominator) with the modified kernels as initializers. Constant
 * subgraphs (z^B bound images through the input scaling, flat / w² denominators) are folded by onnxruntime.
 */
import type { Node } from '../graph/ir';
import type { ResolvedRule } from '../rules/resolved';
import { STABILIZER } from '../rules/resolved';
import { opDef } from '../ops/registry';
import { LensError } from '../errors';
import type { BiasVariant, Emitter, KernelVariant, OnnxBackward } from './emitter';

class Leak {
  bias?: string;
  stab?: string;
  constructor(private readonly e: Emitter, private readonly on: boolean) {}
  add(s: string, bias: string | undefined, den: string, z: string, sign = 1): void {
    if (!this.on) return;
    const e = this.e;
    const acc = (prev: string | undefined, t: string): string => {
      const v = sign === 1 ? t : e.g.op('Neg', [t]);
      return prev ? e.add(prev, v) : v;
    };
    if (bias) this.bias = acc(this.bias, e.sum(e.mul(s, bias)));
    this.stab = acc(this.stab, e.sum(e.mul(s, e.sub(den, z))));
  }
}

/** Per-channel bound image [1, ...shape] in the compiled layout. */
function perChannel(e: Emitter, node: Node, shape: number[], v: number | number[]): string {
  const c = shape[shape.length - 1];
  const vals = Array.isArray(v) ? v : new Array<number>(c).fill(v);
  if (vals.length !== c) throw new LensError('bad-usage', `z-box bounds of layer '${node.name}' have ${vals.length} values, its input has ${c} channels`);
  const n = shape.reduce((a, b) => a * b, 1);
  const hwc = new Float32Array(n);
  for (let i = 0; i < n; i++) hwc[i] = vals[i % c];
  return e.constantOf(shape, hwc);
}

/** The z^B bound images at the layer's input, carried from the graph input as rules/applyRule.ts does. */
function boundPair(e: Emitter, node: Node, low: number | number[], high: number | number[]): [string, string] {
  const g = e.graph;
  const ancestors = new Set<number>([node.inputs[0]]);
  for (let i = node.inputs[0]; i >= 0; i--) if (ancestors.has(i)) for (const j of g.nodes[i].inputs) ancestors.add(j);
  const path = g.nodes.filter((n) => ancestors.has(n.id) && n.id !== g.input);
  const carries = ancestors.has(g.input) && path.every((n) => opDef(n.op).carriesBounds(n));
  if (!carries || path.length === 0) {
    const shape = g.nodes[node.inputs[0]].shape;
    return [perChannel(e, node, shape, low), perChannel(e, node, shape, high)];
  }
  const lo: string[] = [];
  const hi: string[] = [];
  lo[g.input] = perChannel(e, node, g.nodes[g.input].shape, low);
  hi[g.input] = perChannel(e, node, g.nodes[g.input].shape, high);
  for (const n of path) {
    const f = opDef(n.op).onnx!.forward;
    const l = f(e, n, n.inputs.map((i) => lo[i]));
    const h = f(e, n, n.inputs.map((i) => hi[i]));
    [lo[n.id], hi[n.id]] = n.op === 'batchNorm' ? [e.g.op('Min', [l, h]), e.g.op('Max', [l, h])] : [l, h];
  }
  return [lo[node.inputs[0]], hi[node.inputs[0]]];
}

/** The relevance at a weighted layer's input under its rule. */
export function emitLinearRule(e: Emitter, node: Node, r: string, ctx: OnnxBackward): string {
  const rule = ctx.rules.get(node.id);
  if (!rule) throw new Error(`no rule for layer '${node.name}'`);
  const leak = new Leak(e, !!ctx.leak);
  const out = ruleBody(e, node, r, rule, ctx, leak);
  if (ctx.leak) ctx.leak(node.id, leak.bias ?? e.g.floats([0]), leak.stab ?? e.g.floats([0]));
  return out;
}

function ruleBody(e: Emitter, node: Node, r: string, rule: ResolvedRule, ctx: OnnxBackward, leak: Leak): string {
  const a = ctx.acts[node.inputs[0]];
  const nonNeg = ctx.nonNegative[node.inputs[0]];
  switch (rule.kind) {
    case 'z': {
      const z = rule.bias ? ctx.acts[node.id] : e.forward(node, a, 'w');
      let eps: number | string = rule.eps;
      if (rule.stdScaled) {
        const flat = e.g.op('Reshape', [z, e.g.ints([1, -1])]);
        const mean = e.g.op('ReduceMean', [flat], { axes: { ints: [1] }, keepdims: { i: 1 } });
        const d = e.sub(flat, mean);
        const variance = e.g.op('ReduceMean', [e.mul(d, d)], { axes: { ints: [1] }, keepdims: { i: 0 } });
        eps = e.mul(e.g.op('Sqrt', [variance]), e.g.scalar(rule.eps));
      }
      const den = e.stabilize(z, eps);
      const s = e.div(r, den);
      leak.add(s, rule.bias ? e.bias(node, 'b') : undefined, den, z);
      return e.mul(a, e.transposed(node, s, 'w'));
    }
    case 'gamma': {
      const vp = `wg:${rule.gamma}` as const;
      const vn = `wgn:${rule.gamma}` as const;
      const pos = nonNeg ? a : e.relu(a);
      const neg = nonNeg ? undefined : e.negPart(a);
      const branch = (rm: string, wa: KernelVariant, wb: KernelVariant, b: string | undefined): string => {
        let z = e.forward(node, pos, wa, b);
        if (neg) z = e.add(z, e.forward(node, neg, wb));
        const den = e.stabilize(z, STABILIZER);
        const s = e.div(rm, den);
        leak.add(s, b, den, z);
        let out = e.mul(pos, e.transposed(node, s, wa));
        if (neg) out = e.add(out, e.mul(neg, e.transposed(node, s, wb)));
        return out;
      };
      const bp = rule.bias ? e.bias(node, `bg:${rule.gamma}`) : undefined;
      // bias-free: the branch follows the sign of the recorded output (with bias), as in rules/applyRule.ts
      if (ctx.silent[node.id] && !neg) return branch(r, vp, vn, bp);
      const down = e.below0(ctx.acts[node.id]);
      const up = e.sub(e.g.scalar(1), down);
      return e.add(branch(e.mul(r, up), vp, vn, bp), branch(e.mul(r, down), vn, vp, rule.bias ? e.bias(node, `bgn:${rule.gamma}`) : undefined));
    }
    case 'pass':
      if (node.op !== 'batchNorm') throw new LensError('bad-usage', `rule 'pass' is for elementwise layers; '${node.name}' is ${node.op}`);
      return r;
    case 'alpha-beta': {
      const pos = nonNeg ? a : e.relu(a);
      const neg = nonNeg ? undefined : e.negPart(a);
      const part = (wa: 'w+' | 'w-', wb: 'w+' | 'w-', b: BiasVariant, bias: boolean, weight: number): string => {
        let z = e.forward(node, pos, wa);
        if (neg) z = e.add(z, e.forward(node, neg, wb));
        const bv = bias ? e.bias(node, b) : undefined;
        if (bv) z = e.add(z, bv);
        const den = e.stabilize(z, STABILIZER);
        const s = e.mul(e.div(r, den), e.g.scalar(weight));
        leak.add(s, bv, den, z, b === 'b+' ? 1 : -1);
        let out = e.mul(pos, e.transposed(node, s, wa));
        if (neg) out = e.add(out, e.mul(neg, e.transposed(node, s, wb)));
        return out;
      };
      const rp = part('w+', 'w-', 'b+', rule.bias, rule.alpha);
      return rule.beta === 0 ? rp : e.sub(rp, part('w-', 'w+', 'b-', rule.bias, rule.beta));
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
      const [low, high] = boundPair(e, node, rule.low, rule.high);
      const zl = e.forward(node, low, 'w+');
      const zh = e.forward(node, high, 'w-');
      const z = e.sub(e.sub(e.forward(node, a, 'w'), zl), zh);
      const den = e.stabilize(z, STABILIZER);
      const s = e.div(r, den);
      leak.add(s, undefined, den, z);
      return e.sub(e.sub(e.mul(a, e.transposed(node, s, 'w')), e.mul(low, e.transposed(node, s, 'w+'))), e.mul(high, e.transposed(node, s, 'w-')));
    }
    // the transformer ops' rules belong to ops without ONNX emission (compileBlocker keeps them on tfjs)
    default:
      throw new Error(`rule '${rule.kind}' of layer '${node.name}' has no compiled form`);
  }
}
