/** The rule configurations the oracle suite runs on every net, as engine options (the oracle reads the same). */
import type { Graph } from '../../../src/core/graph/ir';
import type { RuleSpec } from '../../../src/shared/ruleSpec';

/**
 * Seeds of the random nets (randomNets.ts). Float32 (engine) against float64 (oracle) differences grow
 * with 1/|z| of the denominators; rules that send relevance to dead units (w², flat, z^B) or mix signs
 * (γ and the bias-free z-rule on the mixed-sign image) meet small |z| more often. With these seeds every
 * case stays ≥ 7× inside the 1e-4 tolerance (the test prints the largest differences).
 */
export const NET_SEEDS: Record<string, number> = { strided: 111, dilated: 202, depthwise: 303, residual: 411, concat: 507, mlp: 606 };

export interface CaseContext {
  graph: Graph;
  low: number[];
  high: number[];
  logits: ArrayLike<number>;
}

export interface RuleCase {
  name: string;
  composite: string;
  rules?: (c: CaseContext) => Record<string, RuleSpec>;
  params?: (c: CaseContext) => Record<string, number | number[]>;
  /** undefined = top class */
  target?: (c: CaseContext) => number;
}

/** Names of the nodes that take a rule: weighted layers and stand-alone BatchNorm. */
export function ruleLayers(g: Graph): string[] {
  return g.nodes.filter((n) => ['conv2d', 'depthwiseConv2d', 'dense', 'batchNorm'].includes(n.op)).map((n) => n.name);
}

export function firstWeighted(g: Graph): string {
  return g.nodes.find((n) => ['conv2d', 'depthwiseConv2d', 'dense'].includes(n.op))!.name;
}

const every = (spec: RuleSpec) => (c: CaseContext): Record<string, RuleSpec> =>
  Object.fromEntries(ruleLayers(c.graph).map((n) => [n, spec]));

/** z^B bounds of the first weighted layer: per channel for a conv, one scalar pair for a dense first layer. */
export function firstBounds(c: CaseContext): { low: number | number[]; high: number | number[] } {
  const first = c.graph.nodes.find((n) => n.name === firstWeighted(c.graph))!;
  if (first.op === 'dense') return { low: Math.min(...c.low), high: Math.max(...c.high) };
  return { low: c.low, high: c.high };
}

export const argmin = (c: CaseContext): number => {
  let m = 0;
  for (let i = 1; i < c.logits.length; i++) if (c.logits[i] < c.logits[m]) m = i;
  return m;
};
const second = (c: CaseContext): number => {
  const idx = Array.from(c.logits, (_, i) => i).sort((a, b) => c.logits[b] - c.logits[a]);
  return idx[1];
};
const last = (c: CaseContext): number => c.logits.length - 1;

export const RULE_CASES: RuleCase[] = [
  { name: 'lrp-0', composite: 'lrp-0' },
  { name: 'epsilon (default 1e-6)', composite: 'epsilon', target: second },
  { name: 'epsilon 0.25, lowest (negative) logit', composite: 'epsilon', params: () => ({ epsilon: 0.25 }), target: argmin },
  { name: 'epsilon 0.1 std-scaled', composite: 'epsilon', rules: every({ rule: 'epsilon', epsilon: 0.1, stdScaled: true }), target: last },
  { name: 'gamma 0.25', composite: 'gamma' },
  { name: 'gamma 1.0', composite: 'gamma', params: () => ({ gamma: 1 }), target: argmin },
  { name: 'gamma 0.5 per layer', composite: 'lrp-0', rules: every({ rule: 'gamma', gamma: 0.5 }), target: second },
  { name: 'alpha2-beta1', composite: 'alpha-beta' },
  { name: 'alpha3-beta2 (params)', composite: 'alpha-beta', params: () => ({ alpha: 3, beta: 2 }), target: argmin },
  { name: 'alpha1-beta0', composite: 'alpha-beta', params: () => ({ alpha: 1, beta: 0 }), target: second },
  { name: 'z-plus', composite: 'z-plus' },
  { name: 'z-plus without bias', composite: 'epsilon', rules: every({ rule: 'z-plus', bias: false }), target: argmin },
  { name: 'flat', composite: 'epsilon', rules: every({ rule: 'flat' }) },
  { name: 'w-square', composite: 'epsilon', rules: every({ rule: 'w-square' }), target: second },
  {
    name: 'z-box first layer (per-channel bounds), epsilon elsewhere', composite: 'epsilon',
    rules: (c) => ({ [firstWeighted(c.graph)]: { rule: 'z-box', ...firstBounds(c) } }),
  },
  { name: 'sign first layer, epsilon elsewhere', composite: 'epsilon', rules: (c) => ({ [firstWeighted(c.graph)]: { rule: 'sign' } }), target: second },
  {
    name: 'sign-mu 0.3 first layer without bias, lrp-0 elsewhere', composite: 'lrp-0',
    rules: (c) => ({ [firstWeighted(c.graph)]: { rule: 'sign', mu: 0.3, bias: false } }), target: argmin,
  },
  { name: 'z-box everywhere (scalar -2, 2)', composite: 'epsilon', rules: every({ rule: 'z-box', low: -2, high: 2 }), target: last },
  { name: 'deep-taylor origin', composite: 'epsilon', rules: every({ rule: 'deep-taylor', root: 'origin' }) },
  { name: 'deep-taylor nearest', composite: 'epsilon', rules: every({ rule: 'deep-taylor', root: 'nearest' }) },
  {
    name: 'deep-taylor bounded first, lrp elsewhere', composite: 'epsilon',
    rules: (c) => ({ ...every({ rule: 'deep-taylor', root: 'lrp' })(c), [firstWeighted(c.graph)]: { rule: 'deep-taylor', root: 'bounded' } }),
    params: (c) => firstBounds(c) as Record<string, number | number[]>,
  },
];

/** Every named composite, with the z^B bounds given and (for the default composite) left to the input range. */
export function compositeCases(names: readonly string[]): RuleCase[] {
  const out: RuleCase[] = names.map((composite, i) => ({
    name: `composite ${composite}`, composite,
    params: (c: CaseContext) => firstBounds(c) as Record<string, number | number[]>,
    target: i % 2 ? second : undefined,
  }));
  out.push({ name: 'composite epsilon-gamma-box, bounds from the input range', composite: 'epsilon-gamma-box' });
  return out;
}
