/** RuleSpec with every parameter filled in, as the backward pass applies it. */
import type { RuleParams, RuleSpec } from '../../shared/ruleSpec';
import { checkAlphaBeta, DEFAULT_SIGN_MU } from '../../shared/ruleSpec';
import { LensError } from '../errors';

/** Stabilizer of every denominator that is not the ε of the ε-rule (DESIGN.md). */
export const STABILIZER = 1e-6;

export type ResolvedRule =
  /** z-rule family: LRP-0 (eps = stabilizer), ε; bias in the denominator or not */
  | { kind: 'z'; eps: number; stdScaled: boolean; bias: boolean }
  | { kind: 'gamma'; gamma: number; bias: boolean }
  | { kind: 'alpha-beta'; alpha: number; beta: number; bias: boolean }
  | { kind: 'flat' }
  | { kind: 'w-square' }
  | { kind: 'z-box'; low: number | number[]; high: number | number[] }
  | { kind: 'pass' }
  /** SIGN-μ: the z-rule's denominator, input factor ±1 (+1 where a ≥ mu) */
  | { kind: 'sign'; mu: number; bias: boolean }
  | { kind: 'norm-identity'; eps: number }
  | { kind: 'softmax-taylor' }
  | { kind: 'held-constant' }
  | { kind: 'bilinear-uniform'; eps: number }
  | { kind: 'bilinear-value'; eps: number };

export function resolveRule(spec: RuleSpec, p: RuleParams): ResolvedRule {
  switch (spec.rule) {
    case 'lrp-0': return { kind: 'z', eps: STABILIZER, stdScaled: false, bias: spec.bias ?? true };
    case 'epsilon': return { kind: 'z', eps: spec.epsilon ?? p.epsilon, stdScaled: spec.stdScaled ?? false, bias: spec.bias ?? true };
    case 'gamma': return { kind: 'gamma', gamma: spec.gamma ?? p.gamma, bias: spec.bias ?? true };
    case 'alpha-beta': {
      const alpha = spec.alpha ?? p.alpha;
      const beta = spec.beta ?? p.beta;
      try {
        checkAlphaBeta(alpha, beta);
      } catch (e) {
        throw new LensError('bad-usage', (e as Error).message);
      }
      return { kind: 'alpha-beta', alpha, beta, bias: spec.bias ?? true };
    }
    case 'z-plus': return { kind: 'alpha-beta', alpha: 1, beta: 0, bias: spec.bias ?? true };
    case 'flat': return { kind: 'flat' };
    case 'w-square': return { kind: 'w-square' };
    case 'pass': return { kind: 'pass' };
    case 'sign': return { kind: 'sign', mu: spec.mu ?? DEFAULT_SIGN_MU, bias: spec.bias ?? true };
    case 'z-box': {
      const low = spec.low ?? p.low;
      const high = spec.high ?? p.high;
      if (low === undefined || high === undefined) {
        throw new LensError('bad-usage', 'z-box needs input bounds: give --low/--high or a model card');
      }
      return { kind: 'z-box', low, high };
    }
    case 'norm-identity': case 'bilinear-uniform': case 'bilinear-value':
      return { kind: spec.rule, eps: spec.epsilon ?? p.epsilon };
    case 'softmax-taylor': case 'held-constant': return { kind: spec.rule };
    case 'deep-taylor':
      // DTD root points: nearest root -> w², origin -> z-rule, LRP-equivalent -> z⁺; biases excluded.
      switch (spec.root) {
        case 'nearest': return { kind: 'w-square' };
        case 'origin': return { kind: 'z', eps: STABILIZER, stdScaled: false, bias: false };
        case 'lrp': return { kind: 'alpha-beta', alpha: 1, beta: 0, bias: false };
        case 'bounded': return resolveRule({ rule: 'z-box' }, p);
      }
  }
}

/** Whether a rule's relevance at a layer's input is its input activation times something (all but flat, w², pass, SIGN). */
export function scalesByInput(rule: ResolvedRule): boolean {
  return rule.kind !== 'flat' && rule.kind !== 'w-square' && rule.kind !== 'pass' && rule.kind !== 'sign';
}
