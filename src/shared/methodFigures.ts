/**
 * What each method's summary says, in words and units, for the CLI and the panel alike: LRP-family
 * methods conserve relevance (input relevance as a share of the logit), Integrated Gradients has
 * completeness (error as % of f(x) − f(baseline)), SmoothGrad has its noise and sample count, and the
 * plain gradient family has no conservation property at all, so no LRP-style ratios are shown for it.
 * No vscode, no DOM, no engine code.
 */
import type { NoiseMethod } from './methodParams';

/**
 * Methods whose maps are attributions of the logit (same unit: they sum to about the logit) and so can
 * share one colour scale; the others are gradients or signals, on a scale of their own.
 */
export const ATTRIBUTION_METHODS: readonly string[] = ['lrp', 'deep-taylor', 'deep-taylor-bounded', 'gradient-x-input', 'integrated-gradients', 'pattern-attribution'];

/**
 * The shared colour scale of compare thumbnails: per unit group (attributions / gradient-type), the
 * largest of the members' own scales, so every map in a group is drawn against the same ±vmax.
 */
export function sharedScales(entries: { method: string; vmax?: number }[]): (number | undefined)[] {
  const group = (m: string) => (ATTRIBUTION_METHODS.includes(m) ? 'attribution' : 'gradient');
  const max = new Map<string, number>();
  for (const e of entries) if (e.vmax !== undefined) max.set(group(e.method), Math.max(max.get(group(e.method)) ?? 0, e.vmax));
  return entries.map((e) => (e.vmax === undefined ? undefined : max.get(group(e.method))));
}

export interface Figure {
  label: string;
  value: string;
}

export interface MethodFigures {
  /** true when the per-layer conservation table means something for this method */
  conservation: boolean;
  figures: Figure[];
  /** one sentence on what the numbers mean (or why there is no table) */
  note: string;
}

/** One number format for every figure: 4 significant digits, exponent outside [1e-3, 1e4). */
export function fmt(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(digits - 1) : v.toPrecision(digits);
}

/** One probability format everywhere (CLI and panel): a percentage with two decimals, "<0.01 %" below. */
export function fmtProbability(p: number): string {
  if (!Number.isFinite(p)) return String(p);
  if (p > 0 && p < 5e-5) return '<0.01 %';
  return `${(100 * p).toFixed(2)} %`;
}

function pct(v: number): string {
  return `${fmt(100 * v, 3)} %`;
}

export interface FigureInput {
  method: string;
  inputRelevanceSum: number;
  logit: number;
  extra?: Record<string, unknown>;
  /** per-layer closed-form shares (the table's 'bias share' / 'ε share' columns), for LRP-family methods */
  layers?: { biasLeak?: number; stabilizerLeak?: number }[];
}

function group(extra: Record<string, unknown> | undefined, name: string): Record<string, unknown> {
  const g = extra?.[name];
  return typeof g === 'object' && g !== null ? (g as Record<string, unknown>) : {};
}

const n = (v: unknown): number => (typeof v === 'number' ? v : NaN);

export function methodFigures(r: FigureInput): MethodFigures {
  const kept = r.logit !== 0 ? r.inputRelevanceSum / r.logit : NaN;
  switch (r.method) {
    case 'lrp': case 'deep-taylor': case 'deep-taylor-bounded': {
      const figures = [{ label: 'input relevance', value: `${fmt(r.inputRelevanceSum)} = ${pct(kept)} of the logit ${fmt(r.logit)}` }];
      let bias = 0;
      let stab = 0;
      for (const l of r.layers ?? []) {
        bias += l.biasLeak ?? 0;
        stab += l.stabilizerLeak ?? 0;
      }
      if (r.layers?.some((l) => l.biasLeak !== undefined)) {
        const gap = r.logit - r.inputRelevanceSum;
        const rest = gap - bias - stab;
        // what no closed form covers (e.g. relevance a rule gave to zero padding): shown when it matters
        const other = Math.abs(rest) > 1e-3 * Math.max(Math.abs(r.logit), 1e-12) ? `, elsewhere ${fmt(rest)} (rows with ratio ≠ 1 and no bias / ε share, e.g. zero padding)` : '';
        figures.push({ label: 'logit − input relevance', value: `${fmt(gap)}: bias terms ${fmt(bias)}, stabilizers ${fmt(stab)}${other} (sums of the table's bias / ε shares)` });
      }
      return {
        conservation: true,
        figures,
        note: 'LRP starts from the logit and each rule passes on what its bias and stabilizer terms do not take; a negative bias share means '
          + 'negative biases gave relevance back, so the input can get more than the logit. Bias-free composites (NAME-nobias) keep it all.',
      };
    }
    case 'integrated-gradients': {
      const ig = group(r.extra, 'integratedGradients');
      const fx = n(ig.outputAtInput);
      const fb = n(ig.outputAtBaseline);
      return {
        conservation: false,
        figures: [
          { label: 'completeness error', value: `${pct(n(ig.completenessError))} of f(x) − f(baseline)` },
          { label: 'f(x) − f(baseline)', value: `${fmt(fx)} − ${fb < 0 ? `(${fmt(fb)})` : fmt(fb)} = ${fmt(fx - fb)}` },
          { label: 'sum of attributions', value: fmt(n(ig.attributionSum)) },
          { label: 'path', value: `${n(ig.steps)} steps from baseline ${String(ig.baseline ?? 'zeros')}` },
        ],
        note: 'Integrated Gradients is complete: its attributions sum to f(x) − f(baseline) up to the path quadrature error shown; it has no per-layer conservation.',
      };
    }
    case 'smoothgrad': case 'smoothgrad-squared': case 'vargrad': {
      const sg = group(r.extra, 'smoothgrad');
      const m = r.method as NoiseMethod;
      const what = { smoothgrad: 'the mean gradient', 'smoothgrad-squared': 'the mean squared gradient', vargrad: 'the gradient variance' }[m];
      const notes = {
        smoothgrad: 'SmoothGrad averages gradients over noisy copies of the input',
        'smoothgrad-squared': 'SmoothGrad² averages squared gradients over noisy copies of the input (no sign: every value ≥ 0)',
        vargrad: 'VarGrad is the variance of the gradients over noisy copies of the input (no sign: every value ≥ 0)',
      };
      return {
        conservation: false,
        figures: [
          { label: 'noise σ', value: `${fmt(n(sg.sigma))} of the input range (${fmt(n(sg.noiseStd))} in input units)` },
          { label: 'samples', value: `${n(sg.samples)} (seed ${String(sg.seed ?? 0)})` },
          { label: `sum of ${what}`, value: fmt(r.inputRelevanceSum) },
        ],
        note: `${notes[m]}; gradients have no conservation property, so no per-layer table.`,
      };
    }
    case 'gradient-x-input': case 'pattern-attribution':
      return {
        conservation: false,
        figures: [{ label: 'sum of attributions', value: `${fmt(r.inputRelevanceSum)} (logit ${fmt(r.logit)})` }],
        note: 'The sum equals the logit only for bias-free piecewise-linear nets; it is not a conservation figure, so no per-layer table.',
      };
    default:
      return {
        conservation: false,
        figures: [{ label: 'sum over the input', value: fmt(r.inputRelevanceSum) }],
        note: 'A gradient-type signal: its sum has no relation to the logit, so no conservation figures are shown.',
      };
  }
}
