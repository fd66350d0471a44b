/**
 * The engine's entry point: an Explainer holds a graph's tensors on the active backend and the
 * forward pass of the last input, so a rule change re-runs only the backward pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Graph } from '../graph/ir';
import { sizeOf } from '../graph/ir';
import { nonNegativeOutputs } from '../graph/nonNegative';
import { PreparedGraph } from '../engine/prepared';
import { forward } from '../engine/forward';
import { LensError } from '../errors';
import type { SampleWorkerPool } from '../parallel/pool';
import { DEFAULT_RULE_PARAMS, type RuleParams } from '../../shared/ruleSpec';
import { getMethod, methodNames, type MethodContext } from './method';
import type { ExplainOptions, ExplainResult, LayerConservation, Prediction } from './types';
import type { NodeSums } from '../engine/backward';
import './lrp';
import './gradient';
import './smoothGrad';
import './integratedGradients';
import './deepTaylor';
import './patternNet';

export interface InputArray {
  shape: number[];
  data: Float32Array;
}

export interface ExplainExtras {
  /** layer names whose incoming relevance to return (per-layer maps) */
  keepLayers?: string[];
  checkpoint?: () => void;
  /** worker threads for SmoothGrad / Integrated Gradients samples (results do not depend on it) */
  pool?: SampleWorkerPool;
}

export interface ExplainOutput extends ExplainResult {
  /** relevance arriving at the requested layers' outputs, without batch */
  layerRelevance?: Record<string, { shape: number[]; data: Float32Array }>;
  extra?: Record<string, unknown>;
}

function now(): number {
  return performance.now();
}

export function topK(scores: Float32Array, k: number, labels?: string[]): Prediction[] {
  const idx = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]).slice(0, k);
  return idx.map((c) => ({ class: c, score: scores[c], ...(labels?.[c] !== undefined ? { label: labels[c] } : {}) }));
}

/** Per-channel min/max of the input: the z^B bounds when neither flags nor a model card give them. */
export function inputRange(data: Float32Array, channels: number): { low: number[]; high: number[] } {
  const low = new Array(channels).fill(Infinity);
  const high = new Array(channels).fill(-Infinity);
  for (let i = 0; i < data.length; i++) {
    const c = i % channels;
    if (data[i] < low[c]) low[c] = data[i];
    if (data[i] > high[c]) high[c] = data[i];
  }
  return { low, high };
}

/** Validates an input against the graph's input shape ([H,W,C] or [1,H,W,C]). */
export function checkInputFor(graph: Graph, input: InputArray, file?: string): void {
  const want = graph.nodes[graph.input].shape;
  const shape = input.shape.length === want.length + 1 && input.shape[0] === 1 ? input.shape.slice(1) : input.shape;
  if (shape.length !== want.length || shape.some((d, i) => d !== want[i])) {
    throw new LensError('bad-input', `input has shape [${input.shape.join(', ')}], the model expects [${want.join(', ')}] (HWC)`, file);
  }
  if (input.data.length !== sizeOf(want)) throw new LensError('bad-input', `input has ${input.data.length} values, expected ${sizeOf(want)}`, file);
  for (let i = 0; i < input.data.length; i++) {
    if (!Number.isFinite(input.data[i])) throw new LensError('non-finite', `input contains NaN or Inf at index ${i}`, file);
  }
}

export class Explainer {
  readonly prep: PreparedGraph;
  private cached?: { data: Float32Array; x: tf.Tensor4D; acts: tf.Tensor[]; ms: number };
  private readonly nonNegative: boolean[];

  private readonly ownsPrep: boolean;

  /** `prep`: a prepared copy of `graph` to borrow (a pool worker's); it is not disposed with the Explainer. */
  constructor(readonly graph: Graph, prep?: PreparedGraph) {
    this.prep = prep ?? new PreparedGraph(graph);
    this.ownsPrep = !prep;
    this.nonNegative = nonNegativeOutputs(graph);
  }

  /** Validates an input against the graph's input shape ([H,W,C] or [1,H,W,C]). */
  checkInput(input: InputArray, file?: string): void {
    checkInputFor(this.graph, input, file);
  }

  private forwardCached(input: InputArray): { x: tf.Tensor4D; acts: tf.Tensor[]; ms: number; reused: boolean } {
    const c = this.cached;
    if (c && c.data.length === input.data.length && c.data.every((v, i) => v === input.data[i])) {
      return { x: c.x, acts: c.acts, ms: c.ms, reused: true };
    }
    this.dropCache();
    const t0 = now();
    const want = this.graph.nodes[this.graph.input].shape;
    const x = tf.tensor4d(input.data, [1, want[0], want[1], want[2]]);
    const acts = forward(this.prep, x);
    acts[this.graph.output].dataSync();
    const ms = now() - t0;
    this.cached = { data: new Float32Array(input.data), x, acts, ms };
    return { x, acts, ms, reused: false };
  }

  private dropCache(): void {
    if (!this.cached) return;
    this.cached.x.dispose();
    this.cached.acts.forEach((t) => t.dispose());
    this.cached = undefined;
  }

  /** The model's output for an input: logits (or scores when softmax was stripped) and top 5. */
  predict(input: InputArray, labels?: string[]): { logits: Float32Array; prediction: Prediction[] } {
    this.checkInput(input);
    const { acts } = this.forwardCached(input);
    const logits = acts[this.graph.output].dataSync() as Float32Array;
    const scores = this.graph.outputSoftmax ? tf.tidy(() => tf.softmax(acts[this.graph.output]).dataSync() as Float32Array) : logits;
    return { logits: new Float32Array(logits), prediction: topK(scores, 5, labels) };
  }

  explain(input: InputArray, opts: ExplainOptions, extras: ExplainExtras = {}): ExplainOutput {
    const t0 = now();
    this.checkInput(input);
    const method = getMethod(opts.method);
    if (!method) throw new LensError('bad-usage', `unknown method '${opts.method}' (available: ${methodNames().join(', ')})`);
    const g = this.graph;
    const fwd = this.forwardCached(input);
    const { logits, prediction } = this.predict(input, opts.labels);
    const target = explainedClass(opts, prediction, logits.length);
    const params = ruleParamsFor(g, input, opts);
    const keepIds = keepIdsFor(g, extras.keepLayers);
    const ctx: MethodContext = {
      prep: this.prep, acts: fwd.acts, x: fwd.x, target, logit: logits[target], opts, params,
      nonNegative: this.nonNegative, checkpoint: extras.checkpoint ?? (() => undefined), keep: keepIds, pool: extras.pool,
    };
    const t1 = now();
    const run = method(ctx);
    const relevance = run.relevance.dataSync() as Float32Array;
    run.relevance.dispose();
    const t2 = now();
    let kept: Map<number, { shape: number[]; data: Float32Array }> | undefined;
    if (run.kept) {
      kept = new Map();
      for (const [id, t] of run.kept) {
        kept.set(id, { shape: t.shape.slice(1), data: t.dataSync() as Float32Array });
        t.dispose();
      }
    }
    return assembleOutput(g, opts, {
      target, logits, prediction, relevance, sums: run.sums, ruleText: run.ruleText, composite: run.composite, kept, extra: run.extra,
      timings: { forwardMs: fwd.ms, forwardReused: fwd.reused ? 1 : 0, methodMs: t2 - t1, totalMs: now() - t0 },
    });
  }

  dispose(): void {
    this.dropCache();
    if (this.ownsPrep) this.prep.dispose();
  }
}

/** The explained class: 'top' (default) or an index checked against the number of logits. */
export function explainedClass(opts: ExplainOptions, prediction: Prediction[], k: number): number {
  if (opts.targetClass === undefined || opts.targetClass === 'top') return prediction[0].class;
  const target = opts.targetClass;
  if (!Number.isInteger(target) || target < 0 || target >= k) throw new LensError('bad-usage', `--class ${target} is out of range 0..${k - 1}`);
  return target;
}

/** Rule parameters with defaults; z^B bounds from the input's range when neither flags nor a card give them. */
export function ruleParamsFor(g: Graph, input: InputArray, opts: ExplainOptions): RuleParams {
  const inShape = g.nodes[g.input].shape;
  const params: RuleParams = { ...DEFAULT_RULE_PARAMS, ...stripUndefined(opts.params ?? {}) };
  if (params.low === undefined || params.high === undefined) {
    const r = inputRange(input.data, inShape[inShape.length - 1]);
    params.low ??= r.low;
    params.high ??= r.high;
  }
  return params;
}

export function keepIdsFor(g: Graph, names: string[] = []): Set<number> {
  const keepIds = new Set<number>();
  for (const name of names) {
    const n = g.nodes.find((x) => x.name === name);
    if (!n) throw new LensError('bad-usage', `no layer named '${name}'`);
    keepIds.add(n.id);
  }
  return keepIds;
}

/** What a backend computed for one explanation, before it becomes the JSON result. */
export interface RunOutcome {
  target: number;
  logits: Float32Array;
  prediction: Prediction[];
  /** input relevance, HWC without batch */
  relevance: Float32Array;
  sums: (NodeSums | undefined)[];
  ruleText: Map<number, string>;
  composite: string | null;
  kept?: Map<number, { shape: number[]; data: Float32Array }>;
  extra?: Record<string, unknown>;
  timings: Record<string, number>;
}

/** The result of an explanation (the CLI's JSON contract), the same whichever backend computed it. */
export function assembleOutput(g: Graph, opts: ExplainOptions, o: RunOutcome): ExplainOutput {
  const t0 = now();
  let layerRelevance: ExplainOutput['layerRelevance'];
  if (o.kept) {
    layerRelevance = {};
    for (const [id, t] of o.kept) layerRelevance[g.nodes[id].name] = t;
  }
  const layers: LayerConservation[] = [];
  for (const n of g.nodes) {
    const s = o.sums[n.id];
    if (!s) continue;
    layers.push({
      name: n.name, op: n.op, rule: o.ruleText.get(n.id) ?? '',
      outputRelevanceSum: s.out, inputRelevanceSum: s.in, ratio: s.out === 0 ? (s.in === 0 ? 1 : Infinity) : s.in / s.out,
      ...(s.biasLeak !== undefined ? { biasLeak: s.biasLeak, stabilizerLeak: s.stabilizerLeak } : {}),
      ...(s.outAbs !== undefined ? { outputAbsSum: s.outAbs, inputAbsSum: s.inAbs } : {}),
    });
  }
  const rules: Record<string, string> = {};
  for (const n of g.nodes) {
    if (n.params.kernel || n.op === 'batchNorm') {
      const t = o.ruleText.get(n.id);
      if (t) rules[n.name] = t;
    }
  }
  let inputRelevanceSum = 0;
  for (let i = 0; i < o.relevance.length; i++) inputRelevanceSum += o.relevance[i];
  const label = opts.labels?.[o.target];
  const timings = { ...o.timings };
  if (timings.totalMs !== undefined) timings.totalMs += now() - t0;
  return {
    method: opts.method,
    composite: o.composite,
    rules,
    target: { class: o.target, logit: o.logits[o.target], ...(label !== undefined ? { label } : {}) },
    prediction: o.prediction,
    relevance: { shape: g.nodes[g.input].shape.slice(), data: o.relevance },
    layers,
    inputRelevanceSum,
    timings,
    ...(layerRelevance ? { layerRelevance } : {}),
    ...(o.extra ? { extra: o.extra } : {}),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** One-shot convenience: prepares, explains, frees. */
export async function explain(graph: Graph, input: InputArray, opts: ExplainOptions): Promise<ExplainOutput> {
  const e = new Explainer(graph);
  try {
    return e.explain(input, opts);
  } finally {
    e.dispose();
  }
}
