/**
 * What an op's ONNX emission works with: the graph under construction plus helpers in the compiled
 * model's layout. Rank-3 IR values ([H, W, C]) are NCHW tensors [N, C, H, W] in the compiled graph,
 * other ranks are [N, ...shape]; the compiled model takes and returns NHWC at its boundary.
 */
import type { Graph, Node, OpKind } from '../graph/ir';
import type { ResolvedRule } from '../rules/resolved';
import { STABILIZER } from '../rules/resolved';
import { OnnxGraph, type Subgraph } from './onnxGraph';
import { boundConv } from '../ops/boundConv';
import type { ChoiceReads } from './choiceReads';

export type KernelVariant = 'w' | 'w+' | 'w-' | 'w2' | 'ones';
export type BiasVariant = 'b' | 'b+' | 'b-';

/** A rule parameter fed as a graph input: a parameter change re-runs the cached session. */
export interface ParamInput {
  name: string;
  dims: number[];
  /** its value under the rules of one run */
  read(rules: Map<number, ResolvedRule>): Float32Array;
  /** the dims of a value `read` gave, when they are not always `dims` */
  shapeOf?(value: Float32Array): number[];
  /** makes ahead what runs after a rule change may read (OnnxExplainer.prepareRuleChanges) */
  prepare?(rules: Map<number, ResolvedRule>): void;
}

/** A weighted op in the compiled layout (the ONNX half of ops/types.ts LinearOp). */
export interface OnnxLinear {
  /** the weight in the compiled layout (conv: OIHW; dense: [in, out]; BatchNorm: [C, 1, 1] or [C]) */
  weight(e: Emitter, node: Node): { data: Float32Array; dims: number[] };
  /**
   * The weight as an initializer of the IR's own array with the relayout done in the graph (folded by
   * onnxruntime): no relayout copy of the weights in this heap while compiling. Otherwise `weight`.
   */
  weightInGraph?(e: Emitter, node: Node): { name: string; dims: number[] };
  /** the bias in a shape that broadcasts against the output */
  bias(e: Emitter, node: Node): { data: Float32Array; dims: number[] } | undefined;
  forward(e: Emitter, node: Node, x: string, w: string, b?: string): string;
  /** forward with the bias b (the layer's `bias` layout) inside the op, where the op has it */
  forwardBiased?(e: Emitter, node: Node, x: string, w: string, b: string): string;
  /** transpose of forward (without bias) applied to s, by a kernel or by w + scale·w⁺ (MixedKernel) */
  transposed(e: Emitter, node: Node, s: string, w: string | MixedKernel): string;
}

/**
 * The kernel w + scale·w⁺ with scale a graph input (γ ≥ 0): mixed per run in the layout the product
 * reads, so Wᵀs + γW⁺ᵀs is one transposed product instead of two.
 */
export interface MixedKernel {
  w: string;
  scale: string;
  /**
   * the scale's value under a layer's rule, undefined when the rule does not use this product (another
   * choice of the universal graph): lets a product take the mixed kernel as a fed input (`mixedKernelInput`)
   */
  read?: (r: ResolvedRule) => number | undefined;
}

/**
 * A mixed kernel w + scale·w⁺ in a product's layout, made in JS from the IR kernel (ops/conv2d.ts): one
 * per (layer, layout), remade only when the scale changes.
 */
export type MixedKernelMaker = (scale: number, into?: Float32Array) => Float32Array;

/** fed for a made input whose branch does not run (its input's dims are symbolic) */
const UNUSED_KERNEL = new Float32Array(1);


/** What a backward emission of one node receives besides the signal. */
export interface OnnxBackward {
  /** the forward value of every node (names in the compiled graph) */
  acts: string[];
  /** records a node's closed-form leaks (names of [1]-shaped sums): bias, stabilizer */
  leak?: (id: number, bias: string, stab: string) => void;
  rules: Map<number, ResolvedRule>;
  nonNegative: boolean[];
  silent: boolean[];
}

function deriveVariant(w: Float32Array, v: KernelVariant | BiasVariant): Float32Array {
  return variantInPlace(w.slice(), v);
}

/**
 * A kernel or bias variant of a, elementwise, in place: what the graph's Relu / Min / Mul give, to the bit.
 * Without a branch on the sign ((x ± |x|) / 2 is exact): random signs mispredict half the time.
 */
export function variantInPlace(a: Float32Array, v: KernelVariant | BiasVariant): Float32Array {
  const key = v.replace(/^b/, 'w');
  if (key === 'w+') for (let i = 0; i < a.length; i++) { const x = a[i]; a[i] = (x + Math.abs(x)) * 0.5; }
  else if (key === 'w-') for (let i = 0; i < a.length; i++) { const x = a[i]; a[i] = (x - Math.abs(x)) * 0.5; }
  else if (key === 'w2') for (let i = 0; i < a.length; i++) { const x = a[i]; a[i] = x * x; }
  else if (key === 'ones') a.fill(1);
  else if (key !== 'w') throw new Error(`unknown kernel variant ${v}`);
  return a;
}

/** Per weight array (in the compiled layout): the kernels made from it, by variant and layout. */
const derived = new WeakMap<Float32Array, Map<string, WeakRef<ArrayBufferLike>>>();

/**
 * The kernel `key` made from weight array `source`, made once while any session reads it: every compile
 * with `arrayKernels` (the backward-only graphs, the products') reads the same array, where each of their
 * sessions held a folded copy of its own before (peak RSS of the bench's universal child: ResNet-50
 * 1.80 → 1.74 GB, VGG16 4.43 → 3.00 GB). Held weakly, by its buffer: a session keeps the buffers it reads
 * (runtime.ts `borrowed`, views of them), and a kernel no session reads any more is garbage, as a folded
 * one was. Only an array of a buffer of its own is kept so (`make` gives one).
 */
export function derivedKernel(source: Float32Array, key: string, make: () => Float32Array): Float32Array {
  let m = derived.get(source);
  if (!m) derived.set(source, m = new Map());
  const held = m.get(key)?.deref();
  if (held) return new Float32Array(held);
  const a = make();
  if (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) m.set(key, new WeakRef(a.buffer));
  return a;
}

/** A kernel made as an array (`Emitter.kernelArray`): its layer's weight array and its variant. */
export interface ArrayKernel {
  source: Float32Array;
  variant: KernelVariant;
}

const readBiasOn = (q: ResolvedRule): number[] => ['bias' in q && q.bias ? 1 : 0];

/** Made outside the Emitter so that the cached session's parameter readers do not keep the compile alive. */
function paramInput(name: string, dims: number[], node: Node, read: (r: ResolvedRule) => readonly number[]): ParamInput {
  return {
    name, dims,
    read: (rules) => {
      const r = rules.get(node.id);
      if (!r) throw new Error(`no rule for layer '${node.name}'`);
      return Float32Array.from(read(r));
    },
  };
}

const madeMemo = new WeakMap<Node, Map<string, { key: string; data: Float32Array }>>();

/**
 * A graph input made in JS from the layer's rule (a mixed kernel, z^B's bound products): remade when
 * `keyOf` of the rule changes, and kept per layer and slot (not per session: sessions of one model share
 * it). A layer of the universal graph whose rule does not read it (`keyOf` undefined) is fed a one-element
 * stand-in: the branch that reads it does not run, and the input's dims are symbolic.
 */
function madeParam(
  name: string, dims: number[], node: Node, slot: string,
  keyOf: (r: ResolvedRule) => string | undefined, make: (r: ResolvedRule, last?: Float32Array) => Float32Array,
  ahead?: (r: ResolvedRule) => boolean,
): ParamInput {
  const held = (r: ResolvedRule, key: string): Float32Array => {
    let bySlot = madeMemo.get(node);
    if (!bySlot) madeMemo.set(node, (bySlot = new Map()));
    let m = bySlot.get(slot);
    if (!m || m.key !== key) bySlot.set(slot, (m = { key, data: make(r, m?.data) }));
    return m.data;
  };
  const ruleOf = (rules: Map<number, ResolvedRule>): ResolvedRule => {
    const r = rules.get(node.id);
    if (!r) throw new Error(`no rule for layer '${node.name}'`);
    return r;
  };
  return {
    name, dims,
    shapeOf: (v) => (v === UNUSED_KERNEL ? dims.map(() => 1) : dims),
    read: (rules) => {
      const r = ruleOf(rules);
      const key = keyOf(r);
      return key === undefined ? UNUSED_KERNEL : held(r, key);
    },
    ...(ahead ? {
      prepare: (rules: Map<number, ResolvedRule>) => {
        const r = ruleOf(rules);
        if (ahead(r)) held(r, FED);
      },
    } : {}),
  };
}

/** The fed form of a mixed kernel, remade when the scale read from the layer's rule changes. */
function mixedKernelParam(name: string, dims: number[], node: Node, form: string, read: (r: ResolvedRule) => number | undefined, make: MixedKernelMaker): ParamInput {
  const scale = (r: ResolvedRule): number | undefined => {
    const given = read(r);
    return given === undefined ? undefined : Math.fround(given);
  };
  return madeParam(name, dims, node, `mk:${form}`, (r) => scale(r)?.toString(), (r, last) => make(scale(r)!, last));
}

/** z^B's product of one bound image at a conv (ops/boundConv.ts), remade when the bounds change. */
function boundProductParam(name: string, dims: number[], g: Graph, node: Node, which: 'low' | 'high', read: (r: ResolvedRule) => number[] | undefined): ParamInput {
  // the kernel as compiled: a one-run process empties the graph's kernels once the session holds them (oneRun.ts)
  const kernel = node.params.kernel!;
  const bounds = (r: ResolvedRule): number[] | undefined => read(r)?.map(Math.fround);
  return madeParam(name, dims, node, `zb:${which}`, (r) => bounds(r)?.join(','),
    (r) => boundConv(g, node, bounds(r)!, which === 'low' ? 'plus' : 'minus', kernel));
}

/** The memo key of a fed variant (`fedKernelParam`): made once, never remade. */
const FED = 'fed';

/** The fed variants made so far for the graph's layers: layer name, input name, bytes (tests, the bench). */
export function fedVariantsOf(g: Graph): { layer: string; name: string; bytes: number }[] {
  const out: { layer: string; name: string; bytes: number }[] = [];
  for (const n of g.nodes) {
    for (const [slot, m] of madeMemo.get(n) ?? []) if (slot.startsWith('fed:')) out.push({ layer: n.name, name: slot.slice(4), bytes: m.data.byteLength });
  }
  return out;
}

/**
 * A kernel variant fed as a graph input (`Emitter.choiceReads`): made on the first run whose rule for the
 * layer reads it, or ahead for a layer whose rule modifies the kernel (choiceReads.ts `active`), then kept.
 */
function fedKernelParam(name: string, dims: number[], node: Node, reads: ChoiceReads, make: () => Float32Array): ParamInput {
  return madeParam(name, dims, node, `fed:${name}`, (r) => (reads.reads(node.id, name, r) ? FED : undefined), () => make(), (r) => reads.active(node.id, r));
}

/** Variant v of a weight array, made once while held (`derivedKernel`); made here, the closure holds no Emitter. */
export function variantMaker(source: Float32Array, v: KernelVariant): () => Float32Array {
  return () => (v === 'w' ? source : derivedKernel(source, v, () => deriveVariant(source, v)));
}

/** Short input-name tags of the kernel variants. */
const VARIANT_TAG: Record<KernelVariant, string> = { 'w': 'w', 'w+': 'p', 'w-': 'm', 'w2': 'sq', 'ones': 'one' };

export class Emitter {
  readonly g = new OnnxGraph();
  private readonly kernels = new Map<string, string>();
  /** kernels made as arrays (`arrayKernels`), by name */
  private readonly arrays = new Map<string, ArrayKernel>();
  private readonly products = new Map<string, string>();
  /** products made with their bias inside, by the key of the product without it */
  private readonly biasedProducts = new Map<string, { z: string; b: string }>();
  private readonly dimsOf = new Map<number, number[]>();
  /** values an op's forward leaves for its backward (e.g. max-pool argmax) */
  readonly aux = new Map<string, string>();

  /** kernels in the compiled layout, per IR kernel array (this compile only) */
  readonly layouts = new Map<object, { data: Float32Array; dims: number[] }>();
  /** rule parameters as graph inputs, in declaration order */
  readonly params: ParamInput[] = [];
  /**
   * The universal graph: a rule's bias is the layer's bias times the graph input p<id>_bias (1 or 0,
   * the rule's `bias`), so bias-free and biased rules share one session.
   */
  biasSwitch = false;
  /**
   * Kernel variants and layouts as arrays made in JS (`arrayKernel`), shared by every compile of the
   * model, instead of derived in the graph and folded by onnxruntime: the backward-only graph and the
   * products' (compile.ts). ResNet-50's backward-only session took 1.45 s, 0.73 s of it constant folding
   * (its verbose log; the flips' Transpose and Slice ~3.6 ms per MB of kernel, Relu or Min ~0.5 in a
   * graph of their own); made here, the idle build of the rule changes took ~1.45 instead of ~2.0 s.
   * Not the explanation's own graph: there the arrays cost the first explanation more than its session
   * saved (compile +155 ms, session −100 ms; measured).
   */
  arrayKernels = false;
  /**
   * With `arrayKernels`, in the universal backward-only graph (compile.ts): the variants other than w (and
   * their flipped layouts) are graph inputs fed only while a layer's rule reads them (`fedKernelParam`,
   * choiceReads.ts), which records what each rule choice reads.
   */
  choiceReads?: ChoiceReads;
  /** the If branches of the rule choices (emitRuleChoice), to find reads outside them (compile only) */
  readonly choiceBranches = new Set<Subgraph>();
  /**
   * The derived kernels computed by the graph in each run (compile.ts `unfolded`: sessions made without
   * onnxruntime's graph optimisation, so nothing is folded into a copy the session holds). Otherwise:
   * - stride-1 transposed convolutions are a Conv with the flipped kernel;
   * - mixed kernels (the silent γ rule's w + γw⁺) are graph inputs made in JS when γ changes, instead of
   *   two elementwise passes over every such kernel in each run (ResNet-50 epsilon-gamma-box: ~50 of ~365 ms
   *   per warm run, measured); unfolded they would be held twice;
   * - z^B's bound products at a conv reading bounds as given are fed from JS (`boundProduct`, made once per
   *   bound values); in the CLI's one run, two convolutions in the graph cost less than the prefix sums on
   *   the main thread (ResNet-50 CLI: 22 ms of JS, measured).
   */
  unfolded = false;
  /**
   * A product already at hand (a backward-only graph: the layer's own product is its forward value,
   * an input, less its bias) instead of a new convolution; consulted by `forward` before it emits one.
   */
  productOf?: (node: Node, x: string, v: KernelVariant) => string | undefined;

  /** the batch dimension of the graph's values: symbolic, or fixed (compile.ts `batch`) */
  batch: number | string = 'N';

  /** values made by `inputPart`: which layer's input they are a part of, and which part */
  private readonly parts = new Map<string, { id: number; part: 'pos' | 'neg' }>();

  /**
   * linearOf: the op table's ONNX linear entry of an op kind, passed in by the compiler so that the
   * emitter (which the op contract names) does not import the op table.
   */
  constructor(readonly graph: Graph, private readonly linearOf: (op: OpKind) => OnnxLinear | undefined) {
    // a compiled model is read by onnxruntime alone
    this.g.runOrder = true;
  }

  /**
   * A rule parameter of node's rule as a graph input `p<id>_<field>` (declared once): `read` gives its
   * values from the node's resolved rule at run time.
   */
  param(node: Node, field: string, dims: number[], read: (r: ResolvedRule) => readonly number[]): string {
    const name = `p${node.id}_${field}`;
    if (this.params.some((p) => p.name === name)) return name;
    this.g.input(name, dims);
    this.params.push(paramInput(name, dims, node, read));
    return name;
  }

  /**
   * An If branch built by `build`: the layer products it emits stay inside it (the memo is restored),
   * those of the enclosing scopes are shared.
   */
  branch(build: () => string[], dims: ((number | string)[] | undefined)[]): Subgraph {
    const saved = new Map(this.products);
    const savedBiased = new Map(this.biasedProducts);
    try {
      return this.g.branch(build, dims);
    } finally {
      this.products.clear();
      for (const [k, v] of saved) this.products.set(k, v);
      this.biasedProducts.clear();
      for (const [k, v] of savedBiased) this.biasedProducts.set(k, v);
    }
  }

  /** IR value of rank 3 -> NCHW in the compiled graph. */
  isMap(id: number): boolean {
    return this.graph.nodes[id].shape.length === 3;
  }

  /** The compiled shape of node id's value with batch n. */
  dims(id: number, n: number | string = this.batch): (number | string)[] {
    const s = this.graph.nodes[id].shape;
    return s.length === 3 ? [n, s[2], s[0], s[1]] : [n, ...s];
  }

  linear(node: Node): OnnxLinear {
    const l = this.linearOf(node.op);
    if (!l) throw new Error(`op ${node.op} has no ONNX LinearOp`);
    return l;
  }

  /**
   * The layer's kernel variant: w an initializer, the others derived from it in the main graph, which
   * onnxruntime folds into constants when it creates the session — the model then carries the weights
   * once (ResNet-50: 100 MB instead of 190 MB to build, write and parse). With `arrayKernels`, every
   * variant is an initializer of an array made here instead (`arrayKernel`).
   */
  kernel(node: Node, v: KernelVariant): string {
    const key = `${node.id}:${v}`;
    let name = this.kernels.get(key);
    if (!name) {
      if (this.arrayKernels) name = this.arrayKernel(node, v);
      else if (v === 'w') {
        const l = this.linear(node);
        if (l.weightInGraph) {
          const w = this.g.atRoot(() => l.weightInGraph!(this, node));
          name = w.name;
          this.dimsOf.set(node.id, w.dims);
        } else {
          const w = l.weight(this, node);
          name = this.g.weight(w.data, w.dims, `w_${node.id}`);
          this.dimsOf.set(node.id, w.dims);
        }
      } else {
        const w = this.kernel(node, 'w');
        name = this.g.atRoot(() => {
          switch (v) {
            case 'w+': return this.relu(w);
            case 'w-': return this.negPart(w);
            case 'w2': return this.mul(w, w);
            default: return this.g.op('Expand', [this.g.scalar(1), this.g.ints(this.kernelDims(node))]);
          }
        });
      }
      this.kernels.set(key, name);
    }
    return name;
  }

  /**
   * Kernel variant v as an initializer of an array made once per weight array (`derivedKernel`), written
   * into the model only if a node reads it (`lazyWeight`: a backward-only graph may read a variant only
   * in its flipped layout, ops/conv2d.ts).
   */
  private arrayKernel(node: Node, v: KernelVariant): string {
    const w = this.linear(node).weight(this, node);
    this.dimsOf.set(node.id, w.dims);
    const source = w.data;
    const name = this.derivedArray(node, v, w.dims, 'w', variantMaker(source, v));
    this.arrays.set(name, { source, variant: v });
    return name;
  }

  /**
   * An array kernel (variant v of the layer's weight, in some layout): an initializer written only if a
   * node reads it, or with `choiceReads` for a variant other than w a graph input `<prefix><id>_<variant>`
   * fed while the layer's rule reads it. `make` must not hold the Emitter.
   */
  derivedArray(node: Node, v: KernelVariant, dims: number[], prefix: string, make: () => Float32Array): string {
    const reads = this.choiceReads;
    if (!reads || v === 'w') return this.g.lazyWeight(make, dims, `${prefix}_${node.id}`);
    const name = this.madeInput(`${prefix}${node.id}_${VARIANT_TAG[v]}`, dims, (n) => fedKernelParam(n, dims, node, reads, make), true);
    reads.track(node.id, name);
    return name;
  }

  /** How a kernel `kernel` made as an array derives from its layer's weight array. */
  kernelArray(name: string): ArrayKernel | undefined {
    return this.arrays.get(name);
  }

  /** The dims of the layer's kernel in the compiled layout. */
  kernelDims(node: Node): number[] {
    this.kernel(node, 'w');
    return this.dimsOf.get(node.id)!;
  }

  bias(node: Node, v: BiasVariant): string | undefined {
    const name = this.plainBias(node, v);
    if (!name || !this.biasSwitch) return name;
    const key = `${node.id}:${v}`;
    let switched = this.kernels.get(`${key}:switched`);
    if (!switched) {
      const on = this.param(node, 'bias', [1], readBiasOn);
      switched = this.g.atRoot(() => this.mul(name!, on));
      this.kernels.set(`${key}:switched`, switched);
    }
    return switched;
  }

  /** The layer's bias variant as stored, whether or not the universal graph switches it. */
  plainBias(node: Node, v: BiasVariant = 'b'): string | undefined {
    const key = `${node.id}:${v}`;
    let name = this.kernels.get(key);
    if (!name) {
      const b = this.linear(node).bias(this, node);
      if (!b) return undefined;
      name = this.g.weight(v === 'b' ? b.data : deriveVariant(b.data, v), b.dims, `b_${node.id}`);
      this.kernels.set(key, name);
    }
    return name;
  }

  /**
   * The layer applied to x with a kernel variant, plus b. The product without bias is emitted once per
   * (layer, x, variant): a rule's z by w on the forward's own input is the forward's node, not a second conv.
   */
  forward(node: Node, x: string, v: KernelVariant, b?: string): string {
    const key = `${node.id}:${v}:${x}`;
    let y = this.products.get(key);
    const linear = this.linear(node);
    const made = this.biasedProducts.get(key);
    if (!y && b && made?.b === b) return made.z;
    if (!y && b && !made && v === 'w' && linear.forwardBiased && !this.productOf) {
      // the bias inside the product (Conv's B, Gemm's C): no value without it is kept for the backward,
      // which derives one from this when it asks (`biasedProducts`); another bias (the universal graph's
      // switched one) is added to that, not a second product
      const z = linear.forwardBiased(this, node, x, this.kernel(node, v), b);
      this.biasedProducts.set(key, { z, b });
      return z;
    }
    if (!y) {
      y = made ? this.sub(made.z, made.b) : this.productOf?.(node, x, v) ?? linear.forward(this, node, x, this.kernel(node, v));
      this.products.set(key, y);
    }
    return b ? this.add(y, b) : y;
  }

  /** The positive or negative part of a weighted layer's input a, known as such to `productOf`. */
  inputPart(node: Node, a: string, part: 'pos' | 'neg'): string {
    const v = part === 'pos' ? this.relu(a) : this.negPart(a);
    this.parts.set(v, { id: node.id, part });
    return v;
  }

  /** Which part of node's input x is, if `inputPart` made it. */
  partOf(node: Node, x: string): 'pos' | 'neg' | undefined {
    const p = this.parts.get(x);
    return p?.id === node.id ? p.part : undefined;
  }

  transposed(node: Node, s: string, v: KernelVariant): string {
    return this.linear(node).transposed(this, node, s, this.kernel(node, v));
  }

  /** The transpose by w + scale·w⁺ applied to s (the silent γ rule's (W + γW⁺)ᵀs): one product. */
  transposedMixed(node: Node, s: string, scale: string, read?: (r: ResolvedRule) => number | undefined): string {
    return this.linear(node).transposed(this, node, s, { w: this.kernel(node, 'w'), scale, read });
  }

  /** A mixed kernel in a product's layout `form` as a graph input `mk<id>_<form>`, unless `unfolded`. */
  mixedKernelInput(node: Node, k: MixedKernel, form: string, dims: number[], make: MixedKernelMaker): string | undefined {
    if (this.unfolded || !k.read) return undefined;
    const read = k.read;
    return this.madeInput(`mk${node.id}_${form}`, dims, (name) => mixedKernelParam(name, dims, node, form, read, make));
  }

  /**
   * z^B's conv(L, w⁺) (`low`) or conv(H, w⁻) (`high`) at a conv that reads the bound images as given: a
   * graph input `zb<id>_<which>` made in JS per bound values (ops/boundConv.ts) instead of a convolution
   * in every run; `read` gives the layer's per-channel bound under a rule, undefined when not z^B.
   */
  boundProduct(node: Node, which: 'low' | 'high', read: (r: ResolvedRule) => number[] | undefined): string {
    const dims = this.dims(node.id, 1) as number[];
    return this.madeInput(`zb${node.id}_${which}`, dims, (name) => boundProductParam(name, dims, this.graph, node, which, read));
  }

  /**
   * A graph input made in JS per run (`madeParam`), declared once; its dims are symbolic (it may be fed a
   * stand-in). `lazy`: written into the model only if a node reads it.
   */
  private madeInput(name: string, dims: number[], param: (name: string) => ParamInput, lazy = false): string {
    if (this.params.some((p) => p.name === name)) return name;
    this.g.input(name, dims.map((_, i) => `${name}_${i}`), 'float', lazy);
    this.params.push(param(name));
    return name;
  }

  // elementwise helpers
  add(a: string, b: string): string { return this.g.op('Add', [a, b]); }
  sub(a: string, b: string): string { return this.g.op('Sub', [a, b]); }
  mul(a: string, b: string): string { return this.g.op('Mul', [a, b]); }
  div(a: string, b: string): string { return this.g.op('Div', [a, b]); }
  relu(a: string): string { return this.g.op('Relu', [a]); }
  /** min(a, 0) */
  negPart(a: string): string { return this.g.op('Min', [a, this.g.scalar(0)]); }
  /** 1 where a < 0, else 0 (float) */
  below0(a: string): string { return this.g.op('Cast', [this.g.op('Less', [a, this.g.scalar(0)])], { to: { i: 1 } }); }

  /** z + ε·sign(z) with sign(0) = +1 (the engine's stabilize); eps a number or a [1]-shaped tensor name. */
  /**
   * As (z + ε) − 2ε·[z < 0]: onnxruntime's Where with broadcast scalars costs ~3× this form on
   * ResNet-50's activations (measured), and the rule graphs stabilize every weighted layer.
   */
  stabilize(z: string, eps: number | string = STABILIZER): string {
    const twice = typeof eps === 'number' ? this.g.scalar(2 * eps) : this.mul(eps, this.g.scalar(2));
    return this.sub(this.add(z, typeof eps === 'number' ? this.g.scalar(eps) : eps), this.mul(this.below0(z), twice));
  }

  /**
   * Sum of all elements, a scalar: one node, no Reshape to [1] before it (with the Concat of all sums gone,
   * ResNet-50's CLI graph 2,915 → ~2,470 nodes and its session creation ~200 → ~150 ms, measured).
   */
  sum(t: string): string {
    return this.g.op('ReduceSum', [t], { keepdims: { i: 0 } }, 'sum');
  }

  /**
   * Σ |t| as a scalar: Abs, then the ReduceSum of `sum`. onnxruntime's ReduceL1 has no fast path (ResNet-50's
   * 107 of them: warm epsilon-gamma-box 330–381 ms with them, 292–294 ms this way, measured alternately).
   */
  absSum(t: string): string {
    return this.sum(this.abs(t));
  }

  /**
   * |t|, one node per value of the main graph: the table's Σ|R| and the pattern methods' rescaling both
   * read it, and onnxruntime's one-run session has no common-subexpression pass to merge two.
   */
  abs(t: string): string {
    if (!this.g.inRoot) return this.g.op('Abs', [t]);
    let a = this.absOf.get(t);
    if (!a) this.absOf.set(t, (a = this.g.op('Abs', [t])));
    return a;
  }

  private readonly absOf = new Map<string, string>();

  /** Node id's value in IR order ([N, ...shape]; maps NHWC) and back: the ops on tensors of any rank compute there. */
  toIr(id: number, v: string): string { return this.isMap(id) ? this.toNhwc(v) : v; }
  fromIr(id: number, v: string): string { return this.isMap(id) ? this.toNchw(v) : v; }

  /** NCHW <-> NHWC for rank-4 values. */
  toNchw(x: string): string { return this.g.op('Transpose', [x], { perm: { ints: [0, 3, 1, 2] } }); }
  toNhwc(x: string): string { return this.g.op('Transpose', [x], { perm: { ints: [0, 2, 3, 1] } }); }

  /** A constant in the compiled layout from an IR-layout (HWC) array of shape [1, ...shape]. */
  constantOf(shape: number[], hwc: Float32Array): string {
    if (shape.length !== 3) return this.g.floats(hwc, [1, ...shape]);
    const [h, w, c] = shape;
    const out = new Float32Array(hwc.length);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[(k * h + y) * w + x] = hwc[(y * w + x) * c + k];
    return this.g.floats(out, [1, c, h, w]);
  }
}
