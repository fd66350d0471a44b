/**
 * `relevance-lens evaluate MODEL INPUT --methods a,b,…`: region-perturbation curves ("pixel flipping",
 * Samek et al. 2017) and AOPC per method, against a random region order, plus each heatmap's sparseness.
 */
import { parseCommandArgs } from '../args';
import { selectBackend, wasmOutOfMemory } from '../../core/onnx/engineBackend';
import { cardBounds, openModel, readInput } from '../../core/pipeline';
import type { ExplainOptions, MethodName } from '../../core/methods/types';
import { methodNames } from '../../core/methods/method';
import { assertSupported } from '../../core/graph/summary';
import { loadPatterns } from '../../core/patterns/file';
import { premultiplyPatterns } from '../../core/methods/patternNet';
import { AUTO_COMPOSITE, COMPOSITE_NAMES, DEFAULT_COMPOSITE, defaultComposite } from '../../core/composites/presets';
import { inputBounds } from '../../core/card/modelCard';
import { checkOutputTargets, writeFilesAtomic, type OutputFile } from '../../core/io/atomicWrite';
import { encodePng } from '../../core/image/png';
import { onnxEvaluationEngine } from '../../core/onnx/evaluationEngine';
import { evaluateMethods, evaluateMethodsAsync, DEFAULT_RANDOM_ORDERS, type Evaluation, type MethodSpec } from '../../core/metrics/evaluate';
import {
  DEFAULT_PERTURBATION, PERTURBATION_KINDS, REGION_ORDERS, type PerturbationKind, type RegionOrder,
} from '../../core/metrics/pixelFlipping';
import { PLOT_COLORS, plotCurves, RANDOM_COLOR, type PlotSeries } from '../../core/metrics/plot';
import { num, table } from '../format';
import { usageLine } from '../usage';
import { UsageError } from '../errors';
import { integer, joinNegativeValues, parseRuleParams, parseRuleOverrides, RULE_OPTIONS, RULE_PARAMS_HELP, samplePool, workerCount } from './explain';
import { defaultWorkerCount } from '../../core/parallel/pool';
import { runOnEngine } from './runOnEngine';

export const OPTIONS = {
  methods: { type: 'string' },
  ...RULE_OPTIONS,
  order: { type: 'string' },
  perturbation: { type: 'string' },
  steps: { type: 'string' },
  region: { type: 'string' },
  random: { type: 'string' },
  seed: { type: 'string' },
  class: { type: 'string' },
  patterns: { type: 'string' },
  'pattern-type': { type: 'string' },
  workers: { type: 'string' },
  backend: { type: 'string' },
  card: { type: 'string' },
  json: { type: 'string' },
  png: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

const USAGE = usageLine('evaluate MODEL INPUT --methods M[,M...]', OPTIONS);

const HELP = `usage: relevance-lens evaluate MODEL INPUT --methods M[,M...] [options]
  Region perturbation (Samek et al. 2017): the input is cut into R×R regions, ranked by each method's
  summed relevance and replaced cumulatively in that order; f_c(x^k) is recorded for k = 0..N and
  AOPC = 1/(N+1) Σ_k (f_c(x^0) − f_c(x^k)). A random region order (same perturbation) is the chance level.

  --methods M[,M...]         methods to compare: ${methodNames().join(', ')};
                             lrp:COMPOSITE picks a composite per entry (e.g. lrp:epsilon-plus,lrp:epsilon-gamma-box)
  --composite NAME           composite of a bare 'lrp' entry (default: the model's, as 'info' shows)
  --rule LAYER=RULE[:p,...]  per-layer rule override, repeatable (as in explain)
${RULE_PARAMS_HELP}
  --low L --high H           input bounds (a number or one per channel; default from the model card):
                             z^B bounds and the range of the uniform noise
  --order morf|lerf          most relevant first (default) or least relevant first
  --perturbation P           zeros, mean (per-channel image mean, default), uniform (noise within the input
                             bounds, seeded), blur[:SIGMA] (Gaussian blur of the input, σ px, default 10 % of the shorter side)
  --steps N                  perturbation steps (default min(100, regions))
  --region R                 region side in pixels (default 1 up to 64×64 inputs, else 4)
  --random N                 random orders averaged for the baseline (default ${DEFAULT_RANDOM_ORDERS}; 0 = none)
  --seed N                   seed of the noise, the random orders and of tie-breaking (default 0)
  --class N|top              evaluated class (default top)
  --patterns FILE --pattern-type relu|linear  for pattern-net / pattern-attribution (as in explain)
  --workers N                threads for the perturbation batches and SmoothGrad / IG samples (default
                             ${defaultWorkerCount()}: min(2, CPU cores); 1 = this thread only); each extra worker holds
                             one more copy of the model; the results do not depend on N
  --backend auto|onnx|tensorflow|wasm|cpu   onnx (auto's pick where it loads): explanations compiled to ONNX
                             and the perturbation batches on onnxruntime; a method it does not compile runs on wasm
  --card FILE                model card instead of the one next to the model
  --json FILE                curves, AOPC, Gini and timings as JSON
  --png FILE                 plot of the curves with axis titles; legend: table row, method name (R = random, dashed grey)
  --quiet, -q                no table on stdout`;

/** One `--methods` entry: a method name, for lrp optionally `lrp:COMPOSITE`. */
export function parseMethodList(list: string | undefined, composite: string | undefined): { name: string; method: MethodName; composite?: string }[] {
  if (list === undefined || list.trim() === '') throw new UsageError('--methods is required: a comma-separated list, e.g. --methods lrp,gradient-x-input');
  const known = methodNames();
  const out: { name: string; method: MethodName; composite?: string }[] = [];
  for (const raw of list.split(',')) {
    const item = raw.trim();
    if (item === '') throw new UsageError(`--methods has an empty entry in '${list}'`);
    const colon = item.indexOf(':');
    const method = (colon < 0 ? item : item.slice(0, colon)) as MethodName;
    if (!known.includes(method)) throw new UsageError(`--methods: unknown method '${method}' (available: ${known.join(', ')})`);
    let comp: string | undefined;
    if (colon >= 0) {
      if (method !== 'lrp') throw new UsageError(`--methods: '${item}': only lrp takes a composite (lrp:NAME)`);
      comp = item.slice(colon + 1);
    } else if (method === 'lrp') comp = composite ?? DEFAULT_COMPOSITE;
    if (comp !== undefined && comp !== AUTO_COMPOSITE && !COMPOSITE_NAMES.includes(comp)) {
      throw new UsageError(`${colon >= 0 ? `--methods '${item}'` : '--composite'}: unknown composite '${comp}' (available: ${COMPOSITE_NAMES.join(', ')})`);
    }
    const name = colon >= 0 ? item : method;
    if (out.some((m) => m.name === name || (m.method === method && m.composite !== undefined && m.composite === comp))) {
      throw new UsageError(`--methods lists '${name}' twice`);
    }
    out.push({ name, method, ...(comp !== undefined ? { composite: comp } : {}) });
  }
  return out;
}

/** `--perturbation zeros|mean|uniform|blur[:SIGMA]`. */
export function parsePerturbation(v: string | undefined): { kind: PerturbationKind; blurSigma?: number } {
  if (v === undefined) return { kind: DEFAULT_PERTURBATION };
  const t = v.trim();
  if (t.startsWith('blur:')) {
    const s = t.slice('blur:'.length);
    const sigma = Number(s);
    if (s.trim() === '' || !Number.isFinite(sigma) || sigma < 0) throw new UsageError(`--perturbation blur:SIGMA expects a blur radius ≥ 0 in pixels, got '${v}'`);
    return { kind: 'blur', blurSigma: sigma };
  }
  if (!PERTURBATION_KINDS.includes(t as PerturbationKind)) {
    throw new UsageError(`--perturbation must be one of ${PERTURBATION_KINDS.join(', ')} (blur:SIGMA sets the blur), got '${v}'`);
  }
  return { kind: t as PerturbationKind };
}

const PATTERN_METHODS: readonly MethodName[] = ['pattern-net', 'pattern-attribution'];

export function evaluationJson(ev: Evaluation, model: string, input: string, backend: string, totalMs: number): unknown {
  const nullable = (v: number): number | null => (Number.isFinite(v) ? v : null);
  return {
    model, input, backend,
    target: ev.target,
    prediction: ev.prediction,
    settings: ev.settings,
    random: ev.random
      ? {
        aopc: ev.random.aopc, aopcStd: ev.random.aopcStd, normalizedAopc: nullable(ev.random.normalized),
        aopcs: ev.random.aopcs, seeds: ev.random.seeds, curve: Array.from(ev.random.curve),
      }
      : null,
    methods: ev.methods.map((m) => ({
      name: m.name, method: m.method, composite: m.composite,
      aopc: m.aopc, normalizedAopc: nullable(m.normalizedAopc), vsRandom: nullable(m.vsRandom), gini: m.gini,
      curve: Array.from(m.curve), timings: m.timings, ...(m.backend ? { backend: m.backend } : {}),
    })),
    timings: { randomMs: ev.random?.ms ?? 0, totalMs },
  };
}

export function plotSeries(ev: Evaluation): PlotSeries[] {
  const s: PlotSeries[] = ev.methods.map((m, i) => ({
    values: m.curve, rgb: PLOT_COLORS[i % PLOT_COLORS.length].rgb, key: String(i + 1), name: m.name,
  }));
  if (ev.random) s.push({ values: ev.random.curve, rgb: RANDOM_COLOR.rgb, key: 'R', name: `random order (mean of ${ev.settings.randomOrders})`, dashed: true });
  return s;
}

/** Axis titles of the curve plot: what a step perturbs and what is recorded. */
export function plotLabels(ev: Evaluation): { xLabel: string; yLabel: string } {
  const st = ev.settings;
  const order = st.order === 'morf' ? 'most relevant first' : 'least relevant first';
  const region = st.region > 1 ? `${st.region}x${st.region} regions` : 'pixels';
  return {
    xLabel: `step k: ${region} replaced (${st.perturbation}), ${order}`,
    yLabel: `logit f(x^k) of class ${ev.target.label ?? ev.target.class}`,
  };
}

export async function runEvaluate(argv: string[]): Promise<number> {
  const args = joinNegativeValues(argv, OPTIONS);
  const { positionals, values } = parseCommandArgs('evaluate', { args, allowPositionals: true, options: OPTIONS });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(USAGE);
  const [modelFile, inputFile] = positionals;
  const entries = parseMethodList(values.methods, values.composite);
  if (values.composite !== undefined && !entries.some((e) => e.name === 'lrp')) {
    throw new UsageError('--composite applies to a bare lrp entry of --methods (or write lrp:NAME)');
  }
  const usesPatterns = entries.some((e) => PATTERN_METHODS.includes(e.method));
  for (const flag of ['patterns', 'pattern-type'] as const) {
    if (values[flag] !== undefined && !usesPatterns) throw new UsageError(`--${flag} applies to pattern-net / pattern-attribution, which --methods does not list`);
  }
  if (usesPatterns && values.patterns === undefined) {
    throw new UsageError("pattern-net / pattern-attribution need --patterns FILE (make one with 'relevance-lens patterns fit MODEL DATA --out FILE')");
  }
  const patternType = values['pattern-type'];
  if (patternType !== undefined && patternType !== 'relu' && patternType !== 'linear') {
    throw new UsageError(`--pattern-type must be relu or linear, got '${patternType}'`);
  }
  const order = (values.order ?? 'morf') as RegionOrder;
  if (!REGION_ORDERS.includes(order)) throw new UsageError(`--order must be morf or lerf, got '${values.order}'`);
  const perturbation = parsePerturbation(values.perturbation);
  const steps = integer(values.steps, 'steps', 1, 10_000_000);
  const region = integer(values.region, 'region', 1, 100_000);
  const randomOrders = integer(values.random, 'random', 0, 1000) ?? DEFAULT_RANDOM_ORDERS;
  const seed = integer(values.seed, 'seed', 0, 2 ** 31 - 1) ?? 0;
  const workers = workerCount(values.workers);
  let targetClass: number | 'top' = 'top';
  if (values.class !== undefined && values.class !== 'top') {
    const c = Number(values.class);
    if (values.class.trim() === '' || !Number.isInteger(c) || c < 0) throw new UsageError(`--class expects a class index or 'top', got '${values.class}'`);
    targetClass = c;
  }
  const rules = parseRuleOverrides(values.rule);
  const ruleParams = parseRuleParams(values);
  checkOutputTargets([values.json, values.png].filter((o): o is string => o !== undefined));
  const engine = await selectBackend(values.backend ?? 'auto');
  let backend = engine.name;
  const model = await openModel(modelFile, values.card, { keepRaw: false });
  assertSupported(model.graph, modelFile);
  // a bare 'lrp' without --composite gets the model's default composite (as explain)
  if (values.composite === undefined) for (const e of entries) if (e.name === 'lrp') e.composite = defaultComposite(model.graph).name;
  const patterns = values.patterns !== undefined ? loadPatterns(values.patterns, 'relu') : undefined;
  // PatternAttribution without PatternNet: its kernels W∘A made in the patterns' own arrays
  if (patterns && entries.some((e) => e.method === 'pattern-attribution') && !entries.some((e) => e.method === 'pattern-net')) premultiplyPatterns(model.graph, patterns);
  const { input, display } = readInput(inputFile, model);
  // input bounds: flags, else the card's (or the default card's, for an image preprocessed by it)
  const cb = cardBounds(model) ?? (display ? inputBounds(model.card) : undefined);
  const low = ruleParams.low ?? cb?.low;
  const high = ruleParams.high ?? cb?.high;
  const specs: MethodSpec[] = entries.map((e) => {
    const opts: ExplainOptions = {
      method: e.method,
      ...(e.composite !== undefined ? { composite: e.composite } : {}),
      rules,
      params: { ...ruleParams, low, high },
      ...(PATTERN_METHODS.includes(e.method) && patterns ? { patterns } : {}),
      ...(PATTERN_METHODS.includes(e.method) && patternType ? { patternType: patternType as 'relu' | 'linear' } : {}),
    };
    return { name: e.name, opts };
  });
  const asList = (v: number | number[] | undefined): number[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
  const lowList = asList(low);
  const highList = asList(high);
  const t0 = performance.now();
  const pool = samplePool(workers);
  const evalOpts = {
    order, perturbation: perturbation.kind, blurSigma: perturbation.blurSigma, steps, region, randomOrders, seed,
    targetClass, labels: model.labels, pool,
    ...(lowList && highList ? { bounds: { low: lowList, high: highList } } : {}),
  };
  const ev: Evaluation = await runOnEngine(model.graph, engine.onnx, pool, {
    // compiled explanations and perturbation batches on onnxruntime; what is not compiled runs on wasm (per method in the JSON)
    onnx: (onnx) => {
      onnx.checkInput(input, inputFile);
      const on = onnxEvaluationEngine(onnx);
      if (on.curvesOn !== 'onnx') backend = `onnx (perturbation batches on ${on.curvesOn})`;
      return evaluateMethodsAsync(on, input, specs, evalOpts);
    },
    wasm: (explainer) => {
      explainer.checkInput(input, inputFile);
      return evaluateMethods(explainer, input, specs, evalOpts);
    },
    wasmError: (e) => wasmOutOfMemory(e, modelFile, 'evaluate'),
  });
  const totalMs = performance.now() - t0;
  const outputs: OutputFile[] = [];
  if (values.json) outputs.push({ target: values.json, data: JSON.stringify(evaluationJson(ev, modelFile, inputFile, backend, totalMs)) });
  if (values.png) {
    const img = plotCurves(plotSeries(ev), plotLabels(ev));
    outputs.push({ target: values.png, data: encodePng(img.rgba, img.width, img.height) });
  }
  await writeFilesAtomic(outputs);
  if (!values.quiet) process.stdout.write(summary(ev, modelFile, inputFile, backend, totalMs, values.png !== undefined) + '\n');
  return 0;
}

function signed(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return '—';
  return (v >= 0 ? '+' : '') + num(v, digits);
}

function maybe(v: number, digits = 4): string {
  return Number.isFinite(v) ? num(v, digits) : '—';
}

function summary(ev: Evaluation, model: string, input: string, backend: string, totalMs: number, plotted: boolean): string {
  const s = ev.settings;
  const label = ev.target.label !== undefined ? ` (${ev.target.label})` : '';
  const pert = s.perturbation === 'blur' ? `blur σ ${num(s.blurSigma ?? 0, 3)} px` : s.perturbation;
  const lines = [
    `${input} with ${model} on ${backend}`,
    `class ${ev.target.class}${label}, logit ${num(ev.target.logit)}; ${s.order === 'morf' ? 'MoRF' : 'LeRF'}, ${pert}, `
      + `${s.region}×${s.region} regions, ${s.steps} of ${s.regions} steps (${(100 * s.fraction).toFixed(1)} %)`,
    '',
  ];
  const rows = ev.methods.map((m) => [
    m.name, num(m.aopc, 4), maybe(m.normalizedAopc), signed(m.vsRandom), num(m.gini, 3), `${m.timings.totalMs.toFixed(0)} ms`,
  ]);
  if (ev.random) {
    const r = ev.random;
    rows.push([`random (${s.randomOrders} order${s.randomOrders === 1 ? '' : 's'})`, `${num(r.aopc, 4)} ± ${num(r.aopcStd, 2)}`,
      maybe(r.normalized), '', '', `${r.ms.toFixed(0)} ms`]);
  }
  lines.push(table(['method', 'AOPC', 'normalized', 'vs random', 'Gini', 'time'], rows, [false, true, true, true, true, true]));
  if (plotted) {
    const keys = ev.methods.map((m, i) => `${i + 1} ${PLOT_COLORS[i % PLOT_COLORS.length].name} ${m.name}`);
    if (ev.random) keys.push(`R ${RANDOM_COLOR.name} dashed random`);
    lines.push('', `plot: ${keys.join(', ')}`);
  }
  lines.push('', `AOPC = mean over k = 0..${s.steps} of f(x^0) − f(x^k) (logit units); normalized = AOPC / f(x^0); total ${totalMs.toFixed(0)} ms`);
  return lines.join('\n');
}
