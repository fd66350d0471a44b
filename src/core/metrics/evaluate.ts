/**
 * Compares attribution methods on one input by region perturbation: each method's heatmap orders the
 * regions, the same perturbation runs in that order, and AOPC is read against a random order.
 */
import type { Explainer, ExplainExtras, ExplainOutput, InputArray } from '../methods/explain';
import type { ExplainOptions, MethodName, Prediction } from '../methods/types';
import type { Graph } from '../graph/ir';
import type { PreparedGraph } from '../engine/prepared';
import { LensError } from '../errors';
import {
  aopc, CURVES_PER_JOB, defaultSteps, randomBaseline, randomRegionOrders, RegionPerturber,
  type CurveJobSpec, type PerturbationKind, type PerturbationOptions, type RandomBaseline, type RegionOrder,
} from './pixelFlipping';
import { heatmapGini } from './sparseness';

export interface MethodSpec {
  /** unique name in the results, e.g. 'lrp:epsilon-plus' */
  name: string;
  /** the explanation's options; targetClass is set by the evaluation */
  opts: ExplainOptions;
}

export interface EvaluateOptions extends PerturbationOptions {
  order?: RegionOrder;
  /** perturbation steps L (default min(100, regions)) */
  steps?: number;
  /** random region orders averaged for the baseline (default 3; 0 = none) */
  randomOrders?: number;
  targetClass?: number | 'top';
  labels?: string[];
}

export const DEFAULT_RANDOM_ORDERS = 3;

export interface MethodEvaluation {
  name: string;
  method: MethodName;
  composite: string | null;
  /** f_c(x^k), k = 0..steps */
  curve: Float32Array;
  aopc: number;
  normalizedAopc: number;
  /** aopc − the random baseline's aopc (NaN without a baseline) */
  vsRandom: number;
  /** Gini index of the per-pixel |heatmap| */
  gini: number;
  /** where the explanation ran (onnx backend: onnx, or wasm for a method it does not compile) */
  backend?: string;
  /** the input relevance (HWC), for callers that also want to show it */
  relevance: { shape: number[]; data: Float32Array };
  timings: { explainMs: number; curveMs: number; totalMs: number };
}

export interface Evaluation {
  target: { class: number; logit: number; label?: string };
  prediction: Prediction[];
  settings: {
    order: RegionOrder;
    perturbation: PerturbationKind;
    region: number;
    regions: number;
    steps: number;
    /** steps / regions: the share of the regions perturbed after the last step */
    fraction: number;
    randomOrders: number;
    seed: number;
    batch: number;
    bounds?: { low: number[]; high: number[] };
    blurSigma?: number;
  };
  random?: RandomBaseline & { ms: number };
  methods: MethodEvaluation[];
}

function now(): number {
  return performance.now();
}

/**
 * What an evaluation runs on: the tfjs Explainer (synchronous) or the onnx backend (asynchronous). Each
 * call's result may be a promise; evaluation() yields it and its driver hands back the value.
 */
export interface EvaluationEngine {
  graph: Graph;
  /** the tfjs engine for the perturbation batches; absent: `curves` runs them */
  prep?: PreparedGraph;
  checkInput(input: InputArray): void;
  predict(input: InputArray, labels?: string[]): MaybePromise<{ logits: Float32Array; prediction: Prediction[] }>;
  explain(input: InputArray, opts: ExplainOptions, extras: ExplainExtras): MaybePromise<ExplainOutput & { backend?: string }>;
  curves?(spec: CurveJobSpec): Promise<Float32Array[]>;
}

type MaybePromise<T> = T | Promise<T>;

/** Region perturbation of every method on the tfjs engine. */
export function evaluateMethods(explainer: Explainer, input: InputArray, specs: MethodSpec[], opts: EvaluateOptions = {}): Evaluation {
  const gen = evaluation({ graph: explainer.prep.graph, prep: explainer.prep, checkInput: (i) => explainer.checkInput(i), predict: (i, l) => explainer.predict(i, l), explain: (i, o, x) => explainer.explain(i, o, x) }, input, specs, opts);
  let r = gen.next();
  while (!r.done) {
    if (r.value instanceof Promise) throw new Error('evaluateMethods: an asynchronous engine needs evaluateMethodsAsync');
    r = gen.next(r.value);
  }
  return r.value;
}

/** Region perturbation of every method on an engine whose calls may be asynchronous (the onnx backend). */
export async function evaluateMethodsAsync(engine: EvaluationEngine, input: InputArray, specs: MethodSpec[], opts: EvaluateOptions = {}): Promise<Evaluation> {
  const gen = evaluation(engine, input, specs, opts);
  let r = gen.next();
  while (!r.done) {
    let v: unknown;
    try {
      v = await r.value;
    } catch (e) {
      r = gen.throw(e);
      continue;
    }
    r = gen.next(v);
  }
  return r.value;
}

/** The curves of several region orders, on the engine's perturbation batches. */
function curvesOn(engine: EvaluationEngine, p: RegionPerturber, orders: Int32Array[], steps: number, target: number): MaybePromise<Float32Array[]> {
  if (engine.prep) return p.curves(orders, steps, target);
  return engine.curves!(p.curveJob(orders, steps, target));
}

/** The evaluation as a generator: each yielded value is an engine call's result (or its promise), sent back resolved. */
function* evaluation(engine: EvaluationEngine, input: InputArray, specs: MethodSpec[], opts: EvaluateOptions): Generator<unknown, Evaluation, unknown> {
  const names = new Set<string>();
  for (const s of specs) {
    if (names.has(s.name)) throw new LensError('bad-usage', `--methods lists '${s.name}' twice`);
    names.add(s.name);
  }
  engine.checkInput(input);
  const { logits, prediction } = (yield engine.predict(input, opts.labels)) as { logits: Float32Array; prediction: Prediction[] };
  let target: number;
  if (opts.targetClass === undefined || opts.targetClass === 'top') target = prediction[0].class;
  else {
    target = opts.targetClass;
    if (!Number.isInteger(target) || target < 0 || target >= logits.length) throw new LensError('bad-usage', `--class ${target} is out of range 0..${logits.length - 1}`);
  }
  const order = opts.order ?? 'morf';
  if (order !== 'morf' && order !== 'lerf') throw new LensError('bad-usage', `--order must be morf or lerf, got '${order}'`);
  const randomOrders = opts.randomOrders ?? DEFAULT_RANDOM_ORDERS;
  if (!Number.isInteger(randomOrders) || randomOrders < 0) throw new LensError('bad-usage', `--random must be an integer ≥ 0, got ${randomOrders}`);
  const seed = opts.seed ?? 0;
  const p = new RegionPerturber(engine.prep ?? { graph: engine.graph }, input, opts);
  try {
    const steps = opts.steps ?? defaultSteps(p.regions);
    if (!Number.isInteger(steps) || steps < 1 || steps > p.regions) {
      throw new LensError('bad-usage', `--steps must be an integer in 1..${p.regions} (the number of ${p.grid.r}×${p.grid.r} regions), got ${steps}`);
    }
    let random: Evaluation['random'];
    if (randomOrders > 0) {
      const t0 = now();
      const { seeds, orders } = randomRegionOrders(p, randomOrders, seed);
      const curves: Float32Array[] = [];
      // several orders' curves per job: more batches to share between the threads
      for (let i = 0; i < orders.length; i += CURVES_PER_JOB) curves.push(...(yield curvesOn(engine, p, orders.slice(i, i + CURVES_PER_JOB), steps, target)) as Float32Array[]);
      const rb = randomBaseline(curves, seeds, steps);
      random = { ...rb, ms: now() - t0 };
    }
    const methods: MethodEvaluation[] = [];
    for (const spec of specs) {
      const t0 = now();
      const r = (yield engine.explain(input, { ...spec.opts, targetClass: target, labels: opts.labels }, { pool: opts.pool, checkpoint: opts.checkpoint })) as ExplainOutput & { backend?: string };
      const t1 = now();
      const curve = ((yield curvesOn(engine, p, [p.rank(r.relevance.data, order, seed)], steps, target)) as Float32Array[])[0];
      const t2 = now();
      const a = aopc(curve);
      methods.push({
        name: spec.name, method: r.method, composite: r.composite, curve, ...(r.backend ? { backend: r.backend } : {}),
        aopc: a.aopc, normalizedAopc: a.normalized, vsRandom: random ? a.aopc - random.aopc : NaN,
        gini: heatmapGini(r.relevance.data, p.c), relevance: r.relevance,
        timings: { explainMs: t1 - t0, curveMs: t2 - t1, totalMs: t2 - t0 },
      });
    }
    const label = opts.labels?.[target];
    return {
      target: { class: target, logit: logits[target], ...(label !== undefined ? { label } : {}) },
      prediction,
      settings: {
        order, perturbation: p.perturbation, region: p.grid.r, regions: p.regions, steps, fraction: steps / p.regions,
        randomOrders, seed, batch: p.batch,
        ...(p.bounds ? { bounds: p.bounds } : {}),
        ...(p.blurSigma !== undefined ? { blurSigma: p.blurSigma } : {}),
      },
      ...(random ? { random } : {}),
      methods,
    };
  } finally {
    p.dispose();
  }
}
