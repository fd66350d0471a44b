/**
 * An ONNX graph under construction: nodes, float/int64 initializers, graph inputs and outputs, and its
 * serialization to a ModelProto (opset 17). Names are generated; constants are shared by content.
 */
import { ProtoWriter } from './protoWriter';

export type Attr = { i: number } | { f: number } | { ints: readonly number[] } | { floats: readonly number[] } | { s: string } | { g: Subgraph };

/** A branch of an If: its nodes (which may read any value of the enclosing scopes) and outputs. */
export interface Subgraph {
  nodes: OnnxNodeDef[];
  outputs: ValueInfo[];
}

export interface OnnxNodeDef {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
}

interface Initializer {
  name: string;
  dims: number[];
  float?: Float32Array;
  int64?: readonly number[];
  /** gather indices (`indices`) */
  int32?: Int32Array;
  /** gives the array when the model is written, only if a node reads it (`lazyWeight`) */
  make?: () => Float32Array;
}

interface ValueInfo {
  name: string;
  elem: 'float' | 'int64';
  /** an input written into the model only if a node reads it (`input`'s `lazy`) */
  lazy?: boolean;
  /** numbers, or a symbolic name for a dynamic dimension; none: any shape (a sum's rank follows its tensor's) */
  dims?: (number | string)[];
}

const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;
export const OPSET = 17;
/** float constants up to this many values are shared by content (`floats`) */
const SHARED_FLOATS = 1024;
/** weights from this size on are external data when `externalWeights` is set */
const EXTERNAL_BYTES = 2 ** 16;

export class OnnxGraph {
  private readonly root: OnnxNodeDef[] = [];
  /** where new nodes go: the main graph's nodes, or a branch's while it is built */
  private nodes: OnnxNodeDef[] = this.root;
  private readonly inits: Initializer[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly constCache = new Map<string, string>();
  private readonly indexNames = new Map<Int32Array, string>();
  /** values made by nodes of the main graph, and those written under an output's name (`output`) */
  private readonly rootMade = new Set<string>();
  private readonly renamed = new Map<string, string>();
  /** the inputs `model()` wrote */
  private written?: Set<string>;
  private count = 0;
  /** bytes of float initializers (for memory accounting) */
  floatBytes = 0;
  /**
   * Write weights (float initializers of at least EXTERNAL_BYTES) as external data, each its own
   * in-memory "file" (`external`, handed to onnxruntime with the model): the model's bytes carry no
   * copy of them and onnxruntime parses no protobuf copy of them.
   */
  externalWeights = false;
  /** after `model()` with externalWeights: the in-memory files the model refers to */
  readonly external: { path: string; data: Uint8Array }[] = [];
  /**
   * Write the nodes in the order onnxruntime should run them (`leavesFirst`), for a model only
   * onnxruntime reads: the list is then not topologically sorted, as ONNX files otherwise are.
   */
  runOrder = false;

  fresh(prefix: string): string {
    return `${prefix}_${this.count++}`;
  }

  /** Adds a node; returns its output names (count = nOut). */
  opN(op: string, inputs: string[], attrs: Record<string, Attr>, nOut: number, prefix = op): string[] {
    const outputs = Array.from({ length: nOut }, () => this.fresh(prefix));
    this.nodes.push({ op, inputs, outputs, attrs });
    if (this.inRoot) for (const o of outputs) this.rootMade.add(o);
    return outputs;
  }

  op(op: string, inputs: string[], attrs: Record<string, Attr> = {}, prefix = op): string {
    return this.opN(op, inputs, attrs, 1, prefix)[0];
  }

  /** Whether new nodes go to the main graph (not to a branch being built). */
  get inRoot(): boolean {
    return this.nodes === this.root;
  }

  /** A float initializer (not shared: weights). The array is referenced, not copied, until serialization. */
  weight(data: Float32Array, dims: number[], prefix = 'w'): string {
    const name = this.fresh(prefix);
    this.inits.push({ name, dims, float: data });
    this.floatBytes += data.byteLength;
    return name;
  }

  /**
   * A float initializer whose array is asked for only when the model is written, and only if a node of
   * the finished graph reads it (a kernel variant may be read in its flipped layout alone).
   */
  lazyWeight(make: () => Float32Array, dims: number[], prefix = 'w'): string {
    const name = this.fresh(prefix);
    this.inits.push({ name, dims, make });
    return name;
  }

  /** A float constant, shared by content when it has at most SHARED_FLOATS values. */
  floats(values: readonly number[] | Float32Array, dims: number[] = [values.length]): string {
    // a large one (a constant tensor of the model: Swin-T's attention masks) is not keyed by its text
    if (values.length > SHARED_FLOATS) {
      const name = this.fresh('c');
      // referenced as weights are, not copied (the graph's constants are never written)
      this.inits.push({ name, dims, float: values instanceof Float32Array ? values : Float32Array.from(values) });
      return name;
    }
    const key = `f:${dims.join('x')}:${Array.from(values).join(',')}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.fresh('c');
      this.inits.push({ name, dims, float: Float32Array.from(values) });
      this.constCache.set(key, name);
    }
    return name;
  }

  /**
   * Gather / scatter indices, int32, named once per array (a select's forward and backward read one
   * map). A select's index map is as long as its output (Swin-T's cyclic shifts and windows: ~50 of 300 k
   * entries each): as int64 shared by content their keys, BigInt conversion and protobuf copies took ~2 s
   * of its 3.4 s compile (measured); these go as raw bytes, and as external data where weights do.
   */
  indices(values: Int32Array, dims: number[] = [values.length]): string {
    let name = this.indexNames.get(values);
    if (!name) {
      name = this.fresh('ix');
      this.inits.push({ name, dims, int32: values });
      this.indexNames.set(values, name);
    }
    return name;
  }

  scalar(v: number): string {
    return this.floats([v], []);
  }

  /** An int64 1-D constant shared by content (shapes, axes, pads). */
  ints(values: readonly number[]): string {
    const key = `i:${values.join(',')}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.fresh('i');
      this.inits.push({ name, dims: [values.length], int64: values.slice() });
      this.constCache.set(key, name);
    }
    return name;
  }

  /** A graph input; `lazy`: written into the model only if a node reads it (`hasInput` says, once written). */
  input(name: string, dims: (number | string)[], elem: 'float' | 'int64' = 'float', lazy = false): string {
    this.inputs.push({ name, dims, elem, lazy });
    return name;
  }

  /** Whether the model as written (or, before `model()`, as declared) has input `name`. */
  hasInput(name: string): boolean {
    return this.written ? this.written.has(name) : this.inputs.some((v) => v.name === name);
  }

  /**
   * Declares `value` a graph output under `name`. A value a node of the main graph makes is renamed
   * `name` when the model is written; another (a graph input, an initializer, a value already output
   * under another name) goes through an Identity, which onnxruntime runs as a copy in every run, fetched
   * or not.
   */
  output(name: string, value: string, dims: (number | string)[] | undefined, elem: 'float' | 'int64' = 'float'): void {
    if (value !== name) {
      if (this.rootMade.has(value) && !this.renamed.has(value)) this.renamed.set(value, name);
      else this.nodes.push({ op: 'Identity', inputs: [value], outputs: [name], attrs: {} });
    }
    this.outputs.push({ name, dims, elem });
  }

  /**
   * An If branch: nodes emitted by `build` go into it; its outputs are build's values. A value made in the
   * branch is its output as it is; one of an enclosing scope (or returned twice) goes through an Identity,
   * which copies it: the universal graph's nested rule choices copied each layer's relevance once per
   * level (ResNet-50, α-β: 231 copies a run).
   */
  branch(build: () => string[], dims: ((number | string)[] | undefined)[]): Subgraph {
    const saved = this.nodes;
    const nodes: OnnxNodeDef[] = [];
    this.nodes = nodes;
    try {
      const values = build();
      const made = new Set(nodes.flatMap((n) => n.outputs));
      const used = new Set<string>();
      const outputs = values.map((v, i) => {
        let name = v;
        if (!made.has(v) || used.has(v)) {
          name = this.fresh('branch_out');
          nodes.push({ op: 'Identity', inputs: [v], outputs: [name], attrs: {} });
        }
        used.add(name);
        return { name, dims: dims[i], elem: 'float' as const };
      });
      return { nodes, outputs };
    } finally {
      this.nodes = saved;
    }
  }

  /** Emits into the main graph while a branch is built (values every branch may share). */
  atRoot<T>(build: () => T): T {
    const saved = this.nodes;
    this.nodes = this.root;
    try {
      return build();
    } finally {
      this.nodes = saved;
    }
  }

  get nodeCount(): number {
    let n = 0;
    const count = (nodes: OnnxNodeDef[]): void => {
      for (const d of nodes) {
        n++;
        for (const a of Object.values(d.attrs)) if ('g' in a) count(a.g.nodes);
      }
    };
    count(this.root);
    return n;
  }

  /** Every value a node of the graph or of a branch reads, but for the branches in `skip` (and theirs). */
  readValues(skip?: ReadonlySet<Subgraph>): Set<string> {
    return valuesRead(this.root, skip);
  }

  serialize(graphName = 'relevance-lens'): Uint8Array {
    return this.model(graphName).finish();
  }

  /** The ModelProto, unjoined (ProtoWriter.writeFile streams it to disk). */
  model(graphName = 'relevance-lens'): ProtoWriter {
    const g = new ProtoWriter();
    const rename = (v: string): string => this.renamed.get(v) ?? v;
    const read = this.readValues();
    for (const n of this.runOrder ? leavesFirst(this.root, read) : this.root) g.message(1, encodeNode(n, rename));
    g.string(2, graphName);
    for (const t of this.inits) {
      if (t.make) {
        if (!read.has(t.name)) continue;
        t.float = t.make();
        t.make = undefined;
        this.floatBytes += t.float.byteLength;
      }
      const raw = t.float ?? t.int32;
      if (this.externalWeights && raw && raw.byteLength >= EXTERNAL_BYTES) {
        const data = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
        const path = `${t.name}.bin`;
        this.external.push({ path, data });
        g.message(5, encodeExternal(t, path, data.length));
      } else g.message(5, encodeTensor(t));
    }
    this.written = new Set();
    for (const v of this.inputs) {
      if (v.lazy && !read.has(v.name)) continue;
      this.written.add(v.name);
      g.message(11, encodeValueInfo(v));
    }
    for (const v of this.outputs) g.message(12, encodeValueInfo(v));
    const m = new ProtoWriter();
    m.int(1, 8); // IR version 8
    m.string(2, 'relevance-lens');
    m.message(7, g);
    m.message(8, new ProtoWriter().string(1, '').int(2, OPSET));
    return m;
  }
}

/**
 * The nodes in the order that makes onnxruntime run each layer's conservation sums as soon as the backward
 * pass reaches the layer: those nobody reads (the leaves: the sums, the outputs) first, the first made
 * last, then the others as made. onnxruntime runs a graph in the post-order of a depth-first walk from its
 * leaves, the highest-indexed first. In the order made, the input layer's sums led that walk, which ran the
 * whole backward pass before any other layer's sums, so every layer's relevance and its rule's products
 * were held until the end. The list is no longer topologically sorted, which onnxruntime does not need (it
 * sorts itself); with the leaves moved to the end instead, sorted, its graph optimisers took 2-3× as long
 * (Swin-T: session 0.77 -> 1.6 s). Measured (CLI): ResNet-50 epsilon-gamma-box onnxruntime's peak in use
 * 278 -> 145 MB, peak RSS 545 -> 383 MB, run 229-259 -> 201-207 ms; EfficientNet-B0 419 -> 280 MB;
 * ViT-B/16 1324 -> 882 MB, Swin-T 1160 -> 759 MB.
 */
function leavesFirst(nodes: readonly OnnxNodeDef[], read: ReadonlySet<string>): OnnxNodeDef[] {
  const inner: OnnxNodeDef[] = [];
  const leaves: OnnxNodeDef[] = [];
  for (const n of nodes) (n.outputs.some((o) => read.has(o)) ? inner : leaves).push(n);
  return leaves.reverse().concat(inner);
}

/** Every value the nodes (and their branches, but for those in `skip`) read. */
export function valuesRead(nodes: readonly OnnxNodeDef[], skip?: ReadonlySet<Subgraph>): Set<string> {
  const read = new Set<string>();
  const visit = (ns: readonly OnnxNodeDef[]): void => {
    for (const d of ns) {
      for (const i of d.inputs) read.add(i);
      for (const a of Object.values(d.attrs)) if ('g' in a && !skip?.has(a.g)) visit(a.g.nodes);
    }
  };
  visit(nodes);
  return read;
}

function encodeNode(n: OnnxNodeDef, rename: (v: string) => string): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, rename(i));
  for (const o of n.outputs) w.string(2, rename(o));
  w.string(4, n.op);
  for (const [name, a] of Object.entries(n.attrs)) w.message(5, encodeAttr(name, a, rename));
  return w;
}

function encodeAttr(name: string, a: Attr, rename: (v: string) => string): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if ('i' in a) w.int(3, a.i).int(20, 2);
  else if ('f' in a) w.float(2, a.f).int(20, 1);
  else if ('ints' in a) w.packedInts(8, a.ints).int(20, 7);
  else if ('floats' in a) {
    for (const f of a.floats) w.float(7, f);
    w.int(20, 6);
  } else if ('g' in a) w.message(6, encodeSubgraph(a.g, name, rename)).int(20, 5);
  else w.string(4, a.s).int(20, 3);
  return w;
}

function encodeSubgraph(sg: Subgraph, name: string, rename: (v: string) => string): ProtoWriter {
  const g = new ProtoWriter();
  for (const n of sg.nodes) g.message(1, encodeNode(n, rename));
  g.string(2, name);
  for (const v of sg.outputs) g.message(12, encodeValueInfo(v));
  return g;
}

/** The TensorProto data type of an initializer. */
function elemType(t: Initializer): number {
  return t.float ? FLOAT : t.int32 ? INT32 : INT64;
}

function encodeTensor(t: Initializer): ProtoWriter {
  const w = new ProtoWriter();
  w.packedInts(1, t.dims);
  w.int(2, elemType(t));
  w.string(8, t.name);
  const raw = t.float ?? t.int32;
  if (raw) w.bytesField(9, new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
  else {
    const b = new BigInt64Array(t.int64!.map((v) => BigInt(v)));
    w.bytesField(9, new Uint8Array(b.buffer));
  }
  return w;
}

/** An initializer whose data is the external file `path` (TensorProto external_data, data_location EXTERNAL). */
function encodeExternal(t: Initializer, path: string, length: number): ProtoWriter {
  const w = new ProtoWriter();
  w.packedInts(1, t.dims);
  w.int(2, elemType(t));
  w.string(8, t.name);
  const entry = (k: string, v: string) => new ProtoWriter().string(1, k).string(2, v);
  w.message(13, entry('location', path));
  w.message(13, entry('offset', '0'));
  w.message(13, entry('length', String(length)));
  w.int(14, 1);
  return w;
}

function encodeValueInfo(v: ValueInfo): ProtoWriter {
  const tensor = new ProtoWriter().int(1, v.elem === 'float' ? FLOAT : INT64);
  if (v.dims) {
    const shape = new ProtoWriter();
    for (const d of v.dims) shape.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
    tensor.message(2, shape);
  }
  const type = new ProtoWriter().message(1, tensor);
  return new ProtoWriter().string(1, v.name).message(2, type);
}
