/** `relevance-lens explain MODEL INPUT [options]`: one explanation, per the CLI contract of DESIGN.md. */
import { parseArgs } from 'util';
import { initBackend, type BackendChoice } from '../../core/engine/backend';
import { cardBounds, openModel, readInput, renderHeatmapPng } from '../../core/pipeline';
import { Explainer, type ExplainOutput } from '../../core/methods/explain';
import type { ExplainOptions, MethodName } from '../../core/methods/types';
import { DEFAULT_COMPOSITE } from '../../core/composites/presets';
import { parseRule, type RuleSpec } from '../../shared/ruleSpec';
import { writeFileAtomic } from '../../core/io/atomicWrite';
import { writeNpy } from '../../core/io/npy';
import { COLORMAP_NAMES, type ColormapName } from '../../core/image/colormap';
import { inputBounds } from '../../core/card/modelCard';
import { num, table } from '../format';
import { UsageError } from '../errors';

const OPTIONS = {
  method: { type: 'string' },
  composite: { type: 'string' },
  rule: { type: 'string', multiple: true },
  epsilon: { type: 'string' },
  gamma: { type: 'string' },
  alpha: { type: 'string' },
  beta: { type: 'string' },
  low: { type: 'string' },
  high: { type: 'string' },
  class: { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'string' },
  npy: { type: 'string' },
  png: { type: 'string' },
  card: { type: 'string' },
  colormap: { type: 'string' },
  percentile: { type: 'string' },
  opacity: { type: 'string' },
  upscale: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

const USAGE = 'usage: relevance-lens explain MODEL INPUT [--method M] [--composite NAME] [--rule LAYER=RULE[:p,...]]... '
  + '[--epsilon E] [--gamma G] [--alpha A] [--beta B] [--low L] [--high H] [--class N|top] [--backend auto|tensorflow|wasm|cpu] '
  + '[--json FILE] [--npy FILE] [--png FILE] [--card FILE] [--colormap NAME] [--percentile P] [--opacity O] [--upscale K] [--quiet]';

function number(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`--${flag} expects a number, got '${v}'`);
  return x;
}

function bound(v: string | undefined, flag: string): number | number[] | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(',').map((p) => number(p, flag)!);
  return parts.length === 1 ? parts[0] : parts;
}

function upscale(v: string | undefined): number {
  const k = number(v, 'upscale') ?? 1;
  if (!Number.isInteger(k) || k < 1 || k > 64) throw new UsageError(`--upscale expects an integer 1..64, got '${v}'`);
  return k;
}

export function parseRuleOverrides(list: string[] | undefined): Record<string, RuleSpec> {
  const out: Record<string, RuleSpec> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--rule expects LAYER=RULE[:params], got '${item}'`);
    try {
      out[item.slice(0, eq)] = parseRule(item.slice(eq + 1));
    } catch (e) {
      throw new UsageError(`--rule ${item}: ${(e as Error).message}`);
    }
  }
  return out;
}

export function toJson(r: ExplainOutput, model: string, input: string, backend: string): unknown {
  return {
    method: r.method, composite: r.composite, rules: r.rules, target: r.target, prediction: r.prediction,
    relevance: { shape: r.relevance.shape, data: Array.from(r.relevance.data) },
    layers: r.layers, inputRelevanceSum: r.inputRelevanceSum, timings: r.timings,
    ...(r.extra ? { extra: r.extra } : {}),
    model, input, backend,
  };
}

export async function runExplain(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
  if (positionals.length !== 2) throw new UsageError(USAGE);
  const [modelFile, inputFile] = positionals;
  const method = (values.method ?? 'lrp') as MethodName;
  if (values.colormap && !COLORMAP_NAMES.includes(values.colormap as ColormapName)) {
    throw new UsageError(`--colormap must be one of ${COLORMAP_NAMES.join(', ')}`);
  }
  let targetClass: number | 'top' = 'top';
  if (values.class !== undefined && values.class !== 'top') {
    const c = Number(values.class);
    if (!Number.isInteger(c) || c < 0) throw new UsageError(`--class expects a class index or 'top', got '${values.class}'`);
    targetClass = c;
  }
  const rules = parseRuleOverrides(values.rule);
  const backend = await initBackend((values.backend ?? 'auto') as BackendChoice);
  const model = await openModel(modelFile, values.card);
  const { input, display } = readInput(inputFile, model);
  // z^B bounds: flags, else the card's (or the default card's, for an image preprocessed by it).
  const cb = cardBounds(model) ?? (display ? inputBounds(model.card) : undefined);
  const opts: ExplainOptions = {
    method,
    composite: values.composite ?? (method === 'lrp' ? DEFAULT_COMPOSITE : undefined),
    rules,
    targetClass,
    labels: model.labels,
    conservationDetail: true,
    params: {
      epsilon: number(values.epsilon, 'epsilon'), gamma: number(values.gamma, 'gamma'),
      alpha: number(values.alpha, 'alpha'), beta: number(values.beta, 'beta'),
      low: bound(values.low, 'low') ?? cb?.low, high: bound(values.high, 'high') ?? cb?.high,
    },
  };
  const explainer = new Explainer(model.graph);
  let r: ExplainOutput;
  try {
    explainer.checkInput(input, inputFile);
    r = explainer.explain(input, opts);
  } finally {
    explainer.dispose();
  }
  const writes: Promise<void>[] = [];
  if (values.json) writes.push(writeFileAtomic(values.json, JSON.stringify(toJson(r, modelFile, inputFile, backend))));
  if (values.npy) writes.push(writeFileAtomic(values.npy, writeNpy(r.relevance.shape, r.relevance.data)));
  if (values.png) {
    const percentile = number(values.percentile, 'percentile');
    const png = renderHeatmapPng(r.relevance, display, {
      colormap: (values.colormap ?? 'seismic') as ColormapName,
      scale: percentile === undefined ? 'max' : { percentile },
      opacity: number(values.opacity, 'opacity') ?? 0.7,
      upscale: upscale(values.upscale),
    });
    writes.push(writeFileAtomic(values.png, png));
  }
  await Promise.all(writes);
  if (!values.quiet) process.stdout.write(summary(r, modelFile, inputFile, backend) + '\n');
  return 0;
}

function summary(r: ExplainOutput, model: string, input: string, backend: string): string {
  const lines: string[] = [];
  const label = (l?: string): string => (l !== undefined ? ` (${l})` : '');
  lines.push(`${input} with ${model}: ${r.method}${r.composite ? ' ' + r.composite : ''} on ${backend}`);
  lines.push(`prediction: ${r.prediction.map((p) => `${p.class}${label(p.label)} ${num(p.score, 4)}`).join(', ')}`);
  lines.push(`explained class ${r.target.class}${label(r.target.label)}, logit ${num(r.target.logit)}`);
  lines.push('');
  const leak = (v: number | undefined): string => (v === undefined ? '' : num(v, 3));
  lines.push(table(['layer', 'op', 'rule', 'R at output', 'R to input', 'ratio', 'bias share', 'ε share'],
    r.layers.map((l) => [l.name, l.op, l.rule, num(l.outputRelevanceSum), num(l.inputRelevanceSum), num(l.ratio, 6),
      leak(l.biasLeak), leak(l.stabilizerLeak)]),
    [false, false, false, true, true, true, true, true]));
  lines.push('');
  const rel = r.target.logit !== 0 ? r.inputRelevanceSum / r.target.logit : NaN;
  lines.push(`input relevance sum ${num(r.inputRelevanceSum)} = ${num(rel, 4)} × logit   (forward ${r.timings.forwardMs.toFixed(1)} ms, ${r.method} ${r.timings.methodMs.toFixed(1)} ms)`);
  return lines.join('\n');
}
