/**
 * One description of an LRP rule, shared by the engine, the CLI (`--rule LAYER=RULE[:p,...]`),
 * the webview's rule pickers and the settings. Missing parameters take the composite's defaults.
 */
import { checkAlphaBeta as checkAB, checkBounds, checkEpsilon, checkGamma } from './validate';
import { DEFAULT_RULE_PARAMS, DEFAULT_SIGN_MU } from './ruleDefaults';

export type RuleSpec =
  | { rule: 'lrp-0'; bias?: boolean }
  | { rule: 'epsilon'; epsilon?: number; stdScaled?: boolean; bias?: boolean }
  | { rule: 'gamma'; gamma?: number; bias?: boolean }
  | { rule: 'alpha-beta'; alpha?: number; beta?: number; bias?: boolean }
  | { rule: 'z-plus'; bias?: boolean }
  | { rule: 'flat' }
  | { rule: 'w-square' }
  | { rule: 'z-box'; low?: number | number[]; high?: number | number[] }
  /**
   * SIGN / SIGN-μ (Gumpfer et al. 2023, iNNvestigate's lrp.sign / lrp.sign_mu): the z-rule with the input
   * factor a_j replaced by ±1 (+1 where a_j ≥ μ), so dark and bright pixels alike can carry relevance.
   */
  | { rule: 'sign'; mu?: number; bias?: boolean }
  /** Relevance passes unchanged (elementwise layers only: a stand-alone BatchNorm / input scaling). */
  | { rule: 'pass' }
  /** Deep Taylor root point choice (nearest root = w², origin = z-rule, lrp = z⁺, bounded = z^B). */
  | { rule: 'deep-taylor'; root: 'nearest' | 'origin' | 'lrp' | 'bounded' }
  // ---- transformer ops (README "Transformers")
  /** LayerNorm: σ held constant, ε-rule on the then linear layer (AttnLRP / CP-LRP). */
  | { rule: 'norm-identity'; epsilon?: number }
  /** softmax inside the network: AttnLRP's Taylor rule R_i = x_i (R_i − y_i Σ R). */
  | { rule: 'softmax-taylor' }
  /** softmax inside the network held constant (CP-LRP): no relevance flows through it. */
  | { rule: 'held-constant' }
  /** product of two activations: ε, then half of each term to each factor (AttnLRP). */
  | { rule: 'bilinear-uniform'; epsilon?: number }
  /** product of two activations with the first (attention weights) held constant: all to the second (CP-LRP). */
  | { rule: 'bilinear-value'; epsilon?: number };

export type RuleName = RuleSpec['rule'];

export const RULE_NAMES: readonly RuleName[] = [
  'lrp-0', 'epsilon', 'gamma', 'alpha-beta', 'z-plus', 'flat', 'w-square', 'z-box', 'sign', 'deep-taylor', 'pass',
];

/** The transformer ops' rules (README "Transformers"); each op's entry in the op table lists which it takes. */
export const TRANSFORMER_RULE_NAMES: readonly RuleName[] = [
  'norm-identity', 'softmax-taylor', 'held-constant', 'bilinear-uniform', 'bilinear-value',
];

export const ALL_RULE_NAMES: readonly RuleName[] = [...RULE_NAMES, ...TRANSFORMER_RULE_NAMES];

/** Global rule parameters (DESIGN.md defaults). */
export interface RuleParams {
  epsilon: number;
  gamma: number;
  alpha: number;
  beta: number;
  /** z^B bounds, scalar or per input channel. */
  low?: number | number[];
  high?: number | number[];
}

export { DEFAULT_RULE_PARAMS, DEFAULT_SIGN_MU } from './ruleDefaults';

function num(s: string, what: string): number {
  const v = Number(s);
  if (s.trim() === '' || !Number.isFinite(v)) throw new Error(`rule parameter ${what} is not a number: '${s}'`);
  return v;
}

/** Rules that take a trailing `nobias` (bias left out of numerator and denominator, Zennit's zero_params='bias'). */
const BIAS_RULES: readonly string[] = ['lrp-0', 'lrp0', 'zero', 'epsilon', 'eps', 'gamma', 'alpha-beta', 'alphabeta', 'sign', 'sign-mu'];

/**
 * Parse `epsilon:0.25`, `gamma:0.5`, `alpha-beta:2,1`, `z-plus:nobias`, `z-box:0,1`, `sign:0.5`, `deep-taylor:origin`;
 * `lrp-0`, `epsilon`, `gamma`, `alpha-beta` and `sign` also take a last parameter `nobias` (`gamma:0.25,nobias`).
 */
export function parseRule(text: string): RuleSpec {
  const [name, rest] = text.includes(':') ? [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)] : [text, ''];
  const ps = rest === '' ? [] : rest.split(',');
  const n = name.trim().toLowerCase();
  if (BIAS_RULES.includes(n) && ps.length > 0 && ps[ps.length - 1].trim() === 'nobias') {
    return { ...parseRule(ps.length > 1 ? `${n}:${ps.slice(0, -1).join(',')}` : n), bias: false } as RuleSpec;
  }
  const none = (): void => {
    if (ps.length) throw new Error(`rule '${n}' takes no parameters`);
  };
  switch (n) {
    case 'lrp-0': case 'lrp0': case 'zero': none(); return { rule: 'lrp-0' };
    case 'epsilon': case 'eps':
      if (ps.length > 2) throw new Error(`rule 'epsilon' takes epsilon[,std]`);
      return {
        rule: 'epsilon',
        ...(ps[0] !== undefined ? { epsilon: checkEpsilon(num(ps[0], 'epsilon'), 'rule parameter epsilon') } : {}),
        ...(ps[1] !== undefined ? { stdScaled: ps[1] === 'std' } : {}),
      };
    case 'gamma':
      if (ps.length > 1) throw new Error(`rule 'gamma' takes one parameter`);
      return { rule: 'gamma', ...(ps[0] !== undefined ? { gamma: checkGamma(num(ps[0], 'gamma'), 'rule parameter gamma') } : {}) };
    case 'alpha-beta': case 'alphabeta': {
      if (ps.length !== 0 && ps.length !== 2) throw new Error(`rule 'alpha-beta' takes alpha,beta`);
      if (!ps.length) return { rule: 'alpha-beta' };
      const alpha = num(ps[0], 'alpha');
      const beta = num(ps[1], 'beta');
      checkAlphaBeta(alpha, beta);
      return { rule: 'alpha-beta', alpha, beta };
    }
    case 'z-plus': case 'zplus':
      if (ps.length > 1 || (ps.length === 1 && ps[0] !== 'nobias' && ps[0] !== 'bias')) {
        throw new Error(`rule 'z-plus' takes 'bias' or 'nobias'`);
      }
      return { rule: 'z-plus', ...(ps[0] ? { bias: ps[0] === 'bias' } : {}) };
    case 'flat': none(); return { rule: 'flat' };
    case 'pass': none(); return { rule: 'pass' };
    case 'w-square': case 'wsquare': case 'w2': none(); return { rule: 'w-square' };
    case 'z-box': case 'zbox': case 'zb':
      if (ps.length !== 0 && ps.length !== 2) throw new Error(`rule 'z-box' takes low,high`);
      if (!ps.length) return { rule: 'z-box' };
      {
        const low = num(ps[0], 'low');
        const high = num(ps[1], 'high');
        checkBounds(low, high, { low: 'z-box low', high: 'high' });
        return { rule: 'z-box', low, high };
      }
    case 'sign': case 'sign-mu':
      if (ps.length > 1) throw new Error(`rule 'sign' takes one parameter (mu)`);
      return { rule: 'sign', ...(ps[0] !== undefined ? { mu: num(ps[0], 'mu') } : {}) };
    case 'deep-taylor': {
      const root = ps[0] ?? 'lrp';
      if (ps.length > 1 || !['nearest', 'origin', 'lrp', 'bounded'].includes(root)) {
        throw new Error(`rule 'deep-taylor' takes one of nearest, origin, lrp, bounded`);
      }
      return { rule: 'deep-taylor', root: root as 'nearest' | 'origin' | 'lrp' | 'bounded' };
    }
    case 'norm-identity': case 'bilinear-uniform': case 'bilinear-value':
      if (ps.length > 1) throw new Error(`rule '${n}' takes one parameter (epsilon)`);
      return { rule: n, ...(ps[0] !== undefined ? { epsilon: num(ps[0], 'epsilon') } : {}) };
    case 'softmax-taylor': case 'held-constant': none(); return { rule: n };
    default:
      throw new Error(`unknown rule '${name}' (known: ${ALL_RULE_NAMES.join(', ')})`);
  }
}

export function checkAlphaBeta(alpha: number, beta: number): void {
  checkAB(alpha, beta);
}

/** Rules whose bias can be left out (all that have one but z-plus, which spells it `z-plus:nobias`). */
export function withoutBias(spec: RuleSpec): RuleSpec {
  switch (spec.rule) {
    case 'lrp-0': case 'epsilon': case 'gamma': case 'alpha-beta': case 'z-plus': case 'sign': return { ...spec, bias: false };
    default: return spec;
  }
}

/** A per-channel list as `[a b c]`; one channel as its number, so CLI and panel print `z-box:0,1` alike. */
function fmt(v: number | number[] | undefined): string {
  if (Array.isArray(v)) return v.length === 1 ? String(v[0]) : `[${v.join(' ')}]`;
  return String(v);
}

/** The rule as the JSON result and the conservation table show it, with parameters resolved. */
export function formatRule(spec: RuleSpec, p: RuleParams = DEFAULT_RULE_PARAMS): string {
  const nb = 'bias' in spec && spec.bias === false && spec.rule !== 'z-plus';
  switch (spec.rule) {
    case 'lrp-0': return nb ? 'lrp-0:nobias' : 'lrp-0';
    case 'epsilon': return `epsilon:${spec.epsilon ?? p.epsilon}${spec.stdScaled ? ',std' : ''}${nb ? ',nobias' : ''}`;
    case 'gamma': return `gamma:${spec.gamma ?? p.gamma}${nb ? ',nobias' : ''}`;
    case 'alpha-beta': return `alpha-beta:${spec.alpha ?? p.alpha},${spec.beta ?? p.beta}${nb ? ',nobias' : ''}`;
    case 'z-plus': return spec.bias === false ? 'z-plus:nobias' : 'z-plus';
    case 'flat': return 'flat';
    case 'pass': return 'pass';
    case 'w-square': return 'w-square';
    case 'z-box': return `z-box:${fmt(spec.low ?? p.low)},${fmt(spec.high ?? p.high)}`;
    case 'sign': return `sign:${spec.mu ?? DEFAULT_SIGN_MU}${nb ? ',nobias' : ''}`;
    case 'deep-taylor': return `deep-taylor:${spec.root}`;
    case 'norm-identity': case 'bilinear-uniform': case 'bilinear-value': return `${spec.rule}:${spec.epsilon ?? p.epsilon}`;
    case 'softmax-taylor': case 'held-constant': return spec.rule;
  }
}
