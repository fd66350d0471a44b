/**
 * Named composites (Zennit's, by name) map each weighted layer to a rule by its group: the first
 * weighted layer seen from the input, convolutions (incl. depthwise), dense layers; a BatchNorm that
 * could not be folded gets ε. Per-layer overrides by the model's layer names come last.
 */
import type { Graph, Node } from '../graph/ir';
import { isWeighted, opDef, rulesFor, takesRule } from '../ops/registry';
import type { RuleParams, RuleSpec } from '../../shared/ruleSpec';
import { withoutBias } from '../../shared/ruleSpec';
import { LensError } from '../errors';
import {
  AUTO_COMPOSITE, COMPOSITE_NAMES, DEFAULT_COMPOSITE, NO_BIAS, NO_BIAS_VARIANT_UNSTABLE, type BaseComposite,
} from '../../shared/compositeNames';

export { AUTO_COMPOSITE, COMPOSITE_NAMES, DEFAULT_COMPOSITE, NO_BIAS };

type Group = 'first' | 'conv' | 'depthwise' | 'dense' | 'batchNorm' | 'layerNorm' | 'softmax' | 'matmul';
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

// keyed by the shared list of names: a preset without a name, or a name without a preset, does not compile
const PRESETS: Record<BaseComposite, Preset> = {
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
  // Not Zennit's: depthwise convolutions by w² (DTD's nearest root, independent of the activations), so a
  // channel that is zero over the whole map (its output is the bias alone) still passes its relevance on.
  'epsilon-gamma-box-dw-wsquare': { first: { rule: 'z-box' }, conv: { rule: 'gamma' }, depthwise: { rule: 'w-square' }, dense: EPS },
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

const isBase = (name: string): name is BaseComposite => Object.hasOwn(PRESETS, name);

function presetOf(name: string): Preset | undefined {
  if (!name.endsWith(NO_BIAS)) return isBase(name) ? PRESETS[name] : undefined;
  const baseName = name.slice(0, -NO_BIAS.length);
  const base = isBase(baseName) ? PRESETS[baseName] : undefined;
  if (!base || NO_BIAS_VARIANT_UNSTABLE.has(baseName)) return undefined;
  const out: Partial<Record<Group, RuleSpec>> = {};
  for (const [k, v] of Object.entries(base) as [Group, RuleSpec][]) out[k] = withoutBias(v);
  return { batchNorm: withoutBias(EPS), ...out } as Preset;
}

/** The bias-free variant of a composite (itself when it is one already; epsilon-gamma-box for lrp-0 / epsilon). */
export function biasFreeVariant(name: string): string {
  if (name.endsWith(NO_BIAS)) return name;
  return NO_BIAS_VARIANT_UNSTABLE.has(name) ? DEFAULT_COMPOSITE + NO_BIAS : name + NO_BIAS;
}

/** What to offer when `current` keeps too little: the model's bias-free default, else current's bias-free variant. */
export function biasFreeSuggestion(g: Graph, current: string): string {
  const d = defaultComposite(g).name;
  return d.endsWith(NO_BIAS) && d !== current ? d : biasFreeVariant(current);
}

/** Layers with a bias that is not all zeros. */
function biasedLayers(g: Graph): number {
  return g.nodes.filter((n) => isWeighted(n) && n.params.bias?.data.some((v) => v !== 0)).length;
}

/** Deeper than this many biased layers, leaks through biases compound (BatchNorm folded at export, e.g. torchvision ONNX). */
export const DEEP_BIASED = 20;
/** More folded BatchNorm layers than this: their biases' leaks compound (LeNet's one keeps 68–115 % of the logit). */
export const MANY_BATCHNORM = 3;

export interface DefaultComposite {
  name: string;
  /** one sentence: why this composite for this model */
  reason: string;
}

/**
 * The default composite for a model. Folded BatchNorm gives every conv a bias of the size of its
 * pre-activations; the bias terms then absorb most of the relevance layer after layer (nsfwjs
 * MobileNetV2 on chelsea.png with epsilon-gamma-box keeps 0.13 % of the logit at the input). Such
 * models (more than MANY_BATCHNORM BatchNorm layers folded here, or more than DEEP_BIASED biased layers, as after a folding export)
 * get a bias-free variant; with depthwise convolutions, whose channels can be zero over the whole map
 * and then carry the bias alone, also w² there (MobileNetV2 on chelsea.png: 27 % kept with
 * epsilon-gamma-box-nobias, 111 % with epsilon-gamma-box-dw-wsquare-nobias). Other models keep
 * epsilon-gamma-box.
 */
export function defaultComposite(g: Graph): DefaultComposite {
  if (g.nodes.some((n) => ruleGroupOf(g, n) !== undefined)) {
    return { name: 'attn-lrp', reason: 'attention / LayerNorm layers: AttnLRP (LayerNorm by the identity rule, softmax by its Taylor rule, products of activations split uniformly), ε on the linear layers' };
  }
  const folded = g.foldedBatchNorm ?? 0;
  const biased = biasedLayers(g);
  const depthwise = g.nodes.some((n) => n.op === 'depthwiseConv2d');
  const base = depthwise ? 'epsilon-gamma-box-dw-wsquare' : DEFAULT_COMPOSITE;
  const dw = depthwise ? '; depthwise convolutions use w² so channels that carry only their bias still pass relevance on' : '';
  if (folded > MANY_BATCHNORM) {
    return { name: base + NO_BIAS, reason: `${folded} BatchNorm layer${folded === 1 ? '' : 's'} folded into the convolutions give them biases that would absorb most of the relevance, so biases are left out${dw}` };
  }
  if (biased > DEEP_BIASED) {
    return { name: base + NO_BIAS, reason: `${biased} layers with biases (more than ${DEEP_BIASED}, as after BatchNorm folding) would absorb most of the relevance, so biases are left out${dw}` };
  }
  const bn = folded === 0 ? 'no BatchNorm' : `${folded} BatchNorm layer${folded === 1 ? '' : 's'}`;
  return { name: DEFAULT_COMPOSITE, reason: `${bn} and ${biased} biased layer${biased === 1 ? '' : 's'}: biases are kept (their share is shown per layer; ${DEFAULT_COMPOSITE}${NO_BIAS} leaves them out)` };
}

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

/** `auto` -> the model's default composite; any other name as it is. */
export function concreteComposite(g: Graph, name: string): string {
  return name === AUTO_COMPOSITE ? defaultComposite(g).name : name;
}

export function compositeRules(g: Graph, requested: string): Map<number, RuleSpec> {
  const name = concreteComposite(g, requested);
  const preset = presetOf(name);
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
      else if (n.op === 'depthwiseConv2d' && preset.depthwise) spec = preset.depthwise;
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

/** The model's default composite by name (see defaultComposite). */
export function defaultCompositeFor(g: Graph): string {
  return defaultComposite(g).name;
}
