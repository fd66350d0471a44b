/** `relevance-lens explain MODEL INPUT [options]`: one explanation, per the CLI contract of DESIGN.md. */
import * as fs from 'fs';
import { parseArgs } from 'util';
import { selectBackend } from '../../core/onnx/engineBackend';
import { OnnxExplainer } from '../../core/onnx/onnxExplainer';
import { cardBounds, openModel, readInput, renderHeatmapPng } from '../../core/pipeline';
import { checkInputFor, Explainer, type ExplainOutput } from '../../core/methods/explain';
import type { BaselineSpec, ExplainOptions, MethodName } from '../../core/methods/types';
import { methodNames } from '../../core/methods/method';
import { assertSupported } from '../../core/graph/summary';
import { loadPatterns } from '../../core/patterns/file';
import type { PatternSet } from '../../core/patterns/patternSet';
import { readNpy } from '../../core/io/npy';
import { LensError } from '../../core/errors';
import { defaultCompositeFor } from '../../core/composites/presets';
import { parseRule, type RuleSpec } from '../../shared/ruleSpec';
import { patchTokens, tokenMapToImage, tokenRelevance } from '../../core/image/tokenMap';
import { writeFileAtomic } from '../../core/io/atomicWrite';
import { writeNpy } from '../../core/io/npy';
import { COLORMAP_NAMES, type ColormapName } from '../../core/image/colormap';
import { inputBounds } from '../../core/card/modelCard';
import { num, table } from '../format';
import { UsageError } from '../errors';
import { defaultWorkerCount, SampleWorkerPool } from '../../core/parallel/pool';

const MAX_WORKERS = 64;

/** Composite, per-layer rules and their parameters: shared by `explain` and `evaluate`. */
export const RULE_OPTIONS = {
  composite: { type: 'string' },
  rule: { type: 'string', multiple: true },
  epsilon: { type: 'string' },
  gamma: { type: 'string' },
  alpha: { type: 'string' },
  beta: { type: 'string' },
  low: { type: 'string' },
  high: { type: 'string' },
} as const;

const OPTIONS = {
  method: { type: 'string' },
  ...RULE_OPTIONS,
  class: { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'string' },
  npy: { type: 'string' },
  png: { type: 'string' },
  'token-png': { type: 'string' },
  card: { type: 'string' },
  colormap: { type: 'string' },
  percentile: { type: 'string' },
  opacity: { type: 'string' },
  upscale: { type: 'string' },
  samples: { type: 'string' },
  sigma: { type: 'string' },
  seed: { type: 'string' },
  steps: { type: 'string' },
  baseline: { type: 'string' },
  root: { type: 'string' },
  patterns: { type: 'string' },
  'pattern-type': { type: 'string' },
  workers: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

const USAGE = 'usage: relevance-lens explain MODEL INPUT [--method M] [--composite NAME] [--rule LAYER=RULE[:p,...]]... '
  + '[--epsilon E] [--gamma G] [--alpha A] [--beta B] [--low L] [--high H] [--class N|top] [--backend auto|onnx|tensorflow|wasm|cpu] '
  + '[--samples N] [--sigma S] [--seed N] [--steps N] [--baseline zeros|constant:V|blur[:SIGMA]|FILE.npy] [--root nearest|origin|lrp] '
  + '[--patterns FILE] [--pattern-type relu|linear] [--workers N] '
  + '[--json FILE] [--npy FILE] [--png FILE] [--token-png FILE] [--card FILE] [--colormap NAME] [--percentile P] [--opacity O] [--upscale K] [--quiet]';

const HELP = `usage: relevance-lens explain MODEL INPUT [options]
  INPUT: .png/.jpg/.jpeg/.bmp (preprocessed per the model card) or a float32 .npy, HWC or 1×H×W×C (used as given)

  --method M                 lrp (default), deep-taylor, deep-taylor-bounded, gradient, gradient-x-input, smoothgrad,
                             integrated-gradients, deconvnet, guided-backprop, pattern-net, pattern-attribution
  --composite NAME           lrp preset (default epsilon-gamma-box; attn-lrp for models with attention or LayerNorm;
                             transformers: attn-lrp, cp-lrp, attn-lrp-gamma, cp-lrp-gamma)
  --rule LAYER=RULE[:p,...]  per-layer rule override, repeatable (LayerNorm: norm-identity[:ε] | pass; attention softmax:
                             softmax-taylor | held-constant; product of activations: bilinear-uniform[:ε] | bilinear-value[:ε])
  --epsilon E --gamma G --alpha A --beta B    composite parameters
  --low L --high H           z^B bounds (a number or one per channel; default from the model card)
  --class N|top              explained class (default top)
  smoothgrad:                --samples N (default 32)  --sigma S (noise, fraction of the input range; default 0.15)
                             --seed N (default 0)
  integrated-gradients:      --steps N (default 64)  --baseline zeros|constant:V|blur[:SIGMA px]|FILE.npy (default zeros)
  deep-taylor(-bounded):     --root nearest|origin|lrp (default lrp)
  pattern-net/-attribution:  --patterns FILE (from 'relevance-lens patterns fit', required)
                             --pattern-type relu|linear (default relu)
  smoothgrad, integrated-gradients:
                             --workers N  threads for the samples (default ${defaultWorkerCount()}: min(2, CPU cores);
                             1 = this thread only). Each extra worker holds one more copy of the model;
                             the result does not depend on N
  --backend auto|onnx|tensorflow|wasm|cpu
  --json FILE --npy FILE --png FILE           outputs
  --token-png FILE                            vision transformers: per-patch-token relevance (Σ over features of the
                                              patch tokens the class token joins) as a heatmap over the patch grid
  --card FILE                model card instead of the one next to the model
  --colormap NAME --percentile P --opacity O --upscale K   heatmap rendering
  --quiet, -q                no summary on stdout`;

export function number(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`--${flag} expects a number, got '${v}'`);
  return x;
}

export function integer(v: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isInteger(x) || x < min || x > max) throw new UsageError(`--${flag} expects an integer in ${min}..${max}, got '${v}'`);
  return x;
}

/** Which methods each method flag applies to: a flag the method would ignore is a usage error. */
const METHOD_FLAGS: Record<string, readonly MethodName[]> = {
  samples: ['smoothgrad'],
  sigma: ['smoothgrad'],
  seed: ['smoothgrad'],
  steps: ['integrated-gradients'],
  baseline: ['integrated-gradients'],
  root: ['deep-taylor', 'deep-taylor-bounded'],
  patterns: ['pattern-net', 'pattern-attribution'],
  'pattern-type': ['pattern-net', 'pattern-attribution'],
  workers: ['smoothgrad', 'integrated-gradients'],
};

/** `--baseline zeros|constant:V|blur[:SIGMA]|FILE.npy` (the .npy is read later, against the model). */
export function parseBaseline(v: string): BaselineSpec | { kind: 'file'; file: string } {
  const t = v.trim();
  if (t === 'zeros') return { kind: 'zeros' };
  if (t.startsWith('constant:') || t === 'constant') {
    const value = Number(t.slice('constant:'.length));
    if (t === 'constant' || t.slice('constant:'.length).trim() === '' || !Number.isFinite(value)) {
      throw new UsageError(`--baseline constant:V expects a number V, got '${v}'`);
    }
    return { kind: 'constant', value };
  }
  if (t === 'blur') return { kind: 'blur' };
  if (t.startsWith('blur:')) {
    const sigma = Number(t.slice('blur:'.length));
    if (t.slice('blur:'.length).trim() === '' || !Number.isFinite(sigma) || sigma < 0) {
      throw new UsageError(`--baseline blur:SIGMA expects a blur radius ≥ 0 in pixels, got '${v}'`);
    }
    return { kind: 'blur', sigma };
  }
  if (t.toLowerCase().endsWith('.npy')) return { kind: 'file', file: v };
  throw new UsageError(`--baseline must be zeros, constant:V, blur[:SIGMA] or a FILE.npy, got '${v}'`);
}

function readBaselineNpy(file: string, want: number[]): BaselineSpec {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    throw new LensError('bad-input', 'baseline file not found', file);
  }
  const a = readNpy(bytes, file);
  const shape = a.shape.length === 4 && a.shape[0] === 1 ? a.shape.slice(1) : a.shape;
  if (shape.length !== 3 || shape.some((d, i) => d !== want[i])) {
    throw new LensError('bad-input', `baseline .npy has shape (${a.shape.join(', ')}), the model expects (${want.join(', ')}) HWC or (1, ${want.join(', ')})`, file);
  }
  for (let i = 0; i < a.data.length; i++) {
    if (!Number.isFinite(a.data[i])) throw new LensError('non-finite', `baseline contains NaN or Inf at index ${i}`, file);
  }
  return { kind: 'array', shape, data: a.data };
}

/** `--workers N`: threads in all for sample-parallel work (1..64; default min(2, CPU cores)). */
export function workerCount(v: string | undefined): number {
  return integer(v, 'workers', 1, MAX_WORKERS) ?? defaultWorkerCount();
}

/** A pool for `workers` threads, or none for 1 (everything on this thread, as without the flag's pool). */
export function samplePool(workers: number): SampleWorkerPool | undefined {
  return workers > 1 ? new SampleWorkerPool(workers) : undefined;
}

export function bound(v: string | undefined, flag: string): number | number[] | undefined {
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

export function toJson(r: ExplainOutput, model: string, input: string, backend: string, backendReason?: string): unknown {
  return {
    method: r.method, composite: r.composite, rules: r.rules, target: r.target, prediction: r.prediction,
    relevance: { shape: r.relevance.shape, data: Array.from(r.relevance.data) },
    layers: r.layers, inputRelevanceSum: r.inputRelevanceSum, timings: r.timings,
    ...(r.extra ? { extra: r.extra } : {}),
    model, input, backend, ...(backendReason ? { backendReason } : {}),
  };
}

/**
 * `--low -2.1` and `--sigma -1`: node's parseArgs takes a value starting with '-' for an option
 * ("ambiguous"); a negative number after a value-taking flag is joined as `--low=-2.1`.
 */
export function joinNegativeValues(args: string[], options: Record<string, { type: string }> = OPTIONS): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const name = a.startsWith('--') ? a.slice(2) : undefined;
    const next = args[i + 1];
    if (name && !name.includes('=') && options[name]?.type === 'string'
      && next !== undefined && /^-(\d|\.\d|Infinity|NaN)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

export async function runExplain(argv: string[]): Promise<number> {
  const args = joinNegativeValues(argv);
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(USAGE);
  const [modelFile, inputFile] = positionals;
  const method = (values.method ?? 'lrp') as MethodName;
  if (!methodNames().includes(method)) throw new UsageError(`--method must be one of ${methodNames().join(', ')}; got '${values.method}'`);
  if (values.colormap && !COLORMAP_NAMES.includes(values.colormap as ColormapName)) {
    throw new UsageError(`--colormap must be one of ${COLORMAP_NAMES.join(', ')}`);
  }
  let targetClass: number | 'top' = 'top';
  if (values.class !== undefined && values.class !== 'top') {
    const c = Number(values.class);
    if (!Number.isInteger(c) || c < 0) throw new UsageError(`--class expects a class index or 'top', got '${values.class}'`);
    targetClass = c;
  }
  // method flags: checked before anything is loaded
  for (const [flag, methods] of Object.entries(METHOD_FLAGS)) {
    if (values[flag as keyof typeof values] !== undefined && !methods.includes(method)) {
      throw new UsageError(`--${flag} applies to --method ${methods.join(' / ')}, not ${method}`);
    }
  }
  const samples = integer(values.samples, 'samples', 1, 100000);
  const sigma = number(values.sigma, 'sigma');
  if (sigma !== undefined && sigma < 0) throw new UsageError(`--sigma expects a number ≥ 0 (a fraction of the input range), got '${values.sigma}'`);
  const seed = integer(values.seed, 'seed', 0, 2 ** 31 - 1);
  const steps = integer(values.steps, 'steps', 1, 100000);
  const workers = workerCount(values.workers);
  const baseline = values.baseline !== undefined ? parseBaseline(values.baseline) : undefined;
  const root = values.root;
  if (root !== undefined && root !== 'nearest' && root !== 'origin' && root !== 'lrp') {
    throw new UsageError(`--root must be nearest, origin or lrp, got '${root}'${root === 'bounded' ? ' (the box root is --method deep-taylor-bounded)' : ''}`);
  }
  const patternType = values['pattern-type'];
  if (patternType !== undefined && patternType !== 'relu' && patternType !== 'linear') {
    throw new UsageError(`--pattern-type must be relu or linear, got '${patternType}'`);
  }
  if ((method === 'pattern-net' || method === 'pattern-attribution') && values.patterns === undefined) {
    throw new UsageError(`--method ${method} needs --patterns FILE (make one with 'relevance-lens patterns fit MODEL DATA --out FILE')`);
  }
  const rules = parseRuleOverrides(values.rule);
  const ruleParams = {
    epsilon: number(values.epsilon, 'epsilon'), gamma: number(values.gamma, 'gamma'),
    alpha: number(values.alpha, 'alpha'), beta: number(values.beta, 'beta'),
    low: bound(values.low, 'low'), high: bound(values.high, 'high'),
  };
  const percentile = number(values.percentile, 'percentile');
  const opacity = number(values.opacity, 'opacity') ?? 0.7;
  const upscaleBy = upscale(values.upscale);
  const engine = await selectBackend(values.backend ?? 'auto');
  const model = await openModel(modelFile, values.card);
  // an op no method can run is named, with its node, before any computation
  assertSupported(model.graph, modelFile);
  const patterns: PatternSet | undefined = values.patterns !== undefined ? loadPatterns(values.patterns) : undefined;
  const { input, display } = readInput(inputFile, model);
  const want = model.graph.nodes[model.graph.input].shape;
  const baselineSpec: BaselineSpec | undefined = baseline?.kind === 'file' ? readBaselineNpy(baseline.file, want) : baseline;
  // z^B bounds: flags, else the card's (or the default card's, for an image preprocessed by it).
  const cb = cardBounds(model) ?? (display ? inputBounds(model.card) : undefined);
  const opts: ExplainOptions = {
    method,
    composite: values.composite ?? (method === 'lrp' ? defaultCompositeFor(model.graph) : undefined),
    rules,
    targetClass,
    labels: model.labels,
    conservationDetail: true,
    params: { ...ruleParams, low: ruleParams.low ?? cb?.low, high: ruleParams.high ?? cb?.high },
    ...(samples !== undefined ? { samples } : {}),
    ...(sigma !== undefined ? { sigma } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(steps !== undefined ? { steps } : {}),
    ...(baselineSpec ? { baseline: baselineSpec } : {}),
    ...(root ? { root } : {}),
    ...(patterns ? { patterns } : {}),
    ...(patternType ? { patternType } : {}),
  };
  const tokens = values['token-png'] !== undefined ? patchTokens(model.graph) : undefined;
  if (values['token-png'] !== undefined && !tokens) {
    throw new UsageError(`--token-png: ${modelFile} has no patch tokens (a class token joined to a sequence of image patches, as in ViT)`);
  }
  const pool = method === 'smoothgrad' || method === 'integrated-gradients' ? samplePool(workers) : undefined;
  let r: ExplainOutput;
  let backend = engine.name;
  let backendReason = engine.reason;
  // the patch tokens' relevance is kept by the tfjs engine (the compiled graph returns the input's only)
  if (engine.onnx && !tokens) {
    // compiled to ONNX where the compiler covers the method and model; else wasm, and the reason is kept
    const onnx = new OnnxExplainer(model.graph);
    try {
      checkInputFor(model.graph, input, inputFile);
      const o = await onnx.explain(input, opts, { pool });
      r = o;
      backend = o.backend === 'onnx' ? 'onnx' : engine.tfjs;
      if (o.backend !== 'onnx') backendReason = `${o.backendReason}; ran on ${engine.tfjs}`;
    } finally {
      pool?.dispose();
      await onnx.dispose();
    }
  } else {
    const explainer = new Explainer(model.graph);
    try {
      explainer.checkInput(input, inputFile);
      r = explainer.explain(input, opts, { pool, ...(tokens ? { keepLayers: [tokens.name] } : {}) });
    } finally {
      pool?.dispose();
      explainer.dispose();
    }
  }
  const writes: Promise<void>[] = [];
  if (values.json) writes.push(writeFileAtomic(values.json, JSON.stringify(toJson(r, modelFile, inputFile, backend, backendReason))));
  if (values.npy) writes.push(writeFileAtomic(values.npy, writeNpy(r.relevance.shape, r.relevance.data)));
  if (values.png) {
    const png = renderHeatmapPng(r.relevance, display, {
      colormap: (values.colormap ?? 'seismic') as ColormapName,
      scale: percentile === undefined ? 'max' : { percentile },
      opacity,
      upscale: upscaleBy,
    });
    writes.push(writeFileAtomic(values.png, png));
  }
  if (tokens && values['token-png']) {
    const kept = r.layerRelevance![tokens.name];
    const [h, w] = model.graph.nodes[model.graph.input].shape;
    const png = renderHeatmapPng(tokenMapToImage(tokenRelevance(kept), tokens.grid, [h, w]), display, {
      colormap: (values.colormap ?? 'seismic') as ColormapName,
      scale: percentile === undefined ? 'max' : { percentile },
      opacity,
      upscale: upscaleBy,
    });
    writes.push(writeFileAtomic(values['token-png'], png));
  }
  await Promise.all(writes);
  if (!values.quiet) process.stdout.write(summary(r, modelFile, inputFile, backend) + '\n');
  return 0;
}

/** Scalar fields of the method's extras, one line per group (arrays such as a root-point map are left to --json). */
function extraLines(extra: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  for (const [group, v] of Object.entries(extra ?? {})) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) continue;
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x === 'number') parts.push(`${k} ${Number.isInteger(x) ? x : num(x, 4)}`);
      else if (typeof x === 'string' || typeof x === 'boolean') parts.push(`${k} ${x}`);
    }
    if (parts.length > 0) out.push(`${group}: ${parts.join(', ')}`);
  }
  return out;
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
  for (const line of extraLines(r.extra)) lines.push(line);
  const rel = r.target.logit !== 0 ? r.inputRelevanceSum / r.target.logit : NaN;
  lines.push(`input relevance sum ${num(r.inputRelevanceSum)} = ${num(rel, 4)} × logit   (forward ${r.timings.forwardMs.toFixed(1)} ms, ${r.method} ${r.timings.methodMs.toFixed(1)} ms)`);
  return lines.join('\n');
}
