/**
 * Explanations on onnxruntime: the method is compiled (compile.ts) into one ONNX model per rule
 * assignment, whose session is cached, so a new image, a new class, the same rules again or new rule
 * parameters (graph inputs) re-run it; a change of a layer's rule kind compiles a new one. Methods or models the compiler does not cover run on the wasm
 * Explainer instead, and the result says why (`backend`, `backendReason`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Graph, Node } from '../graph/ir';
import { PreparedGraph } from '../engine/prepared';
import { deepTaylorSpecs, inputRootPoint, rootPointPlan, type DtdRoot } from '../methods/deepTaylor';
import { AUTO_COMPOSITE, concreteComposite, firstWeightedLayer, resolveRules } from '../composites/presets';
import { resolveRule, type ResolvedRule } from '../rules/resolved';
import { formatRule, type RuleParams, type RuleSpec } from '../../shared/ruleSpec';
import { LensError } from '../errors';
import { decodeSums, type NodeSums, type SumEntry } from '../engine/backward';
import { opDef } from '../ops/registry';
import type { SignalRule } from '../ops/types';
import {
  assembleOutput, checkInputFor, explainedClass, Explainer, keepIdsFor, ruleParamsFor, topK,
  type ExplainExtras, type ExplainOutput, type InputArray,
} from '../methods/explain';
import type { ExplainOptions, MethodName } from '../methods/types';
import { choiceStructure, ruleChoices, ruleStructure } from './rules';
import { compileBlocker, compileExplanation, compileForward, compileProducts, isActName, readSums, type CompiledFamily, type CompiledModel, type CompileSpec } from './compile';
import { createSession, ortModule, SessionCache } from './runtime';
import { isProductName, productOf } from './products';
import { integratedGradientSamples, noiseSamples } from './samples';
import { isNoiseMethod, type NoiseMethod } from '../../shared/methodParams';
import { patternExtra, patternPlan } from './patternPlan';
import { forwardBlocker, perturbationCurves } from './curves';
import type { CurveJobSpec } from '../metrics/pixelFlipping';
import type * as Ort from 'onnxruntime-node';
import { collectGarbage, releaseKernels, skipsOptimisation, worthCollecting } from './oneRun';

export interface BackendNote {
  /** which backend computed this explanation, and why that one */
  backend: 'onnx' | 'wasm';
  backendReason: string;
}

const SIGNAL: Partial<Record<MethodName, SignalRule>> = {
  gradient: 'gradient', 'gradient-x-input': 'gradient', deconvnet: 'deconvnet', 'guided-backprop': 'guided',
};

interface Plan {
  family: CompiledFamily;
  ruleText: Map<number, string>;
  composite: string | null;
  timesInput: boolean;
  /** sample methods: the gradient over a batch of noisy copies / path points */
  samples?: NoiseMethod | 'integrated-gradients';
  /** Deep Taylor: the first layer whose root point image is computed from the relevance arriving there */
  rootPoint?: { firstNode: Node; root: DtdRoot };
  deepTaylor?: boolean;
  /** PatternNet / PatternAttribution: the result's `extra.patterns` before the rescaling is known */
  patterns?: Record<string, unknown>;
}

interface CompiledSession {
  session: Ort.InferenceSession;
  model: Omit<CompiledModel, 'proto' | 'external'>;
  compileMs: number;
  sessionMs: number;
}


function now(): number {
  return performance.now();
}

export interface OnnxExplainerOptions {
  /**
   * LRP rule changes on the universal backward-only graph: each weighted layer's rule (z, γ, z⁺, α-β;
   * the first layer also z^B, flat, w²) is a graph input and the forward values are inputs too, fed
   * from the last explanation of the same image; a rule or composite change then re-runs only the
   * backward, on one session. Built on the first rule change (a build in the background would block
   * the thread: onnxruntime creates sessions synchronously); once it is built, rule sets already
   * compiled run on it too while the image stays the same. For interactive use.
   */
  universal?: boolean;
  /**
   * With `universal`: the caller runs `prepareRuleChanges` whenever it is idle (the engine process). An
   * image's first explanation then runs an unfolded own graph on nets without layer norms, and the build
   * compiles the one over the rule changes' kernel arrays that later images run on (`cached`). Without it
   * (the worker's own thread, where nothing is built while idle) the own graph keeps the basic
   * optimisations, and the kernels they fold.
   */
  idleBuild?: boolean;
  /**
   * The extension's memory-saving mode (relevanceLens.ruleChanges 'lean'; not with `universal`): every
   * explanation, a rule change too, runs its rule set's own graph, unfolded on nets without layer norms;
   * no forward values, products or kernel arrays are kept for rule changes.
   */
  lean?: boolean;
  /** One explanation per process (the CLI): compile for a single run (compile.ts `oneRun`). */
  oneRun?: boolean;
  /** With oneRun: the graph's kernels are emptied once the session is made (oneRun.ts); nothing else may use them. */
  releaseWeights?: boolean;
}

/** The extension's explainer options for its rule changes: kept values (`universal`), or `lean`. */
export function ruleChangeOptions(lean: boolean): OnnxExplainerOptions {
  return lean ? { lean: true } : { universal: true };
}

/** Which session runs an explanation, and how (OnnxExplainer.session). */
interface Route {
  reused: boolean;
  cs: Promise<CompiledSession>;
  /** the universal backward-only graph, fed with the cached forward values */
  backwardOnly: boolean;
  /** return this image's forward values (universal: the own graph, for a later rule change) */
  fetchActs: boolean;
  /** the own graph over the rule changes' kernel arrays (built by the idle build, for new images) */
  ownArrays?: boolean;
}

/** Held forward values and products from this size on are collected when a new image replaces them (`dropActs`). */
const DROP_COLLECT_BYTES = 32 * 2 ** 20;

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

/** The last LRP explanation's backward-only graph (universal), which prepareRuleChanges builds ahead. */
interface UniversalRoute {
  key: string;
  fam: CompiledFamily;
  keep: number[];
  leaks: boolean;
  /** the explanation that chose it, which the idle build runs once more on the built graph */
  again: { input: InputArray; opts: ExplainOptions; keepLayers?: string[] };
  /** the rule set's own graph (new images), which the idle build compiles over its arrays when unfolded */
  own: { key: string; fam: CompiledFamily; batch?: number };
}

/** Per weighted layer, the rules the universal graph switches between without a recompile (rules.ts ruleChoices). */
export function universalChoices(g: Graph, rules: Map<number, ResolvedRule>): Map<number, ResolvedRule[]> {
  const first = firstWeightedLayer(g);
  const choices = new Map<number, ResolvedRule[]>();
  for (const [id, r] of rules) if (opDef(g.nodes[id].op).onnx?.linear) choices.set(id, ruleChoices(r, id === first, g.nodes[id].op === 'depthwiseConv2d'));
  return choices;
}

export class OnnxExplainer {
  private readonly sessions = new SessionCache<CompiledSession>(4);
  private wasm?: Explainer;
  /**
   * universal: the forward values of the last image explained (the backward-only graph's inputs), and
   * the products of its layers by w⁺ / w⁻ once a backward-only run has computed them (products.ts)
   */
  private acts?: { input: Float32Array; values: Record<string, Ort.Tensor>; products?: Record<string, Ort.Tensor> };
  /** zero tensors by shape: the product inputs a run does not read */
  private readonly zeros = new Map<string, Ort.Tensor>();
  /** the products models (products.ts), by the products they make */
  private readonly productModels = new SessionCache<{ session: Ort.InferenceSession }>(4);
  /** the last LRP explanation's backward-only graph (universal), which prepareRuleChanges builds ahead */
  private lastUniversal?: UniversalRoute;
  /** forward only, batched, logits out: predictions and evaluate's perturbation batches */
  private forwardOnly?: Promise<Ort.InferenceSession>;

  constructor(readonly graph: Graph, readonly options: OnnxExplainerOptions = {}) {}

  /** The logits of a batch of n inputs (NHWC), [n, K], on the forward-only session (compiled once). */
  async forward(xs: Float32Array, n: number): Promise<Float32Array> {
    const blocker = forwardBlocker(this.graph);
    if (blocker) throw new Error(blocker);
    if (!this.forwardOnly) {
      // the weights as in-memory external data, read in place by onnxruntime (runtime.ts): no copy beside the graph's
      const { proto, external } = compileForward(this.graph, { logitsOnly: true, externalWeights: true });
      this.forwardOnly = createSession(proto.finish(), external);
    }
    const session = await this.forwardOnly;
    const out = await session.run({ x: new (ortModule().Tensor)('float32', xs, [n, ...this.graph.nodes[this.graph.input].shape]) });
    return out.logits.data as Float32Array;
  }

  checkInput(input: InputArray, file?: string): void {
    checkInputFor(this.graph, input, file);
  }

  async predict(input: InputArray, labels?: string[]): Promise<{ logits: Float32Array; prediction: ReturnType<typeof topK> }> {
    this.checkInput(input);
    const logits = new Float32Array(await this.forward(input.data, 1));
    return { logits, prediction: this.predictionOf(logits, labels) };
  }

  /** evaluate's perturbation batches on onnxruntime. */
  curves(spec: CurveJobSpec, checkpoint?: () => void): Promise<Float32Array[]> {
    return perturbationCurves(this.graph, spec, (xs, n) => this.forward(xs, n), checkpoint);
  }

  /** The compiled plan of a method, or why it runs on wasm. */
  plan(opts: ExplainOptions, params: RuleParams): Plan | { reason: string } {
    const g = this.graph;
    const signal = SIGNAL[opts.method] ?? (isNoiseMethod(opts.method) || opts.method === 'integrated-gradients' ? 'gradient' : undefined);
    if (signal) {
      const blocker = compileBlocker(g, 'signal');
      if (blocker) return { reason: blocker };
      const ruleText = new Map<number, string>();
      for (const n of g.nodes) if (n.id !== g.input) ruleText.set(n.id, opDef(n.op).signalRuleText(n, signal));
      const samples = isNoiseMethod(opts.method) || opts.method === 'integrated-gradients' ? opts.method : undefined;
      return { family: { kind: 'signal', rule: signal }, ruleText, composite: null, timesInput: opts.method === 'gradient-x-input', samples };
    }
    if (opts.method === 'lrp') {
      const blocker = compileBlocker(g, 'lrp');
      if (blocker) return { reason: blocker };
      // no composite or 'auto': the model's default, and the result names the one used (as methods/lrp.ts)
      const composite = concreteComposite(g, opts.composite ?? AUTO_COMPOSITE);
      const { rules, ruleText } = this.resolve(resolveRules(g, composite, opts.rules ?? {}), params);
      return { family: { kind: 'lrp', rules, start: 'logit' }, ruleText, composite, timesInput: false };
    }
    if (opts.method === 'deep-taylor' || opts.method === 'deep-taylor-bounded') {
      const blocker = compileBlocker(g, 'lrp');
      if (blocker) return { reason: blocker };
      const specs = deepTaylorSpecs({ prep: { graph: g }, opts }, opts.method === 'deep-taylor-bounded');
      const { rules, ruleText } = this.resolve(specs, params);
      return {
        family: { kind: 'lrp', rules, start: 'positiveLogit' }, ruleText, composite: opts.method, timesInput: false,
        rootPoint: rootPointPlan(g, specs), deepTaylor: true,
      };
    }
    if (opts.method === 'pattern-net' || opts.method === 'pattern-attribution') {
      const blocker = compileBlocker(g, 'pattern');
      if (blocker) return { reason: blocker };
      // missing patterns, a bad set, a non-ReLU net: the wasm path refuses with its message
      const p = patternPlan(g, opts);
      return 'reason' in p ? p : { family: p.family, ruleText: p.ruleText, composite: null, timesInput: false, patterns: p.extra };
    }
    return { reason: `method ${opts.method} is not compiled to ONNX yet` };
  }

  private resolve(specs: Map<number, RuleSpec>, params: RuleParams): { rules: Map<number, ResolvedRule>; ruleText: Map<number, string> } {
    const g = this.graph;
    const rules = new Map<number, ResolvedRule>();
    const ruleText = new Map<number, string>();
    for (const [id, spec] of specs) {
      rules.set(id, resolveRule(spec, params));
      ruleText.set(id, formatRule(spec, params));
    }
    for (const n of g.nodes) if (!ruleText.has(n.id) && n.id !== g.input) ruleText.set(n.id, opDef(n.op).lrpRuleText(n));
    return { rules, ruleText };
  }

  /** The universal graph's family for an LRP plan (method lrp), or the plan's own. */
  private universalFamily(fam: CompiledFamily): CompiledFamily {
    if (!this.options.universal || fam.kind !== 'lrp' || fam.start !== 'logit') return fam;
    return { ...fam, choices: universalChoices(this.graph, fam.rules) };
  }

  /** `batched`: a session for the sample methods' batches (batch size a graph dimension), not for one image. */
  private keyOf(fam: CompiledFamily, keep: number[], leaks: boolean, batched = false): string {
    const structure = (id: number, r: ResolvedRule): unknown => {
      const c = fam.kind === 'lrp' ? fam.choices?.get(id) : undefined;
      return c ? c.map(choiceStructure) : ruleStructure(r);
    };
    return JSON.stringify({
      fam: fam.kind === 'pattern' ? fam.key : fam.kind === 'lrp' ? { start: fam.start, rules: [...fam.rules].sort((a, b) => a[0] - b[0]).map(([id, r]) => [id, structure(id, r)]) } : fam,
      keep, leaks, batched,
    });
  }

  /**
   * The session for a plan. With `universal` (LRP from the logit): the rule set's own graph when the
   * forward values of this image are not at hand (it returns them: `fetchActs`) or when it is cached and
   * the backward-only graph is not built yet, else the
   * universal backward-only graph fed with them (`backwardOnly`; ResNet-50: its run ~150 ms where the
   * universal graph with the forward in it took ~220 ms and a recompile ~950 ms, measured).
   */
  private session(plan: Plan, keep: number[], leaks: boolean, x: Float32Array, again: UniversalRoute['again']): Route {
    const own = plan.family;
    // one image per run but for the sample methods: a graph of fixed shapes (compile.ts `batch`)
    const batch = plan.samples ? undefined : 1;
    const ownKey = this.keyOf(own, keep, leaks, !!plan.samples);
    const uni = this.universalFamily(own);
    if (uni === own) return { ...this.cached(ownKey, own, { keep, leaks, batch }), backwardOnly: false, fetchActs: false };
    const actsHere = !!this.acts && sameValues(this.acts.input, x);
    const backKey = `${this.keyOf(uni, keep, leaks)}:backward`;
    this.lastUniversal = { key: backKey, fam: uni, keep, leaks, again, own: { key: ownKey, fam: own, batch } };
    // once built, the backward-only graph is also the faster way back to a rule set with its own graph
    // (ResNet-50, back to the default composite: CPU 454–509 → 296–370 ms per change, measured)
    if (!actsHere || (this.sessions.has(ownKey) && !this.sessions.has(backKey))) {
      // a new image: on the own graph over the rule changes' arrays once the idle build made it
      const arrays = `${ownKey}:arrays`;
      if (this.sessions.has(arrays)) {
        return { ...this.cached(arrays, own, { keep, leaks, actsOut: true, batch, arrayKernels: true }), backwardOnly: false, fetchActs: !actsHere, ownArrays: true };
      }
      return { ...this.cached(ownKey, own, { keep, leaks, actsOut: true, batch }), backwardOnly: false, fetchActs: !actsHere };
    }
    return {
      ...this.cached(backKey, uni, { keep, leaks, actsAsInputs: true, cachedProducts: true, batch: 1 }),
      backwardOnly: true, fetchActs: false,
    };
  }

  private cached(key: string, fam: CompiledFamily, spec: Omit<CompileSpec, 'family'>): { reused: boolean; cs: Promise<CompiledSession> } {
    let reused = true;
    const cs = this.sessions.get(key, async () => {
      reused = false;
      const t0 = now();
      const flat = skipsOptimisation(this.graph);
      // unfolded (nothing derived for onnxruntime to fold): the CLI's one run, and the engine process's own
      // graphs of nets without layer norms (below), but the one the idle build makes over its arrays
      const unfolded = !!this.options.oneRun || (this.unfoldsOwnGraphs() && !spec.actsAsInputs && !spec.arrayKernels);
      let compiled: CompiledModel | undefined = compileExplanation(this.graph, { ...spec, family: fam, unfolded, externalWeights: true });
      const model = { sumIndex: compiled.sumIndex, sumOutputs: compiled.sumOutputs, sumSlots: compiled.sumSlots, scaled: compiled.scaled, params: compiled.params, selectors: compiled.selectors, choiceReads: compiled.choiceReads, weightBytes: compiled.weightBytes, nodes: compiled.nodes };
      const t1 = now();
      // the weights go as in-memory external data, which onnxruntime copies: no joined model, temporary
      // file or protobuf parse of them (compile + session CPU time, ResNet-50 0.82 -> 0.66 s, VGG16
      // 1.9 -> 0.86 s, measured)
      const bytes = compiled.proto.finish();
      const external = compiled.external;
      compiled = undefined;
      // without the NCHWc copies of the kernels: one run (the CLI: less memory, and its session creation
      // saves what the run loses: ResNet-50 CPU 1.81 -> 1.65 s in all, peak RSS 1.04-1.24 -> 0.86 GB) and
      // the universal backward-only graph (its runs the same, session 1.6 -> 1.2 s; measured). The
      // engine process's own graphs (universal with its idle build, lean) of nets without layer norms are
      // unfolded, without optimisation or arena: the first explanation of a model is what its user waits
      // for, and the session lives on beside the rule changes' arrays, which it would hold a folded copy
      // of. Elsewhere they get the basic optimisations only. Against those, in-process: ResNet-50's first explanation 536-586 -> 397-405 ms, RSS after
      // it 612-614 -> 397-398 MB; EfficientNet-B0 1347-1370 -> 747-778 ms (measured)
      const mode = this.options.oneRun ? (flat ? 'oneRun' : 'oneRunBasic')
        : unfolded ? 'unfolded' : spec.actsAsInputs || spec.arrayKernels || (this.options.universal && flat) ? 'basic' : 'full';
      const session = await createSession(bytes, external, mode);
      return { session, model, compileMs: t1 - t0, sessionMs: now() - t1 };
    });
    return { reused, cs };
  }

  /** Whether the own graphs are unfolded: lean, or universal with an idle build, on nets without layer norms. */
  private unfoldsOwnGraphs(): boolean {
    return skipsOptimisation(this.graph) && (!!this.options.lean || (!!this.options.universal && !!this.options.idleBuild));
  }

  /**
   * Lets the previous image's forward values and products go while a new image's run makes its own: they
   * are collected now, on this thread, while onnxruntime runs on its own, instead of when V8 next gets to
   * them (it does not count the memory onnxruntime allocates). An explanation still under way holds the
   * ones it took (`explain`). ResNet-50, new images each followed by the idle build: peak RSS 1069 -> 901 MB,
   * RSS held 1065 -> 858-889 MB (measured).
   */
  private dropActs(): void {
    let bytes = 0;
    for (const t of [...Object.values(this.acts!.values), ...Object.values(this.acts!.products ?? {})]) bytes += (t.data as Float32Array).byteLength;
    this.acts = undefined;
    if (bytes >= DROP_COLLECT_BYTES) collectGarbage();
  }

  /** The wasm Explainer, created on first fallback (it holds the parameters as tfjs tensors). */
  fallback(): Explainer {
    return (this.wasm ??= new Explainer(this.graph));
  }

  async explain(input: InputArray, opts: ExplainOptions, extras: ExplainExtras = {}): Promise<ExplainOutput & BackendNote> {
    const t0 = now();
    const g = this.graph;
    checkInputFor(g, input);
    const params = ruleParamsFor(g, input, opts);
    const plan = this.plan(opts, params);
    if ('reason' in plan) {
      return { ...this.fallback().explain(input, opts, extras), backend: 'wasm', backendReason: plan.reason };
    }
    const wanted = keepIdsFor(g, extras.keepLayers);
    const keep = [...new Set([...wanted, ...(plan.rootPoint ? [plan.rootPoint.firstNode.id] : [])])].sort((a, b) => a - b);
    const leaks = plan.family.kind === 'lrp' && !!opts.conservationDetail;
    const { reused, cs: pending, backwardOnly, fetchActs, ownArrays } = this.session(plan, keep, leaks, input.data, { input, opts, keepLayers: extras.keepLayers });
    // the forward values the route was chosen for: another explanation (a new image) may replace this.acts
    // while this one awaits its session or products, and the backward-only run must not mix the two images.
    // Only that run holds them: a new image's lets them go (`dropActs`)
    const acts = backwardOnly ? this.acts : undefined;
    const cs = await pending;
    if (this.options.releaseWeights) {
      const collect = worthCollecting(g);
      releaseKernels(g, plan.rootPoint ? [plan.rootPoint.firstNode.id] : []);
      if (collect) collectGarbage();
    }
    const ort = ortModule();
    const inShape = g.nodes[g.input].shape;
    const k = g.nodes[g.output].shape[0];
    const onehot = new Float32Array(k);
    let fixed: number | undefined;
    if (opts.targetClass !== undefined && opts.targetClass !== 'top') {
      fixed = opts.targetClass;
      if (!Number.isInteger(fixed) || fixed < 0 || fixed >= k) throw new LensError('bad-usage', `--class ${fixed} is out of range 0..${k - 1}`);
      onehot[fixed] = 1;
    }
    extras.checkpoint?.();
    const tPrep = now();
    // this run's rule parameters (the session is shared by every value of them)
    const paramFeeds: Record<string, Ort.Tensor> = {};
    const rules = plan.family.kind === 'lrp' ? plan.family.rules : new Map<number, ResolvedRule>();
    for (const p of cs.model.params) {
      const v = p.read(rules);
      paramFeeds[p.name] = new ort.Tensor('float32', v, p.shapeOf?.(v) ?? p.dims);
    }
    const tParams = now();
    for (const sel of cs.model.selectors) {
      const k = sel.keys.indexOf(choiceStructure(rules.get(sel.id)!));
      if (k < 0) throw new Error(`layer ${sel.id}: its rule is not among the universal graph's choices`);
      paramFeeds[sel.name] = new ort.Tensor('int64', new BigInt64Array([BigInt(k)]), [1]);
    }
    const feeds: Record<string, Ort.Tensor> = {
      ...paramFeeds,
      x: new ort.Tensor('float32', input.data, [1, ...inShape]),
      onehot: new ort.Tensor('float32', onehot, [1, k]),
    };
    feeds.top = new ort.Tensor('float32', new Float32Array([fixed === undefined ? 1 : 0]), [1]);
    let computed = false;
    if (backwardOnly) {
      delete feeds.x;
      computed = await this.productFeeds(acts!, cs, feeds, rules);
      for (const n of cs.session.inputNames) if (isActName(n)) feeds[n] = acts!.values[n];
    }
    const fetches = cs.session.outputNames.filter((n) => fetchActs || !isActName(n));
    const t1 = now();
    const cpu0 = process.cpuUsage();
    const running = cs.session.run(feeds, fetches);
    if (fetchActs && this.acts) this.dropActs();
    const out = { ...await running };
    const runMs = now() - t1;
    // the process's CPU time meanwhile: well under 2× runMs on 2 cores means the run waited for a core
    const cpu = process.cpuUsage(cpu0);
    if (fetchActs) {
      const values: Record<string, Ort.Tensor> = {};
      for (const n of fetches) {
        if (!isActName(n)) continue;
        values[n] = out[n];
        delete out[n];
      }
      this.acts = { input: Float32Array.from(input.data), values };
    }
    let t2 = now();
    const logits = new Float32Array(out.logits.data as Float32Array);
    const prediction = this.predictionOf(logits, opts.labels);
    const target = explainedClass(opts, prediction, k);
    let relevance: Float32Array = new Float32Array(out.relevance.data as Float32Array);
    if (plan.timesInput) relevance = relevance.map((v, i) => Math.fround(v * input.data[i]));
    let sums = this.decodeSums(cs.model.sumIndex, readSums(cs.model, out), out.scales?.data as Float32Array | undefined);
    let extra: Record<string, unknown> | undefined;
    if (plan.patterns) extra = { patterns: patternExtra(g, opts.method, plan.patterns, relevance, out.log2.data as Float32Array, cs.model.sumIndex, out.scales.data as Float32Array, keep) };
    if (plan.samples) {
      const hot = new Float32Array(k);
      hot[target] = 1;
      const runBatch = async (xs: Float32Array, n: number) => {
        const o = await cs.session.run({
          ...paramFeeds,
          x: new ort.Tensor('float32', xs, [n, ...inShape]), onehot: new ort.Tensor('float32', hot, [1, k]),
          top: new ort.Tensor('float32', new Float32Array([0]), [1]),
        }, ['relevance', 'logits', ...cs.model.sumOutputs]);
        const r = { grad: o.relevance.data as Float32Array, sums: readSums(cs.model, o), logits: o.logits.data as Float32Array };
        return r;
      };
      const decode = (s: Float32Array) => this.decodeSums(cs.model.sumIndex, s);
      const s = plan.samples !== 'integrated-gradients'
        ? await noiseSamples(plan.samples, g, input.data, opts, runBatch, decode, extras.checkpoint)
        : await integratedGradientSamples(g, input.data, target, logits[target], opts, runBatch, decode, extras.checkpoint);
      relevance = s.relevance;
      sums = s.sums;
      extra = s.extra;
      t2 = now();
    }
    let kept: Map<number, { shape: number[]; data: Float32Array }> | undefined;
    if (keep.length) {
      kept = new Map();
      for (const id of keep) if (out[`keep_${id}`]) kept.set(id, { shape: g.nodes[id].shape.slice(), data: new Float32Array(out[`keep_${id}`].data as Float32Array) });
    }
    if (plan.deepTaylor) {
      const logit = logits[target];
      extra = { deepTaylor: { explainedOutput: Math.max(0, logit), logit, root: opts.root ?? 'lrp' } };
      const rp = plan.rootPoint;
      const r = rp && kept?.get(rp.firstNode.id);
      if (rp && r) {
        extra.rootPoint = { layer: rp.firstNode.name, root: rp.root, shape: inShape.slice(), data: this.rootPoint(rp.firstNode, rp.root, input.data, r.data, params) };
        if (!wanted.has(rp.firstNode.id)) kept!.delete(rp.firstNode.id);
      }
    }
    if (kept && kept.size === 0) kept = undefined;
    for (const t of Object.values(out)) t.dispose?.();
    const tOut = now();
    const r = assembleOutput(g, opts, {
      target, logits, prediction, relevance, sums, ruleText: plan.ruleText, composite: plan.composite, kept, extra,
      timings: {
        forwardMs: 0, forwardReused: 0, methodMs: t2 - t1, compileMs: cs.compileMs, sessionMs: cs.sessionMs,
        sessionReused: reused ? 1 : 0, backwardOnly: backwardOnly ? 1 : 0, ownArrays: ownArrays ? 1 : 0, productsComputed: computed ? 1 : 0, totalMs: now() - t0,
        // phases of this call: feeds (of which the rule parameters, made inputs among them), session.run (the first, for sample methods), outputs read back
        prepMs: t1 - tPrep, paramMs: tParams - tPrep, runMs, runCpuMs: (cpu.user + cpu.system) / 1000, outputMs: tOut - t2,
      },
    });
    return { ...r, backend: 'onnx', backendReason: 'compiled to one ONNX graph, run by onnxruntime-node' };
  }

  /**
   * Builds, ahead of the first rule change, the backward-only graph a change of the last LRP
   * explanation's rules runs on, the inputs made in JS under those rules, and this image's products by w⁺
   * and w⁻ (the latter only α-β with β ≠ 0 reads; made ahead too, ResNet-50: ~0.3 s of that change), and
   * runs the new graph once.
   * onnxruntime creates sessions synchronously, so only a caller whose thread may block while idle does
   * this: the engine process (onnxProcess.ts). ResNet-50: the first change then takes ~0.3 s instead of
   * ~2 s. Returns whether anything was built.
   */
  async prepareRuleChanges(): Promise<boolean> {
    const u = this.lastUniversal;
    const acts = this.acts;
    if (!u || !acts) return false;
    const { reused, cs } = this.cached(u.key, u.fam, { keep: u.keep, leaks: u.leaks, actsAsInputs: true, cachedProducts: true, batch: 1 });
    const { session, model } = await cs;
    // the inputs made in JS under these rules (mixed kernels of the silent γ layers, z^B's bound products):
    // a change of one layer keeps the others' rules, whose inputs the explanation's own graph may not
    // have made (a bias-free composite's γ layers; ResNet-50: 31 kernels, ~100 ms of that change)
    // and ahead, the kernel variants of the layers whose rule modifies the kernel (choiceReads.ts `active`)
    if (u.fam.kind === 'lrp') {
      for (const p of model.params) {
        p.read(u.fam.rules);
        p.prepare?.(u.fam.rules);
      }
    }
    // the products belong to the image they were made for: not if another came meanwhile
    const made = this.acts === acts && u.fam.kind === 'lrp' && await this.productFeeds(acts, { session, model }, {}, u.fam.rules, true);
    // one run of the new graph, the explanation shown once more: a session's first run maps fresh pages for
    // its intermediate values (ResNet-50: ~49,000 minor page faults, +50 ms on a quiet machine, ~+400 ms in
    // a loaded CI run), which the user's first change would pay otherwise
    if (!reused && this.acts === acts) await this.explain(u.again.input, u.again.opts, { keepLayers: u.again.keepLayers });
    return !reused || made;
  }

  /**
   * Builds, after `prepareRuleChanges` and while still idle, the rule set's own graph over the kernel
   * arrays that build made (the variants, flips and mixed kernels the backward-only graph reads), which
   * new images then run on instead of the unfolded one of the first explanation (that derives them in
   * every run). Only where own graphs are unfolded. A step of its own, so that a rule change need not
   * wait for it (a clean-clone CI run: the first change waited 595 ms for the idle build while it was
   * part of it). Returns whether it built one.
   */
  async prepareNewImages(): Promise<boolean> {
    const u = this.lastUniversal;
    if (!u || !this.acts || !this.unfoldsOwnGraphs()) return false;
    const o = this.cached(`${u.own.key}:arrays`, u.own.fam, { keep: u.keep, leaks: u.leaks, actsOut: true, batch: u.own.batch, arrayKernels: true });
    await o.cs;
    return !o.reused;
  }

  /**
   * The backward-only graph's product inputs (products.ts): the image's of `acts`, made by the products model for
   * those the run's rules read (choiceReads.ts) that are not yet kept, zeros for the others; `ahead` (the
   * rule changes' build): all products of the layers whose rule reads any (the w⁻ group that α-β with
   * β ≠ 0 reads among them; ResNet-50: ~0.3 s of the first such change). Returns whether any were made.
   */
  private async productFeeds(
    acts: NonNullable<OnnxExplainer['acts']>, cs: Pick<CompiledSession, 'session' | 'model'>, feeds: Record<string, Ort.Tensor>,
    rules: Map<number, ResolvedRule>, ahead = false,
  ): Promise<boolean> {
    const ort = ortModule();
    const have = (acts.products ??= {});
    const reads = cs.model.choiceReads;
    const wanted = cs.session.inputNames.filter(isProductName);
    const needed = (n: string): boolean => {
      const { id } = productOf(n);
      return !reads || (ahead ? reads.active(id, rules.get(id)) : reads.reads(id, n, rules.get(id)));
    };
    let made = false;
    // by group, all of a group's products the run reads when one is missing: one products model per group
    // and rule set, the same for every image (ResNet-50, a new image's first change to α-β: 0.50 s with a
    // model for just the missing ones, compiled anew for each image, 0.21 s this way)
    for (const minus of [false, true]) {
      const group = wanted.filter((n) => productOf(n).minus === minus && needed(n));
      if (!group.some((n) => !have[n])) continue;
      const { session } = await this.productModels.get(group.join(','), async () => {
        const { proto, external } = compileProducts(this.graph, group);
        return { session: await createSession(proto.finish(), external, 'basic') };
      });
      const actFeeds: Record<string, Ort.Tensor> = {};
      for (const n of session.inputNames) actFeeds[n] = acts.values[n];
      Object.assign(have, await session.run(actFeeds));
      made = true;
    }
    for (const n of wanted) {
      // zeros for a product this run does not read: one array per shape, shared (an empty tensor
      // instead has onnxruntime warn of its planned buffer)
      if (have[n]) feeds[n] = have[n];
      else {
        const dims = acts.values[`act_${productOf(n).id}`].dims;
        const key = dims.join('x');
        feeds[n] = this.zeros.get(key) ?? this.zeros.set(key, new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims)).get(key)!;
      }
    }
    return made;
  }

  /**
   * The root point image of Deep Taylor's first layer (methods/deepTaylor.ts inputRootPoint) from the
   * relevance the compiled run returned there: on tfjs, with only that layer's parameters as tensors.
   */
  private rootPoint(first: Node, root: DtdRoot, x: Float32Array, r: Float32Array, params: RuleParams): number[] {
    const g = this.graph;
    const only: Graph = { ...g, nodes: g.nodes.map((n) => (n.id === first.id || n.id === g.input ? n : { ...n, op: 'identity', params: {}, attrs: {} })) };
    const prep = new PreparedGraph(only);
    try {
      return tf.tidy(() => {
        const xin = tf.tensor(x, [1, ...g.nodes[first.inputs[0]].shape]);
        const rt = tf.tensor(r, [1, ...first.shape]);
        return Array.from(inputRootPoint({ prep, x: xin }, first, root, rt, params).dataSync());
      });
    } finally {
      prep.dispose();
    }
  }

  private predictionOf(logits: Float32Array, labels?: string[]): ReturnType<typeof topK> {
    let scores = logits;
    if (this.graph.outputSoftmax) {
      const m = Math.max(...logits);
      const ex = Array.from(logits, (v) => Math.exp(v - m));
      const s = ex.reduce((a, b) => a + b, 0);
      scores = Float32Array.from(ex, (v) => v / s);
    }
    return topK(scores, 5, labels);
  }

  /** The conservation sums per node; `log2` (pattern family): per entry, the rescaling to undo (true = value · 2^log2). */
  private decodeSums(index: SumEntry[], values: Float32Array, log2?: Float32Array): (NodeSums | undefined)[] {
    return decodeSums(this.graph.nodes.length, index, values, (j) => (log2 ? 2 ** log2[j] : 1));
  }

  async dispose(): Promise<void> {
    this.acts = undefined;
    this.zeros.clear();
    await this.sessions.clear();
    await this.productModels.clear();
    const f = this.forwardOnly;
    this.forwardOnly = undefined;
    await f?.then((x) => x.release()).catch(() => undefined);
    this.wasm?.dispose();
    this.wasm = undefined;
  }
}
