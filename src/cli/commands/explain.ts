/** `relevance-lens explain MODEL INPUT [options]`: one explanation, per the CLI contract of DESIGN.md. */
import { parseCommandArgs, patternTypeOption } from '../args';
import { selectBackend, wasmOutOfMemory } from '../../core/onnx/engineBackend';
import { cardBounds, openModel, readInput, readInputNpy, renderHeatmapPng } from '../../core/pipeline';
import { checkInputFor, type ExplainOutput } from '../../core/methods/explain';
import type { BaselineSpec, ExplainOptions, MethodName } from '../../core/methods/types';
import { methodNames } from '../../core/methods/method';
import { assertSupported } from '../../core/graph/summary';
import { loadPatterns } from '../../core/patterns/file';
import { premultiplyPatterns } from '../../core/methods/patternNet';
import type { PatternSet } from '../../core/patterns/patternSet';
import { LensError } from '../../core/errors';
import { COMPOSITE_NAMES, biasFreeSuggestion, defaultComposite } from '../../core/composites/presets';
import type { Graph } from '../../core/graph/ir';
import { DEFAULT_RULE_PARAMS, parseRule, RULE_NAMES, type RuleSpec } from '../../shared/ruleSpec';
import { paramText } from '../../shared/ruleDefaults';
import { checkOutputTargets, writeFilesAtomic, type OutputFile } from '../../core/io/atomicWrite';
import { patchTokens, tokenMapToImage, tokenRelevance } from '../../core/image/tokenMap';
import { writeNpy } from '../../core/io/npy';
import { COLORMAP_NAMES, type ColormapName } from '../../core/image/colormap';
import { exportPicture } from '../../core/image/export';
import { encodePng } from '../../core/image/png';
import { DEFAULT_DISPLAY, isNoiseMethod, METHOD_NAMES, NOISE_METHODS, POLARITIES, ROUNDINGS_PER_TERM, roundingFloor, ROW_TOLERANCE, rowClosure, rowWithFloor } from '../../shared/protocol';
import { SETTING_DEFAULTS } from '../../shared/settings';
import { fmt, fmtProbability, methodFigures } from '../../shared/methodFigures';
import { inputBounds } from '../../core/card/modelCard';
import { num, table, wrapList } from '../format';
import { usageLine } from '../usage';
import { UsageError } from '../errors';
import { defaultWorkerCount, SampleWorkerPool } from '../../core/parallel/pool';
import { runOnEngine } from './runOnEngine';
import { collectGarbage, worthCollecting } from '../../core/onnx/oneRun';
import {
  checkBounds, checkInteger, checkOpacity, checkPercentile, checkRuleParams, checkSigma, PARAM_LIMITS, splitRuleOverride, toBound, toNumber,
  type Bound, type RuleParamInput,
} from '../../shared/validate';

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

/** The help line of the composite parameters, shared by `explain` and `evaluate`; defaults from ruleSpec.ts. */
export const RULE_PARAMS_HELP = `  --epsilon E --gamma G --alpha A --beta B    composite parameters (defaults ${
  (['epsilon', 'gamma', 'alpha', 'beta'] as const).map((k) => paramText(DEFAULT_RULE_PARAMS[k])).join(', ')})`;

/** Every flag of `explain`, in the order its usage line shows them. */
export const OPTIONS = {
  method: { type: 'string' },
  ...RULE_OPTIONS,
  class: { type: 'string' },
  backend: { type: 'string' },
  samples: { type: 'string' },
  sigma: { type: 'string' },
  seed: { type: 'string' },
  steps: { type: 'string' },
  baseline: { type: 'string' },
  root: { type: 'string' },
  patterns: { type: 'string' },
  'pattern-type': { type: 'string' },
  workers: { type: 'string' },
  json: { type: 'string' },
  npy: { type: 'string' },
  png: { type: 'string' },
  'token-png': { type: 'string' },
  card: { type: 'string' },
  colormap: { type: 'string' },
  percentile: { type: 'string' },
  polarity: { type: 'string' },
  opacity: { type: 'string' },
  size: { type: 'string' },
  'heatmap-only': { type: 'boolean' },
  upscale: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

const USAGE = usageLine('explain MODEL INPUT', OPTIONS);

const HELP = `usage: relevance-lens explain MODEL INPUT [options]
  INPUT: .png/.jpg/.jpeg/.bmp (preprocessed per the model card) or a float32 .npy, HWC or 1×H×W×C (used as given)

  --method M                 ${wrapList(METHOD_NAMES.map((m) => (m === SETTING_DEFAULTS.defaultMethod ? `${m} (default)` : m)), ' '.repeat(29))}
  --composite NAME           lrp preset (default: the model's, as 'info' shows and explains):
                             ${COMPOSITE_NAMES.filter((c) => !c.endsWith('-nobias')).join(', ')};
                             each also as NAME-nobias (biases left out of numerator and denominator)
                             transformers: ${COMPOSITE_NAMES.filter((c) => /^(attn|cp)-lrp/.test(c) && !c.endsWith('-nobias')).join(', ')} (attn-lrp is the default there)
  --rule LAYER=RULE[:p,...]  per-layer rule override, repeatable: ${RULE_NAMES.join(', ')} (README's rule table);
                             LayerNorm: norm-identity[:ε] | pass; attention softmax: softmax-taylor | held-constant;
                             product of activations: bilinear-uniform[:ε] | bilinear-value[:ε]
${RULE_PARAMS_HELP}
  --low L --high H           z^B bounds (a number or one per channel; default from the model card)
  --class N|top              explained class (default top)
  smoothgrad, smoothgrad-squared, vargrad:
                             --samples N (default 32)  --sigma S (noise, fraction of the input range; default 0.15)
                             --seed N (default 0); the mean, mean square or variance of the noisy gradients
  integrated-gradients:      --steps N (default 64)  --baseline zeros|constant:V|blur[:SIGMA px]|FILE.npy (default zeros)
  deep-taylor(-bounded):     --root nearest|origin|lrp (default lrp)
  pattern-net/-attribution:  --patterns FILE (from 'relevance-lens patterns fit', required)
                             --pattern-type relu|linear (default relu)
  smoothgrad(-squared), vargrad, integrated-gradients:
                             --workers N  threads for the samples (default ${defaultWorkerCount()}: min(2, CPU cores);
                             1 = this thread only). Each extra worker holds one more copy of the model;
                             the result does not depend on N
  --backend auto|onnx|tensorflow|wasm|cpu
  --json FILE --npy FILE --png FILE           outputs
  --token-png FILE                            vision transformers: per-patch-token relevance (Σ over features of the
                                              patch tokens the class token joins) as a heatmap over the patch grid
  --card FILE                model card instead of the one next to the model
  --colormap NAME            ${COLORMAP_NAMES.join(', ')} (default ${DEFAULT_DISPLAY.colormap})
  --percentile P             colour scale at the P-th percentile of |R| (default: max |R|)
  --polarity ${POLARITIES.join('|')}
                             which sign to draw: both, one (the other as zero) or |R| (default ${DEFAULT_DISPLAY.polarity})
  --opacity O                heatmap over the photo, 0..1 (default ${DEFAULT_DISPLAY.opacity})
  --png FILE                 the heatmap over the photo at the photo's own resolution
  --size WxH|N               PNG size instead (N: the longer side, aspect kept)
  --heatmap-only             PNG of the heatmap alone, no photo under it
  --upscale K                PNG at the model's input size × K (nearest neighbour; not with --size)
  --quiet, -q                no summary on stdout`;

export function number(v: string | undefined, flag: string): number | undefined {
  return v === undefined ? undefined : toNumber(v, `--${flag}`);
}

export function integer(v: string | undefined, flag: string, min: number, max: number): number | undefined {
  return v === undefined ? undefined : checkInteger(v, `--${flag}`, min, max);
}

/** --epsilon/--gamma/--alpha/--beta/--low/--high, each checked for its range (shared/validate.ts) as it is parsed. */
export function parseRuleParams(values: Partial<Record<'epsilon' | 'gamma' | 'alpha' | 'beta' | 'low' | 'high', string>>): RuleParamInput {
  const p: RuleParamInput = {
    epsilon: number(values.epsilon, 'epsilon'), gamma: number(values.gamma, 'gamma'),
    alpha: number(values.alpha, 'alpha'), beta: number(values.beta, 'beta'),
    low: bound(values.low, 'low'), high: bound(values.high, 'high'),
  };
  checkRuleParams(p, (n) => `--${n}`);
  return p;
}

/** Which methods each method flag applies to: a flag the method would ignore is a usage error. */
export const METHOD_FLAGS: Record<string, readonly MethodName[]> = {
  samples: NOISE_METHODS,
  sigma: NOISE_METHODS,
  seed: NOISE_METHODS,
  steps: ['integrated-gradients'],
  baseline: ['integrated-gradients'],
  root: ['deep-taylor', 'deep-taylor-bounded'],
  patterns: ['pattern-net', 'pattern-attribution'],
  'pattern-type': ['pattern-net', 'pattern-attribution'],
  workers: [...NOISE_METHODS, 'integrated-gradients'],
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
  const a = readInputNpy(file, want, 'baseline');
  for (let i = 0; i < a.data.length; i++) {
    if (!Number.isFinite(a.data[i])) throw new LensError('non-finite', `baseline contains NaN or Inf at index ${i}`, file);
  }
  return { kind: 'array', shape: a.shape, data: a.data };
}

/** `--workers N`: threads in all for sample-parallel work (1..64; default min(2, CPU cores)). */
export function workerCount(v: string | undefined): number {
  return integer(v, 'workers', 1, MAX_WORKERS) ?? defaultWorkerCount();
}

/** A pool for `workers` threads, or none for 1 (everything on this thread, as without the flag's pool). */
export function samplePool(workers: number): SampleWorkerPool | undefined {
  return workers > 1 ? new SampleWorkerPool(workers) : undefined;
}

export function bound(v: string | undefined, flag: string): Bound | undefined {
  return v === undefined ? undefined : toBound(v, `--${flag}`);
}

/** `--size WxH` or `--size N` (the longer side; the other follows the aspect ratio of `w`×`h`). */
export function parseSize(v: string | undefined, w: number, h: number): { width: number; height: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d+)\s*(?:[x×]\s*(\d+))?\s*$/.exec(v);
  const a = m ? Number(m[1]) : NaN;
  const b = m?.[2] !== undefined ? Number(m[2]) : undefined;
  const ok = (n: number) => Number.isInteger(n) && n >= 1 && n <= 16384;
  if (!ok(a) || (b !== undefined && !ok(b))) throw new UsageError(`--size expects WxH or N (pixels, 1..16384), got '${v}'`);
  if (b !== undefined) return { width: a, height: b };
  return w >= h ? { width: a, height: Math.max(1, Math.round((a * h) / w)) } : { width: Math.max(1, Math.round((a * w) / h)), height: a };
}

function upscale(v: string | undefined): number {
  return integer(v, 'upscale', 1, PARAM_LIMITS.upscale) ?? 1;
}

export function parseRuleOverrides(list: string[] | undefined): Record<string, RuleSpec> {
  const out: Record<string, RuleSpec> = {};
  for (const item of list ?? []) {
    // layer names may hold '=': split at the last one (rule text has none), or quote the name
    const split = splitRuleOverride(item);
    if (!split) throw new UsageError(`--rule expects LAYER=RULE[:params], got '${item}'`);
    try {
      out[split.layer] = parseRule(split.rule);
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
    layers: r.layers.map(rowWithFloor), inputRelevanceSum: r.inputRelevanceSum, timings: r.timings,
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
  const { positionals, values } = parseCommandArgs('explain', { args, allowPositionals: true, options: OPTIONS });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(USAGE);
  const [modelFile, inputFile] = positionals;
  const method = (values.method ?? SETTING_DEFAULTS.defaultMethod) as MethodName;
  if (!methodNames().includes(method)) throw new UsageError(`--method must be one of ${methodNames().join(', ')}; got '${values.method}'`);
  if (values.colormap && !COLORMAP_NAMES.includes(values.colormap as ColormapName)) {
    throw new UsageError(`--colormap must be one of ${COLORMAP_NAMES.join(', ')}`);
  }
  const polarity = POLARITIES.find((p) => p === (values.polarity ?? DEFAULT_DISPLAY.polarity));
  if (!polarity) throw new UsageError(`--polarity must be one of ${POLARITIES.join(', ')}; got '${values.polarity}'`);
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
  const samples = integer(values.samples, 'samples', 1, PARAM_LIMITS.samples);
  const sigma = values.sigma === undefined ? undefined : checkSigma(values.sigma, '--sigma');
  const seed = integer(values.seed, 'seed', 0, PARAM_LIMITS.seed);
  const steps = integer(values.steps, 'steps', 1, PARAM_LIMITS.steps);
  const workers = workerCount(values.workers);
  const baseline = values.baseline !== undefined ? parseBaseline(values.baseline) : undefined;
  const root = values.root;
  if (root !== undefined && root !== 'nearest' && root !== 'origin' && root !== 'lrp') {
    throw new UsageError(`--root must be nearest, origin or lrp, got '${root}'${root === 'bounded' ? ' (the box root is --method deep-taylor-bounded)' : ''}`);
  }
  const patternType = patternTypeOption(values['pattern-type']);
  if ((method === 'pattern-net' || method === 'pattern-attribution') && values.patterns === undefined) {
    throw new UsageError(`--method ${method} needs --patterns FILE (make one with 'relevance-lens patterns fit MODEL DATA --out FILE')`);
  }
  const rules = parseRuleOverrides(values.rule);
  const ruleParams = parseRuleParams(values);
  const percentile = values.percentile === undefined ? undefined : checkPercentile(values.percentile, '--percentile');
  const opacity = values.opacity === undefined ? DEFAULT_DISPLAY.opacity : checkOpacity(values.opacity, '--opacity');
  const upscaleBy = upscale(values.upscale);
  if (values.upscale !== undefined && values.size !== undefined) throw new UsageError('--upscale and --size both set the PNG size: give one');
  for (const f of ['size', 'heatmap-only', 'upscale', 'opacity'] as const) {
    if (values[f] !== undefined && !values.png && !values['token-png']) throw new UsageError(`--${f} shapes the --png output: give --png FILE too`);
  }
  // every output folder is checked before anything is loaded or computed
  checkOutputTargets([values.json, values.npy, values.png, values['token-png']].filter((o): o is string => o !== undefined));
  const engine = await selectBackend(values.backend ?? 'auto');
  const model = await openModel(modelFile, values.card, { keepRaw: false });
  // an op no method can run is named, with its node, before any computation
  assertSupported(model.graph, modelFile);
  const patterns: PatternSet | undefined = values.patterns !== undefined ? loadPatterns(values.patterns, patternType ?? 'relu') : undefined;
  // one PatternAttribution: its kernels W∘A made in the patterns' own arrays (VGG16 on onnx: peak RSS 2.13 → 1.6 GB)
  if (patterns && method === 'pattern-attribution') premultiplyPatterns(model.graph, patterns);
  const { input, display, original } = readInput(inputFile, model);
  const want = model.graph.nodes[model.graph.input].shape;
  const baselineSpec: BaselineSpec | undefined = baseline?.kind === 'file' ? readBaselineNpy(baseline.file, want) : baseline;
  // z^B bounds: flags, else the card's (or the default card's, for an image preprocessed by it).
  const cb = cardBounds(model) ?? (display ? inputBounds(model.card) : undefined);
  if (ruleParams.low !== undefined || ruleParams.high !== undefined) {
    checkBounds(ruleParams.low ?? cb?.low, ruleParams.high ?? cb?.high, { low: '--low', high: '--high' }, want[2]);
  }
  const byDefault = method === 'lrp' && values.composite === undefined ? defaultComposite(model.graph) : undefined;
  const opts: ExplainOptions = {
    method,
    composite: values.composite ?? byDefault?.name,
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
  const pool = isNoiseMethod(method) || method === 'integrated-gradients' ? samplePool(workers) : undefined;
  // the file's bytes and the loader's transient copies go before the explanation allocates (VGG16 on
  // onnx: peak RSS 2.67 -> 1.70 GB, the loading peak; they stayed resident through session creation)
  if (worthCollecting(model.graph)) collectGarbage();
  // the patch tokens' relevance is kept by the tfjs engine (the compiled graph returns the input's only)
  const { r, backend, backendReason } = await runOnEngine<{ r: ExplainOutput; backend: string; backendReason?: string }>(model.graph, engine.onnx && !tokens, pool, {
    // compiled to ONNX where the compiler covers the method and model; else wasm, and the reason is kept
    onnx: async (onnx) => {
      checkInputFor(model.graph, input, inputFile);
      const o = await onnx.explain(input, opts, { pool });
      return o.backend === 'onnx'
        ? { r: o, backend: 'onnx', backendReason: engine.reason }
        : { r: o, backend: engine.tfjs, backendReason: `${o.backendReason}; ran on ${engine.tfjs}` };
    },
    wasm: (explainer) => {
      explainer.checkInput(input, inputFile);
      return { r: explainer.explain(input, opts, { pool, ...(tokens ? { keepLayers: [tokens.name] } : {}) }), backend: engine.name, backendReason: engine.reason };
    },
    wasmError: (e) => wasmOutOfMemory(e, modelFile, `${method}${opts.composite ? ` ${opts.composite}` : ''}`),
  }, { oneRun: true, releaseWeights: true, exitsAfter: true });
  // all outputs, or none: written to temp names, renamed only when every one succeeded
  const outputs: OutputFile[] = [];
  if (values.json) outputs.push({ target: values.json, data: JSON.stringify(toJson(r, modelFile, inputFile, backend, backendReason)) });
  if (values.npy) outputs.push({ target: values.npy, data: writeNpy(r.relevance.shape, r.relevance.data) });
  if (values.png) {
    const look = { colormap: (values.colormap ?? DEFAULT_DISPLAY.colormap) as ColormapName, scale: percentile === undefined ? 'max' as const : { percentile }, polarity };
    let png: Buffer;
    if (values.upscale !== undefined) {
      png = renderHeatmapPng(r.relevance, values['heatmap-only'] ? undefined : display, { ...look, opacity, upscale: upscaleBy });
    } else {
      const source = original ? { image: original, resize: model.card.input.resize } : undefined;
      const size = parseSize(values.size, original?.width ?? r.relevance.shape[1], original?.height ?? r.relevance.shape[0]);
      const pic = exportPicture(r.relevance, source, { ...look, opacity, heatmapOnly: !!values['heatmap-only'], ...(size ? { size } : {}) });
      png = encodePng(pic.rgba, pic.width, pic.height);
    }
    outputs.push({ target: values.png, data: png });
  }
  if (tokens && values['token-png']) {
    const kept = r.layerRelevance![tokens.name];
    const [h, w] = model.graph.nodes[model.graph.input].shape;
    const png = renderHeatmapPng(tokenMapToImage(tokenRelevance(kept), tokens.grid, [h, w]), display, {
      colormap: (values.colormap ?? DEFAULT_DISPLAY.colormap) as ColormapName,
      scale: percentile === undefined ? 'max' : { percentile },
      polarity,
      opacity,
      upscale: upscaleBy,
    });
    outputs.push({ target: values['token-png'], data: png });
  }
  await writeFilesAtomic(outputs);
  if (!values.quiet) process.stdout.write(summary(r, model.graph, modelFile, inputFile, backend, byDefault?.reason) + '\n');
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

/** The mark of a conservation row whose imbalance lies within its float32 floor. */
const ROUNDING_MARK = '≈f32';

/** Below this share of the logit at the input the heatmap shows little but noise: say so and name the bias-free variant. */
export const LOW_KEPT = 0.1;

/** One line when an LRP explanation keeps < 10 % of the logit at the input (undefined otherwise). */
export function lowKeptHint(r: Pick<ExplainOutput, 'composite' | 'inputRelevanceSum' | 'target'>, g: Graph): string | undefined {
  if (!r.composite || r.target.logit === 0) return undefined;
  const kept = r.inputRelevanceSum / r.target.logit;
  if (Math.abs(kept) >= LOW_KEPT || r.composite.endsWith('-nobias')) return undefined;
  return `only ${(100 * kept).toPrecision(2)} % of the logit reaches the input (biases absorb the rest, see 'bias share'); try --composite ${biasFreeSuggestion(g, r.composite)}`;
}

function summary(r: ExplainOutput, g: Graph, model: string, input: string, backend: string, defaultReason?: string): string {
  const lines: string[] = [];
  const label = (l?: string): string => (l !== undefined ? ` (${l})` : '');
  lines.push(`${input} with ${model}: ${r.method}${r.composite ? ' ' + r.composite : ''} on ${backend}`);
  if (defaultReason) lines.push(`composite ${r.composite}: the model's default (${defaultReason})`);
  // one score format: probabilities as percentages when the model ends in softmax, else logits
  const score = (v: number): string => (g.outputSoftmax ? fmtProbability(v) : `logit ${fmt(v)}`);
  lines.push(`prediction: ${r.prediction.map((p) => `${p.class}${label(p.label)} ${score(p.score)}`).join(', ')}`);
  lines.push(`explained class ${r.target.class}${label(r.target.label)}, logit ${fmt(r.target.logit)}`);
  lines.push('');
  const mf = methodFigures({ method: r.method, inputRelevanceSum: r.inputRelevanceSum, logit: r.target.logit, extra: r.extra, layers: r.layers });
  if (mf.conservation) {
    const leak = (v: number | undefined): string => (v === undefined ? '' : num(v, 3));
    const rounding = r.layers.map((l) => rowClosure(l, ROW_TOLERANCE) === 'rounding');
    lines.push(table(['layer', 'op', 'rule', 'R at output', 'R to input', 'ratio', 'bias share', 'ε share', ''],
      r.layers.map((l, i) => [l.name, l.op, l.rule, num(l.outputRelevanceSum), num(l.inputRelevanceSum), num(l.ratio, 6),
        leak(l.biasLeak), leak(l.stabilizerLeak), rounding[i] ? `${ROUNDING_MARK} ${num(roundingFloor(l)!, 2)}` : '']),
      [false, false, false, true, true, true, true, true, false]));
    if (rounding.includes(true)) {
      lines.push(`${ROUNDING_MARK} FLOOR: out − in − shares misses ${ROW_TOLERANCE} of the row but lies within its float32 floor FLOOR = ${ROUNDINGS_PER_TERM} · 2⁻²⁴ · (Σ|R_in| + Σ|R_out| + |shares|):`,
        '         its terms cancel, float32 cannot close it better: nothing float32 could show is missing (README "Float32 floor of a row")');
    }
    lines.push('');
    for (const line of extraLines(r.extra)) lines.push(line);
  } else if (r.extra?.patterns) {
    for (const line of extraLines({ patterns: r.extra.patterns })) lines.push(line);
  }
  for (const f of mf.figures) lines.push(`${f.label}: ${f.value}`);
  lines.push(mf.note);
  lines.push(`(forward ${r.timings.forwardMs.toFixed(1)} ms, ${r.method} ${r.timings.methodMs.toFixed(1)} ms)`);
  const hint = lowKeptHint(r, g);
  if (hint) lines.push(hint);
  return lines.join('\n');
}
