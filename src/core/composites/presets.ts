/**
 * Named composites (Zennit's, by name) map each weighted layer to a rule by its group: the first
 * weighted layer seen from the input, convolutions (incl. depthwise), dense layers; a BatchNorm that
 * could not be folded gets ε. Per-layer overrides by the model's layer names come last.
 */
import type { Graph, Node } from '../graph/ir';
import { isWeighted, opDef, rulesFor, takesRule } from '../ops/registry';
import type { RuleParams, RuleSpec } from '../../shared/ruleSpec';
import { LensError } from '../errors';

type Group = 'first' | 'conv' | 'dense' | 'batchNorm' | 'layerNorm' | 'softmax' | 'matmul';
type Preset = Partial<Record<Group, RuleSpec>> & { conv: RuleSpec; dense: RuleSpec };

/** Transformer ops under the CNN presets: AttnLRP's rules (the rules that stay closest to conservation). */
const ATTN: Partial<Record<Group, RuleSpec>> = {
  layerNorm: { rule: 'norm-identity' }, softmax: { rule: 'softmax-taylor' }, matmul: { rule: 'bilinear-uniform' },
};
const CP: Partial<Record<Group, RuleSpec>> = {
  layerNorm: { rule: 'norm-identity' }, softmax: { rule: 'held-constant' }, matmul: { rule: 'bilinear-value' },
};

const EPS: RuleSpec = { rule: 'epsilon' };
const FLAT: RuleSpec = { rule: 'flat' };
const AB21: RuleSpec = { rule: 'alpha-beta', alpha: 2, beta: 1 };
const ZPLUS: RuleSpec = { rule: 'z-plus' };

const PRESETS: Record<string, Preset> = {
  'epsilon-gamma-box': { first: { rule: 'z-box' }, conv: { rule: 'gamma' }, dense: EPS },
  'epsilon-plus': { conv: ZPLUS, dense: EPS },
  'epsilon-plus-flat': { first: FLAT, conv: ZPLUS, dense: EPS },
  'epsilon-alpha2-beta1': { conv: AB21, dense: EPS },
  'epsilon-alpha2-beta1-flat': { first: FLAT, conv: AB21, dense: EPS },
  'lrp-0': { conv: { rule: 'lrp-0' }, dense: { rule: 'lrp-0' }, batchNorm: { rule: 'lrp-0' } },
  epsilon: { conv: EPS, dense: EPS },
  gamma: { conv: { rule: 'gamma' }, dense: { rule: 'gamma' } },
  'alpha-beta': { conv: { rule: 'alpha-beta' }, dense: { rule: 'alpha-beta' } },
  'z-plus': { conv: ZPLUS, dense: ZPLUS },
  // transformers (README "Transformers"): AttnLRP (Achtibat et al. 2024) and CP-LRP (Ali et al. 2022),
  // with ε or γ on the linear layers (patch embedding, projections, MLP, head)
  'attn-lrp': { ...ATTN, conv: EPS, dense: EPS },
  'attn-lrp-gamma': { ...ATTN, conv: { rule: 'gamma' }, dense: { rule: 'gamma' } },
  'cp-lrp': { ...CP, conv: EPS, dense: EPS },
  'cp-lrp-gamma': { ...CP, conv: { rule: 'gamma' }, dense: { rule: 'gamma' } },
};

/** Node kinds with a rule of their own beyond the linear layers (for composites and pickers). */
export function ruleGroupOf(_g: Graph, n: Pick<Node, 'op'>): Group | undefined {
  return n.op === 'layerNorm' || n.op === 'matmul' || n.op === 'softmax' ? n.op : undefined;
}

/** Transformer models (attention, LayerNorm) get AttnLRP by default; everything else Zennit's epsilon-gamma-box. */
export function defaultCompositeFor(g: Graph): string {
  return g.nodes.some((n) => ruleGroupOf(g, n) !== undefined) ? 'attn-lrp' : DEFAULT_COMPOSITE;
}

export const COMPOSITE_NAMES: readonly string[] = Object.keys(PRESETS);
export const DEFAULT_COMPOSITE = 'epsilon-gamma-box';

/** Nodes that take an LRP rule (the op table says which: weighted layers and stand-alone BatchNorm). */
export { takesRule };

export function firstWeightedLayer(g: Graph): number | undefined {
  return g.nodes.find(isWeighted)?.id;
}

/**
 * A BatchNorm between the input and the first weighted layer with only shape ops around it is the
 * model's own input scaling (e.g. x·2 − 1): relevance passes through it to the same pixel, and the
 * z^B bounds are carried through it to the first layer.
 */
export function isInputScaling(g: Graph, id: number): boolean {
  const n = g.nodes[id];
  if (n.op !== 'batchNorm') return false;
  const first = firstWeightedLayer(g);
  if (first !== undefined && id > first) return false;
  for (let cur = n; cur.id !== g.input;) {
    if (cur.inputs.length !== 1) return false;
    cur = g.nodes[cur.inputs[0]];
    if (cur.id !== g.input && !['pad', 'identity', 'batchNorm'].includes(cur.op)) return false;
  }
  return true;
}

export function compositeRules(g: Graph, name: string): Map<number, RuleSpec> {
  const preset = PRESETS[name];
  if (!preset) throw new LensError('bad-usage', `unknown composite '${name}' (known: ${COMPOSITE_NAMES.join(', ')})`);
  const first = firstWeightedLayer(g);
  const out = new Map<number, RuleSpec>();
  for (const n of g.nodes) {
    if (!takesRule(n)) continue;
    let spec: RuleSpec;
    const tgroup = ruleGroupOf(g, n);
    if (tgroup) spec = preset[tgroup] ?? ATTN[tgroup]!;
    else if (n.id === first && preset.first) spec = preset.first;
    else {
      const group = opDef(n.op).group ?? 'conv';
      if (group === 'dense') spec = preset.dense;
      else if (group === 'batchNorm') spec = isInputScaling(g, n.id) ? { rule: 'pass' } : preset.batchNorm ?? EPS;
      else spec = preset.conv;
    }
    out.set(n.id, spec);
  }
  return out;
}

/** Composite rules with per-layer overrides applied; an override must name a layer that takes a rule. */
export function resolveRules(
  g: Graph, composite: string, overrides: Record<string, RuleSpec> = {}, _params?: Partial<RuleParams>,
): Map<number, RuleSpec> {
  const rules = compositeRules(g, composite);
  for (const [layer, spec] of Object.entries(overrides)) {
    const n = g.nodes.find((x) => x.name === layer);
    if (!n) {
      const names = g.nodes.filter(takesRule).map((x) => x.name);
      throw new LensError('bad-usage', `--rule: no layer named '${layer}' (layers with rules: ${names.join(', ')})`);
    }
    if (!takesRule(n)) throw new LensError('bad-usage', `--rule: layer '${layer}' (${n.op}) has no weights and takes no rule`);
    if (!rulesFor(n.op).includes(spec.rule)) {
      throw new LensError('bad-usage', spec.rule === 'pass'
        ? `--rule: 'pass' is for elementwise layers; '${layer}' is ${n.op}`
        : `--rule: layer '${layer}' (${n.op}) does not take rule '${spec.rule}' (it takes: ${rulesFor(n.op).join(', ')})`);
    }
    rules.set(n.id, spec);
  }
  return rules;
}
