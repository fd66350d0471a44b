/**
 * Ranges of every user-set parameter, in one place: the CLI (flags), the extension (settings) and the
 * engine worker (messages from the host and the panel) call the same checks where they parse a value,
 * so a bad value is refused with one line before any computation. `label` is how the caller names the
 * value to the user ('--epsilon', 'relevanceLens.maxImageSide', 'epsilon').
 */
import { DEFAULT_RULE_PARAMS } from './ruleDefaults';

export class ParamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParamError';
  }
}

/** Upper limits of counts and sizes: beyond them a run would take hours or the memory of a machine. */
export const PARAM_LIMITS = {
  samples: 100000,
  steps: 100000,
  upscale: 64,
  /** image side in pixels (the decoder's limit, and the maxImageSide setting's range) */
  imageSideMin: 16,
  imageSide: 16384,
  workers: 64,
  seed: 2 ** 31 - 1,
} as const;

const shown = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? String(v));

function fail(label: string, want: string, got: unknown): never {
  throw new ParamError(`${label} expects ${want}, got '${shown(got)}'`);
}

/** A finite number from text or a number. */
export function toNumber(v: string | number, label: string): number {
  const x = typeof v === 'number' ? v : v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(x)) fail(label, 'a number', v);
  return x;
}

export function checkEpsilon(v: string | number, label = 'epsilon'): number {
  const x = toNumber(v, label);
  if (!(x > 0)) fail(label, 'a number > 0 (the stabilizer ε)', v);
  return x;
}

export function checkGamma(v: string | number, label = 'gamma'): number {
  const x = toNumber(v, label);
  if (!(x >= 0)) fail(label, 'a number ≥ 0', v);
  return x;
}

/** α − β = 1 with α, β ≥ 0 (DESIGN.md: conservation needs it). */
export function checkAlphaBeta(alpha: number, beta: number, label = 'alpha-beta'): void {
  if (!Number.isFinite(alpha) || !Number.isFinite(beta) || alpha < 0 || beta < 0 || Math.abs(alpha - beta - 1) > 1e-9) {
    throw new ParamError(`${label} needs alpha - beta = 1 and alpha, beta ≥ 0, got alpha ${alpha}, beta ${beta}`);
  }
}

export type Bound = number | number[];

/** A bound from text: one number or one per channel ("-1,-2,-3"). */
export function toBound(v: string | Bound, label: string): Bound {
  if (Array.isArray(v)) {
    if (v.length === 0) fail(label, 'a number or one number per channel', v);
    return v.map((x) => toNumber(x, label));
  }
  if (typeof v === 'number') return toNumber(v, label);
  const parts = v.split(',').map((p) => toNumber(p, label));
  return parts.length === 1 ? parts[0] : parts;
}

/** z^B bounds: low < high per channel; per-channel lists of equal length (or a scalar on one side). */
export function checkBounds(low: Bound | undefined, high: Bound | undefined, labels = { low: 'low', high: 'high' }, channels?: number): void {
  const n = (b: Bound | undefined): number => (Array.isArray(b) ? b.length : 1);
  for (const [b, label] of [[low, labels.low], [high, labels.high]] as const) {
    if (b !== undefined && channels !== undefined && Array.isArray(b) && b.length !== channels) {
      throw new ParamError(`${label} gives ${b.length} values, the input has ${channels} channel${channels === 1 ? '' : 's'}`);
    }
  }
  if (low === undefined || high === undefined) return;
  if (Array.isArray(low) && Array.isArray(high) && low.length !== high.length) {
    throw new ParamError(`${labels.low} and ${labels.high} give ${low.length} and ${high.length} channels`);
  }
  const c = Math.max(n(low), n(high));
  for (let i = 0; i < c; i++) {
    const l = Array.isArray(low) ? low[i] : low;
    const h = Array.isArray(high) ? high[i] : high;
    if (!(l < h)) {
      throw new ParamError(`${labels.low} must be below ${labels.high}${c > 1 ? ` in every channel (channel ${i}: ${l} ≥ ${h})` : ` (got ${l} ≥ ${h})`}`);
    }
  }
}

export function checkOpacity(v: string | number, label = 'opacity'): number {
  const x = toNumber(v, label);
  if (!(x >= 0 && x <= 1)) fail(label, 'a number in 0..1', v);
  return x;
}

export function checkPercentile(v: string | number, label = 'percentile'): number {
  const x = toNumber(v, label);
  if (!(x > 0 && x <= 100)) fail(label, 'a number in (0, 100]', v);
  return x;
}

export function checkSigma(v: string | number, label = 'sigma'): number {
  const x = toNumber(v, label);
  if (!(x >= 0)) fail(label, 'a number ≥ 0 (a fraction of the input range)', v);
  return x;
}

/** An integer in min..max (counts: samples, steps, workers, sizes). */
export function checkInteger(v: string | number, label: string, min: number, max: number): number {
  const x = typeof v === 'number' ? v : v.trim() === '' ? NaN : Number(v);
  if (!Number.isInteger(x) || x < min || x > max) fail(label, `an integer in ${min}..${max}`, v);
  return x;
}

export interface RuleParamInput {
  epsilon?: number;
  gamma?: number;
  alpha?: number;
  beta?: number;
  low?: Bound;
  high?: Bound;
}

/**
 * The composite's parameters together: each in range, and α, β as the engine will use them (a value
 * not given takes its default, α = 2 or β = 1, so `--alpha 3` alone is refused rather than ignored).
 */
export function checkRuleParams(p: RuleParamInput, label: (name: string) => string = (n) => n, defaults = DEFAULT_RULE_PARAMS): void {
  if (p.epsilon !== undefined) checkEpsilon(p.epsilon, label('epsilon'));
  if (p.gamma !== undefined) checkGamma(p.gamma, label('gamma'));
  if (p.alpha !== undefined) toNumber(p.alpha, label('alpha'));
  if (p.beta !== undefined) toNumber(p.beta, label('beta'));
  if (p.alpha !== undefined || p.beta !== undefined) {
    checkAlphaBeta(p.alpha ?? defaults.alpha, p.beta ?? defaults.beta, `${label('alpha')} / ${label('beta')}`);
  }
  const low = p.low !== undefined ? toBound(p.low, label('low')) : undefined;
  const high = p.high !== undefined ? toBound(p.high, label('high')) : undefined;
  checkBounds(low, high, { low: label('low'), high: label('high') });
}

/** The message of a failed check, or undefined when it passes (for type guards and settings). */
export function problem(check: () => unknown): string | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    if (e instanceof ParamError) return e.message;
    throw e;
  }
}

/**
 * `--rule LAYER=RULE[:params]` where layer names may themselves hold '=' (Keras allows any name):
 * the split is at the last '=' whose right side is a rule (rule names and parameters hold no '='),
 * and a layer name may also be quoted: --rule '"a=b"=epsilon'.
 */
export function splitRuleOverride(item: string): { layer: string; rule: string } | undefined {
  const quoted = /^"((?:[^"\\]|\\.)*)"=(.*)$/s.exec(item) ?? /^'([^']*)'=(.*)$/s.exec(item);
  if (quoted) return { layer: quoted[1].replace(/\\(.)/g, '$1'), rule: quoted[2] };
  const eq = item.lastIndexOf('=');
  if (eq <= 0) return undefined;
  return { layer: item.slice(0, eq), rule: item.slice(eq + 1) };
}

/** SmoothGrad / Integrated Gradients parameters as the panel and settings send them. */
export function checkMethodParams(m: { samples?: number; sigma?: number; steps?: number }, label: (name: string) => string = (n) => n): void {
  if (m.samples !== undefined) checkInteger(m.samples, label('samples'), 1, PARAM_LIMITS.samples);
  if (m.sigma !== undefined) checkSigma(m.sigma, label('sigma'));
  if (m.steps !== undefined) checkInteger(m.steps, label('steps'), 1, PARAM_LIMITS.steps);
}

/** Heatmap display: percentile in (0, 100], opacity in 0..1. */
export function checkDisplay(d: { percentile: number; opacity: number }, label: (name: string) => string = (n) => n): void {
  checkPercentile(d.percentile, label('percentile'));
  checkOpacity(d.opacity, label('opacity'));
}
