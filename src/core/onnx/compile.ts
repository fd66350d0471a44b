/**
 * The compiler: (graph, rule family, per-layer rules, kept layers) -> one ONNX model that computes the
 * forward pass, the backward signal under each node's rule and the per-node sums of the conservation
 * table in one run. Inputs: x [N, H, W, C] (NHWC, as the engine), onehot [1, K] (the explained
 * class) and top [1] (1: explain each row's top class instead, picked in the graph by ArgMax, whose
 * first-maximum rule matches topK's): a new class or image re-runs the same session, and so do new rule
 * parameters (ε, γ, α, β, z^B bounds: inputs p<id>_<field>, see `params`). Outputs: logits [N, K], relevance (NHWC),
 * sums (per visited node: out, in[, Σ|out|, Σ|in|, bias leak, stabilizer leak], laid out as `sumIndex` says), and
 * keep_<id> for the requested layers. Mirrors engine/backward.ts.
 */
import type { Graph, OpKind } from '../graph/ir';
import type { ResolvedRule } from '../rules/resolved';
import { nonNegativeOutputs } from '../graph/nonNegative';
import { silentNegativeOutputs } from '../methods/lrpHandlers';
import { isKnownOp, opDef } from '../ops/registry';
import type { SignalRule } from '../ops/types';
import { Emitter, type OnnxBackward, type ParamInput } from './emitter';
import type { ProtoWriter } from './protoWriter';
import { patternTransposed, rescaleAfter, type PatternFamily } from './patterns';
import { choiceStructure, emitRuleChoice, leastSilentRules } from './rules';
import { emitProducts, productsFromActs } from './products';
import { ChoiceReads } from './choiceReads';
import type { SumEntry } from '../engine/backward';

const onnxLinearOf = (op: OpKind) => opDef(op).onnx?.linear;

export type CompiledFamily =
  | {
    kind: 'lrp'; rules: Map<number, ResolvedRule>; start: 'logit' | 'positiveLogit';
    /** the universal graph: per layer, the rules it switches between by the graph input rk<id> (rules.ts emitRuleChoice) */
    choices?: Map<number, ResolvedRule[]>;
  }
  | { kind: 'signal'; rule: SignalRule }
  | PatternFamily;

export interface CompileSpec {
  family: CompiledFamily;
  /** node ids whose incoming signal to return */
  keep?: readonly number[];
  /** record the closed-form bias / stabilizer leaks and every node's Σ|out|, Σ|in| (LRP's conservation detail) */
  leaks?: boolean;
  /**
   * backward only: the forward values are graph inputs `act_<id>` (and max pooling's winners
   * `argmax_<id>`), as `compileForward`'s model returns them, instead of being computed
   */
  actsAsInputs?: boolean;
  /**
   * For a session made without graph optimisation (runtime.ts 'oneRun', 'unfolded'): every kernel the
   * rules derive is computed by the graph in each run (Emitter.unfolded), transposed convolutions stay
   * ConvTranspose. The faster Conv with a flipped kernel costs a kernel copy for onnxruntime to lay out at
   * session creation, which one run does not pay back (ResNet-50: ~0.9 s more session, ~0.2 s less run,
   * measured), and which a long-lived session would hold beside the weights.
   */
  unfolded?: boolean;
  /**
   * Also return the forward values `act_<id>` / `argmax_<id>` (as `compileForward`), fetched only when
   * asked for: what the universal backward-only model (`actsAsInputs`) takes on a later rule change.
   */
  actsOut?: boolean;
  /**
   * With `actsAsInputs`: the layers' products by w⁺ (and w⁻) that depend on the image only are inputs
   * too, `prod_<id>_<key>`, made by `compileProducts`' model (products.ts)
   */
  cachedProducts?: boolean;
  /** weights as in-memory external data (`CompiledModel.external`) instead of inside the model's bytes */
  externalWeights?: boolean;
  /** kernel variants and layouts as arrays made in JS (Emitter.arrayKernels); default: `actsAsInputs` and not `unfolded` */
  arrayKernels?: boolean;
  /**
   * A fixed batch size instead of the symbolic `N`: onnxruntime plans the memory of a graph of known
   * shapes several times faster (session creation, CLI graphs: EfficientNet-B0 1.47 → 0.24 s, Swin-T
   * 4.4 → 1.0 s, ViT-B/16 3.1 → 1.0 s, ResNet-50 the same; measured). Not for the sample methods' batches.
   */
  batch?: number;
}

export interface CompiledModel {
  /** the ModelProto: `.finish()` joins it, `.writeFile(path)` streams it */
  proto: ProtoWriter;
  /** per visited node: its values in the sums (`readSums`) */
  sumIndex: SumEntry[];
  /** the graph outputs holding the sums, each a single value: one per distinct value */
  sumOutputs: string[];
  /** per position of the sums as sumIndex lays them out: its index in sumOutputs */
  sumSlots: number[];
  /** pattern family: output `scales` holds, per sumIndex entry, the log2 of the signal's rescaling there */
  scaled?: boolean;
  /** rule parameters fed as inputs (read from the rules of each run) */
  params: ParamInput[];
  /** the universal graph's rule selectors: input name, layer, and the choiceStructure of each index */
  selectors: { name: string; id: number; keys: string[] }[];
  /** the universal backward-only graph's: which kernel variants and products each rule choice reads */
  choiceReads?: ChoiceReads;
  /** bytes of float initializers in the model */
  weightBytes: number;
  /** with `externalWeights`: the in-memory files the model refers to (pass them with it to createSession) */
  external: { path: string; data: Uint8Array }[];
  nodes: number;
}

/** Why the graph cannot be compiled for this family (an op without ONNX emission), or undefined. */
export function compileBlocker(g: Graph, family: CompiledFamily['kind']): string | undefined {
  for (const n of g.nodes) {
    if (!isKnownOp(n.op)) return `op '${n.op}' (layer '${n.name}') is not implemented by the engine`;
    const o = opDef(n.op).onnx;
    if (!o) return `op '${n.op}' (layer '${n.name}') has no ONNX emission`;
    if (family === 'lrp' && !o.lrp) return `op '${n.op}' (layer '${n.name}') has no compiled LRP backward`;
    if (family !== 'lrp' && !o.signal) return `op '${n.op}' (layer '${n.name}') has no compiled gradient backward`;
  }
  return undefined;
}

export function compileExplanation(g: Graph, spec: CompileSpec): CompiledModel {
  const blocker = compileBlocker(g, spec.family.kind);
  if (blocker) throw new Error(blocker);
  const e = new Emitter(g, onnxLinearOf);
  e.unfolded = !!spec.unfolded;
  e.arrayKernels = spec.arrayKernels ?? (!!spec.actsAsInputs && !spec.unfolded);
  e.g.externalWeights = !!spec.externalWeights;
  if (spec.batch !== undefined) e.batch = spec.batch;
  const inShape = g.nodes[g.input].shape;
  const k = g.nodes[g.output].shape[0];
  const x = spec.actsAsInputs ? '' : e.g.input('x', [e.batch, ...inShape]);
  const given = e.g.input('onehot', [1, k]);
  const top = e.g.input('top', [1]);

  // forward
  const acts: string[] = spec.actsAsInputs ? forwardInputs(e, !!spec.cachedProducts) : new Array(g.nodes.length);
  if (!spec.actsAsInputs) {
    acts[g.input] = e.isMap(g.input) ? e.toNchw(x) : x;
    for (const n of g.nodes) {
      if (n.id === g.input) continue;
      acts[n.id] = opDef(n.op).onnx!.forward(e, n, n.inputs.map((i) => acts[i]));
    }
  }
  const logits = acts[g.output];
  // the universal graph's rules count a bias by a graph input (the forward above keeps the plain bias)
  if (spec.family.kind === 'lrp' && spec.family.choices) {
    e.biasSwitch = true;
    // its backward-only form feeds the kernel variants and products a run's rules read (choiceReads.ts)
    if (spec.actsAsInputs && e.arrayKernels) e.choiceReads = new ChoiceReads(choiceStructure);
  }

  // start signal
  const argmax = e.g.op('ArgMax', [logits], { axis: { i: 1 }, keepdims: { i: 0 } });
  const topHot = e.g.op('OneHot', [argmax, e.g.ints([k]), e.g.floats([0, 1])], { axis: { i: -1 } });
  const onehot = e.add(given, e.mul(top, topHot));
  const fam = spec.family;
  let start: string;
  if (fam.kind === 'lrp') start = e.mul(fam.start === 'positiveLogit' ? e.relu(logits) : logits, onehot);
  else if (fam.kind === 'pattern') start = e.mul(logits, onehot);
  else start = e.g.op('Expand', [onehot, e.g.op('Shape', [logits])]);

  const leaks = new Map<number, [string, string]>();
  const ctx: OnnxBackward = {
    acts,
    leak: spec.leaks ? (id, b, s) => leaks.set(id, [b, s]) : undefined,
    rules: fam.kind === 'lrp' ? fam.rules : new Map(),
    nonNegative: nonNegativeOutputs(g),
    silent: fam.kind === 'lrp' ? silentNegativeOutputs(g, fam.choices ? leastSilentRules(fam.rules, fam.choices) : fam.rules) : [],
  };
  const keep = new Set(spec.keep ?? []);
  const pending: string[][] = g.nodes.map(() => []);
  pending[g.output].push(start);
  const sums = new Map<number, string[]>();
  // a layer's relevance at its input is its producer's at the output (one consumer): each reduced once
  const memo = (reduce: (t: string) => string): ((t: string) => string) => {
    const done = new Map<string, string>();
    return (t) => {
      let v = done.get(t);
      if (!v) done.set(t, (v = reduce(t)));
      return v;
    };
  };
  const sumOf = memo((t) => e.sum(t));
  const absSumOf = memo((t) => e.absSum(t));
  // pattern family: the running log2 of the rescaling, and its value at each visited node
  let log2 = fam.kind === 'pattern' ? e.g.floats([0]) : '';
  const scaleAt = new Map<number, string>();
  for (let id = g.output; id >= 0; id--) {
    const ps = pending[id];
    if (!ps.length || id === g.input) continue;
    const node = g.nodes[id];
    const signal = ps.length === 1 ? ps[0] : e.g.op('Sum', ps);
    const o = opDef(node.op).onnx!;
    const choices = fam.kind === 'lrp' ? fam.choices?.get(id) : undefined;
    const pattern = fam.kind === 'pattern' ? fam.kernels.get(id) : undefined;
    const parts = choices ? [emitRuleChoice(e, node, signal, ctx, choices)]
      : fam.kind === 'lrp' ? o.lrp!(e, node, signal, ctx)
        : pattern ? [patternTransposed(e, node, signal, pattern)]
          : o.signal!(e, node, signal, ctx, fam.kind === 'signal' ? fam.rule : 'gradient');
    if (parts.length !== node.inputs.length) throw new Error(`ONNX emission of ${node.op} returned ${parts.length} parts`);
    const total = (reduce: (t: string) => string): string[] => {
      const out = reduce(signal);
      const ins = parts.map((p) => (p === signal ? out : reduce(p)));
      return [out, ins.length === 1 ? ins[0] : e.g.op('Sum', ins)];
    };
    sums.set(id, [...total(sumOf), ...(spec.leaks ? total(absSumOf) : [])]);
    if (keep.has(id)) e.g.output(`keep_${id}`, e.isMap(id) ? e.toNhwc(signal) : signal, [e.batch, ...node.shape]);
    node.inputs.forEach((i, j) => pending[i].push(parts[j]));
    // consumed: the rescaling below multiplies only what is still pending (a visited node's entries kept there
    // were wrapped in a dead Mul at every later weighted node, 10.5 k of EfficientNet-B0's 12 k nodes)
    pending[id] = [];
    if (fam.kind === 'pattern') {
      scaleAt.set(id, log2);
      log2 = rescaleAfter(e, g, node, pending, log2);
    }
  }
  const pin = pending[g.input];
  if (!pin.length) throw new Error('the explained output does not depend on the input');
  const rin = pin.length === 1 ? pin[0] : e.g.op('Sum', pin);
  e.g.output('relevance', e.isMap(g.input) ? e.toNhwc(rin) : rin, [e.batch, ...inShape]);
  e.g.output('logits', logits, [e.batch, k]);
  if (spec.actsOut && !spec.actsAsInputs) actOutputs(e, acts);

  const sumIndex: SumEntry[] = [];
  const flat: string[] = [];
  for (const [id, s] of [...sums].sort((a, b) => a[0] - b[0])) {
    const l = leaks.get(id);
    sumIndex.push({ id, abs: !!spec.leaks, leaks: !!l });
    flat.push(...s, ...(l ?? []));
  }
  // each distinct sum its own output, of whatever rank: no Concat, and no Reshape to [1] of each before it
  const slotOf = new Map<string, number>();
  const sumOutputs: string[] = [];
  const sumSlots = flat.map((v) => {
    let j = slotOf.get(v);
    if (j === undefined) {
      slotOf.set(v, (j = sumOutputs.length));
      sumOutputs.push(`sumout_${j}`);
      e.g.output(`sumout_${j}`, v, undefined);
    }
    return j;
  });
  if (fam.kind === 'pattern') {
    const at = sumIndex.map(({ id }) => scaleAt.get(id)!);
    e.g.output('scales', at.length === 1 ? e.g.op('Identity', at) : e.g.op('Concat', at, { axis: { i: 0 } }), [at.length]);
    e.g.output('log2', e.g.op('Identity', [log2]), [1]);
  }
  const selectors = fam.kind === 'lrp' && fam.choices
    ? [...fam.choices].map(([id, c]) => ({ name: `rk${id}`, id, keys: c.map(choiceStructure) })) : [];
  if (e.choiceReads) {
    // a fed input that a node outside the rule choices' branches reads is fed in every run
    const outside = e.g.readValues(e.choiceBranches);
    e.choiceReads.markAlways(e.params.map((p) => p.name).filter((n) => outside.has(n)));
  }
  const proto = e.g.model(g.name);
  // the fed kernels no node reads are not inputs of the written model
  const params = e.params.filter((p) => e.g.hasInput(p.name));
  return {
    proto, external: e.g.external, sumIndex, sumOutputs, sumSlots, scaled: fam.kind === 'pattern', params, selectors,
    choiceReads: e.choiceReads, weightBytes: e.g.floatBytes, nodes: e.g.nodeCount,
  };
}

/** A run's sums in sumIndex's layout, from the outputs `sumOutputs` names. */
export function readSums(m: Pick<CompiledModel, 'sumOutputs' | 'sumSlots'>, out: Record<string, { data: unknown }>): Float32Array {
  const values = m.sumOutputs.map((n) => (out[n].data as Float32Array)[0]);
  return Float32Array.from(m.sumSlots, (j) => values[j]);
}

/**
 * The forward values as graph inputs, declared on first use (a backward-only graph). A weighted layer's
 * products with its kernels on its own input come from them (products.ts): the rules' z by w costs a
 * subtraction instead of the forward's convolution again (ResNet-50: one forward pass less).
 */
function forwardInputs(e: Emitter, cachedProducts: boolean): string[] {
  const g = e.graph;
  for (const n of g.nodes) if (n.op === 'maxPool') e.aux.set(`argmax:${n.id}`, e.g.input(`argmax_${n.id}`, e.dims(n.id), 'int64'));
  const declared: string[] = new Array(g.nodes.length);
  const acts = new Proxy(declared, {
    get(target, key) {
      if (typeof key !== 'string' || !/^\d+$/.test(key)) return Reflect.get(target, key);
      const id = Number(key);
      return (target[id] ??= e.g.input(`act_${id}`, e.dims(id)));
    },
  });
  productsFromActs(e, acts, nonNegativeOutputs(g), cachedProducts);
  return acts;
}

/**
 * The forward pass alone, returning every node's value `act_<id>` (compiled layout) and max pooling's
 * winners `argmax_<id>` (or `logits` alone): what a backward-only model (`actsAsInputs`) takes, so a rule-kind change can
 * compile only the backward half and feed it the cached forward values.
 */
export function compileForward(g: Graph, opts: { logitsOnly?: boolean; externalWeights?: boolean } = {}): { proto: ProtoWriter; names: string[]; external: { path: string; data: Uint8Array }[] } {
  const e = new Emitter(g, onnxLinearOf);
  e.g.externalWeights = !!opts.externalWeights;
  const x = e.g.input('x', ['N', ...g.nodes[g.input].shape]);
  const acts: string[] = new Array(g.nodes.length);
  acts[g.input] = e.isMap(g.input) ? e.toNchw(x) : x;
  for (const n of g.nodes) {
    if (n.id === g.input) continue;
    acts[n.id] = opDef(n.op).onnx!.forward(e, n, n.inputs.map((i) => acts[i]));
  }
  // logits only: the batched forward of evaluate's perturbed inputs
  if (opts.logitsOnly) {
    e.g.output('logits', acts[g.output], e.dims(g.output));
    return { proto: e.g.model(g.name), names: ['logits'], external: e.g.external };
  }
  const names = actOutputs(e, acts);
  return { proto: e.g.model(g.name), names, external: e.g.external };
}

/**
 * The products a backward-only model (`cachedProducts`) takes, `names` (its `prod_<id>_<key>` inputs),
 * from the forward values `act_<id>` as inputs; weights as in-memory external data.
 */
export function compileProducts(g: Graph, names: readonly string[]): { proto: ProtoWriter; external: { path: string; data: Uint8Array }[] } {
  const e = new Emitter(g, onnxLinearOf);
  e.g.externalWeights = true;
  e.arrayKernels = true;
  // the forward values of one image (as the backward-only model's: `batch`)
  e.batch = 1;
  emitProducts(e, names);
  return { proto: e.g.model(g.name), external: e.g.external };
}

/** Whether an output name is a forward value of `actOutputs` (the inputs of a backward-only model). */
export function isActName(name: string): boolean {
  return name.startsWith('act_') || name.startsWith('argmax_');
}

/** Declares every node's forward value and max pooling's winners as outputs; returns their names. */
function actOutputs(e: Emitter, acts: string[]): string[] {
  const names: string[] = [];
  for (const n of e.graph.nodes) {
    e.g.output(`act_${n.id}`, acts[n.id], e.dims(n.id));
    names.push(`act_${n.id}`);
    const idx = e.aux.get(`argmax:${n.id}`);
    if (idx) {
      e.g.output(`argmax_${n.id}`, idx, e.dims(n.id), 'int64');
      names.push(`argmax_${n.id}`);
    }
  }
  return names;
}
