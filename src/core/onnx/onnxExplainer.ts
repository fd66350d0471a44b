/**
 * Explanations on onnxruntime: the method is compiled (compile.ts) into one ONNX model per rule
 * assignment, whose session is cached, so a new image, a new class or the same rules again re-run it;
 * a rule change compiles a new one. Methods or models the compiler does not cover run on the wasm
 * Explainer instead, and the result says why (`backend`, `backendReason`).
 */
import type { Graph } from '../graph/ir';
import { resolveRules, DEFAULT_COMPOSITE } from '../composites/presets';
import { resolveRule, type ResolvedRule } from '../rules/resolved';
import { formatRule, type RuleParams } from '../../shared/ruleSpec';
import { LensError } from '../errors';
import type { NodeSums } from '../engine/backward';
import { opDef } from '../ops/registry';
import type { SignalRule } from '../ops/types';
import {
  assembleOutput, checkInputFor, explainedClass, Explainer, keepIdsFor, ruleParamsFor, topK,
  type ExplainExtras, type ExplainOutput, type InputArray,
} from '../methods/explain';
import type { ExplainOptions, MethodName } from '../methods/types';
import { compileBlocker, compileExplanation, type CompiledFamily, type CompiledModel } from './compile';
import { createSession, ortModule, SessionCache } from './runtime';
import type * as Ort from 'onnxruntime-node';

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
}

interface CompiledSession {
  session: Ort.InferenceSession;
  model: Omit<CompiledModel, 'bytes'>;
  compileMs: number;
  sessionMs: number;
}

function now(): number {
  return performance.now();
}

export class OnnxExplainer {
  private readonly sessions = new SessionCache<CompiledSession>(4);
  private wasm?: Explainer;

  constructor(readonly graph: Graph) {}

  /** The compiled plan of a method, or why it runs on wasm. */
  plan(opts: ExplainOptions, params: RuleParams): Plan | { reason: string } {
    const g = this.graph;
    const signal = SIGNAL[opts.method];
    if (signal) {
      const blocker = compileBlocker(g, 'signal');
      if (blocker) return { reason: blocker };
      const ruleText = new Map<number, string>();
      for (const n of g.nodes) if (n.id !== g.input) ruleText.set(n.id, opDef(n.op).signalRuleText(n, signal));
      return { family: { kind: 'signal', rule: signal }, ruleText, composite: null, timesInput: opts.method === 'gradient-x-input' };
    }
    if (opts.method === 'lrp') {
      const blocker = compileBlocker(g, 'lrp');
      if (blocker) return { reason: blocker };
      const composite = opts.composite ?? DEFAULT_COMPOSITE;
      const specs = resolveRules(g, composite, opts.rules ?? {});
      const rules = new Map<number, ResolvedRule>();
      const ruleText = new Map<number, string>();
      for (const [id, spec] of specs) {
        rules.set(id, resolveRule(spec, params));
        ruleText.set(id, formatRule(spec, params));
      }
      for (const n of g.nodes) if (!ruleText.has(n.id) && n.id !== g.input) ruleText.set(n.id, opDef(n.op).lrpRuleText(n));
      return { family: { kind: 'lrp', rules, start: 'logit' }, ruleText, composite, timesInput: false };
    }
    return { reason: `method ${opts.method} is not compiled to ONNX yet` };
  }

  private session(plan: Plan, keep: number[], leaks: boolean): Promise<CompiledSession> {
    const fam = plan.family;
    const key = JSON.stringify({
      fam: fam.kind === 'lrp' ? { start: fam.start, rules: [...fam.rules].sort((a, b) => a[0] - b[0]) } : fam, keep, leaks,
    });
    return this.sessions.get(key, async () => {
      const t0 = now();
      const compiled = compileExplanation(this.graph, { family: fam, keep, leaks });
      const t1 = now();
      const session = await createSession(compiled.bytes);
      const { bytes: _bytes, ...model } = compiled;
      return { session, model, compileMs: t1 - t0, sessionMs: now() - t1 };
    });
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
    const keep = [...keepIdsFor(g, extras.keepLayers)].sort((a, b) => a - b);
    const leaks = plan.family.kind === 'lrp' && !!opts.conservationDetail;
    const tc = now();
    const cs = await this.session(plan, keep, leaks);
    const compiledMs = now() - tc;
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
    const feeds: Record<string, Ort.Tensor> = {
      x: new ort.Tensor('float32', input.data, [1, ...inShape]),
      onehot: new ort.Tensor('float32', onehot, [1, k]),
    };
    const t1 = now();
    feeds.top = new ort.Tensor('float32', new Float32Array([fixed === undefined ? 1 : 0]), [1]);
    const out = await cs.session.run(feeds);
    const t2 = now();
    const logits = new Float32Array(out.logits.data as Float32Array);
    const prediction = this.predictionOf(logits, opts.labels);
    const target = explainedClass(opts, prediction, k);
    let relevance = new Float32Array(out.relevance.data as Float32Array);
    if (plan.timesInput) relevance = relevance.map((v, i) => Math.fround(v * input.data[i]));
    const sums = this.decodeSums(cs.model.sumIndex, out.sums.data as Float32Array);
    let kept: Map<number, { shape: number[]; data: Float32Array }> | undefined;
    if (keep.length) {
      kept = new Map();
      for (const id of keep) if (out[`keep_${id}`]) kept.set(id, { shape: g.nodes[id].shape.slice(), data: new Float32Array(out[`keep_${id}`].data as Float32Array) });
    }
    for (const t of Object.values(out)) t.dispose?.();
    const r = assembleOutput(g, opts, {
      target, logits, prediction, relevance, sums, ruleText: plan.ruleText, composite: plan.composite, kept,
      timings: {
        forwardMs: 0, forwardReused: 0, methodMs: t2 - t1, compileMs: cs.compileMs, sessionMs: cs.sessionMs,
        sessionReused: compiledMs < cs.compileMs ? 1 : 0, totalMs: now() - t0,
      },
    });
    return { ...r, backend: 'onnx', backendReason: 'compiled to one ONNX graph, run by onnxruntime-node' };
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

  private decodeSums(index: { id: number; n: number }[], values: Float32Array): (NodeSums | undefined)[] {
    const sums: (NodeSums | undefined)[] = new Array(this.graph.nodes.length);
    let k = 0;
    for (const { id, n } of index) {
      sums[id] = n === 4
        ? { out: values[k], in: values[k + 1], biasLeak: values[k + 2], stabilizerLeak: values[k + 3] }
        : { out: values[k], in: values[k + 1] };
      k += n;
    }
    return sums;
  }

  async dispose(): Promise<void> {
    await this.sessions.clear();
    this.wasm?.dispose();
    this.wasm = undefined;
  }
}
