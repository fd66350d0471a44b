/**
 * Compares attribution methods on one input by region perturbation: each method's heatmap orders the
 * regions, the same perturbation runs in that order, and AOPC is read against a random order.
 */
import type { Explainer, InputArray } from '../methods/explain';
import type { ExplainOptions, MethodName, Prediction } from '../methods/types';
import { LensError } from '../errors';
import {
  aopc, defaultSteps, randomBaseline, RegionPerturber,
  type PerturbationKind, type PerturbationOptions, type RandomBaseline, type RegionOrder,
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

export function evaluateMethods(explainer: Explainer, input: InputArray, specs: MethodSpec[], opts: EvaluateOptions = {}): Evaluation {
  const names = new Set<string>();
  for (const s of specs) {
    if (names.has(s.name)) throw new LensError('bad-usage', `--methods lists '${s.name}' twice`);
    names.add(s.name);
  }
  explainer.checkInput(input);
  const { logits, prediction } = explainer.predict(input, opts.labels);
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
  const p = new RegionPerturber(explainer.prep, input, opts);
  try {
    const steps = opts.steps ?? defaultSteps(p.regions);
    if (!Number.isInteger(steps) || steps < 1 || steps > p.regions) {
      throw new LensError('bad-usage', `--steps must be an integer in 1..${p.regions} (the number of ${p.grid.r}×${p.grid.r} regions), got ${steps}`);
    }
    let random: Evaluation['random'];
    if (randomOrders > 0) {
      const t0 = now();
      const rb = randomBaseline(p, steps, target, randomOrders, seed);
      random = { ...rb, ms: now() - t0 };
    }
    const methods: MethodEvaluation[] = [];
    for (const spec of specs) {
      const t0 = now();
      const r = explainer.explain(input, { ...spec.opts, targetClass: target, labels: opts.labels }, { pool: opts.pool, checkpoint: opts.checkpoint });
      const t1 = now();
      const curve = p.curve(p.rank(r.relevance.data, order, seed), steps, target);
      const t2 = now();
      const a = aopc(curve);
      methods.push({
        name: spec.name, method: r.method, composite: r.composite, curve,
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
