/**
 * TF.js graph models (model.json with format "graph-model": a TensorFlow GraphDef as JSON plus a
 * weights manifest). The converter's fused ops are unfused into IR nodes: _FusedConv2D /
 * FusedDepthwiseConv2dNative / _FusedMatMul with BiasAdd, FusedBatchNorm and an activation. Constant
 * arithmetic on the image path (x·s − t preprocessing, bias adds) becomes per-channel affine nodes.
 */
import * as path from 'path';
import type { ActivationFn, ExplicitPad, Graph, Padding } from '../graph/ir';
import { GraphBuilder } from '../graph/builder';
import { LensError } from '../errors';
import type { LoadOptions, ModelLoader } from './loader';
import { readManifestWeights, type ManifestGroup } from './tfjsWeights';
import { readJsonFile } from './tfjsLayers';
import {
  addAffine, addBatchNorm, addBiasOrAffine, broadcastConst, channelsOf, concatConst, constOf, perChannel, sliceConst, type ConstTensor,
} from './graphOps';
import { addGatingMul, inputSizeFor } from './loaderUtil';

interface TfAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { s?: string[]; i?: (string | number)[]; f?: number[] };
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  tensor?: unknown;
}

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

interface GraphModelJson {
  format?: string;
  modelTopology?: { node?: TfNode[]; library?: { function?: unknown[] } };
  weightsManifest?: ManifestGroup[];
  userDefinedMetadata?: { signature?: { outputs?: Record<string, { name?: string }> } };
  signature?: { outputs?: Record<string, { name?: string }> };
}

interface TensorVal {
  kind: 'tensor';
  id: number;
}
interface ConstVal {
  kind: 'const';
  c: ConstTensor;
}
type Val = TensorVal | ConstVal;

const ACT: Record<string, ActivationFn> = {
  Relu: 'relu', Relu6: 'relu6', Elu: 'elu', LeakyRelu: 'leakyRelu', Sigmoid: 'sigmoid', Tanh: 'tanh', Softmax: 'softmax',
};

/** FusedBatchNorm's constants after x, by their TF names. */
const BN_INPUTS = ['scale', 'offset', 'mean', 'variance'];

const IDENTITY_OPS = new Set(['Identity', 'StopGradient', 'Snapshot', 'PreventGradient', 'CheckNumerics', 'EnsureShape']);

const SUPPORTED = [
  'Placeholder', 'Const', 'Identity', 'Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative',
  'MatMul', '_FusedMatMul', 'BiasAdd', 'Add', 'AddV2', 'Sub', 'Mul', 'RealDiv', 'Mean', 'MaxPool', 'AvgPool', 'Relu', 'Relu6',
  'Elu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Reshape', 'Squeeze', 'ConcatV2', 'Pad', 'PadV2', 'Softmax', 'FusedBatchNorm',
  'FusedBatchNormV3',
];

function decodeB64(s: string | undefined): string {
  return s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8');
}

function listInts(a: TfAttr | undefined): number[] {
  return (a?.list?.i ?? []).map(Number);
}

/** "name:1" / "^name" -> node name and output index (control inputs are dropped by the caller). */
function parseRef(ref: string): [string, number] {
  const m = /^(.*?)(?::(\d+))?$/.exec(ref)!;
  return [m[1], m[2] ? Number(m[2]) : 0];
}

/** Drops TF's function-call wrappers so names read like layer names. */
function displayName(name: string): string {
  const s = name.replace(/(^|\/)(Stateful)?PartitionedCall(_\d+)?(?=\/)/g, '').replace(/^\/+/, '');
  return s || name;
}

class TfGraphConverter {
  private readonly b: GraphBuilder;
  private readonly vals = new Map<string, Val>();
  private readonly uses = new Map<string, number>();
  private readonly aliased = new Set<number>();
  private nodes = new Map<string, TfNode>();

  constructor(private readonly file: string, private readonly weights: Map<string, { shape: number[]; data: Float32Array }>, private readonly opts: LoadOptions) {
    this.b = new GraphBuilder(file);
  }

  private fail(n: TfNode | string, msg: string, code: 'bad-model' | 'unsupported-op' | 'missing-weights' = 'unsupported-op'): never {
    const label = typeof n === 'string' ? n : `node '${n.name}' (${n.op})`;
    throw new LensError(code, `${label}: ${msg}`, this.file);
  }

  convert(json: GraphModelJson): Graph {
    const list = json.modelTopology?.node;
    if (!Array.isArray(list) || list.length === 0) throw new LensError('bad-model', 'modelTopology has no nodes (is this a TF.js graph model?)', this.file);
    if ((json.modelTopology?.library?.function ?? []).length > 0) {
      // control flow functions (while/if) are not part of image classifiers we support
      const used = list.some((n) => /^(While|StatelessWhile|If|StatelessIf|PartitionedCall|StatefulPartitionedCall)$/.test(n.op));
      if (used) throw new LensError('unsupported-op', 'the graph uses control-flow functions (While/If), which are not supported', this.file);
    }
    for (const n of list) this.nodes.set(n.name, n);
    const placeholders = list.filter((n) => n.op === 'Placeholder');
    if (placeholders.length !== 1) throw new LensError('unsupported-op', `model has ${placeholders.length} inputs; one image input is supported`, this.file);
    const outName = this.outputName(json, list);
    // topological order of the nodes the output depends on
    const order: TfNode[] = [];
    const state = new Map<string, number>();
    const visit = (name: string): void => {
      const st = state.get(name);
      if (st === 2) return;
      if (st === 1) throw new LensError('bad-model', `the graph has a cycle at '${name}'`, this.file);
      const n = this.nodes.get(name);
      if (!n) throw new LensError('bad-model', `node '${name}' is referenced but not defined`, this.file);
      state.set(name, 1);
      for (const ref of n.input ?? []) {
        if (ref.startsWith('^')) continue;
        const [src] = parseRef(ref);
        this.uses.set(ref.includes(':') ? ref : src, (this.uses.get(ref.includes(':') ? ref : src) ?? 0) + 1);
        visit(src);
      }
      state.set(name, 2);
      order.push(n);
    };
    visit(outName);
    for (const n of order) this.node(n);
    const out = this.vals.get(outName);
    if (!out || out.kind !== 'tensor') throw new LensError('unsupported-op', `output '${outName}' does not depend on the input`, this.file);
    if (this.b.nodes[out.id].shape.length !== 1) {
      throw new LensError('unsupported-op', `output '${outName}' has shape [${this.b.nodes[out.id].shape.join(', ')}]; a classifier output [classes] is needed`, this.file);
    }
    return this.b.build(path.basename(path.dirname(this.file)) || 'model', 'tfjs-graph', out.id);
  }

  private outputName(json: GraphModelJson, list: TfNode[]): string {
    const sig = json.signature?.outputs ?? json.userDefinedMetadata?.signature?.outputs;
    if (sig) {
      const names = Object.values(sig).map((o) => parseRef(o.name ?? '')[0]).filter((n) => this.nodes.has(n));
      if (names.length > 1) throw new LensError('unsupported-op', `model has ${names.length} outputs (${names.join(', ')}); one output is supported`, this.file);
      if (names.length === 1) return names[0];
    }
    const consumed = new Set<string>();
    for (const n of list) for (const r of n.input ?? []) consumed.add(parseRef(r.replace(/^\^/, ''))[0]);
    const sinks = list.filter((n) => !consumed.has(n.name) && n.op !== 'Const' && n.op !== 'NoOp' && n.op !== 'Placeholder');
    if (sinks.length !== 1) throw new LensError('unsupported-op', `cannot tell the output: ${sinks.length} unconsumed nodes (${sinks.slice(0, 5).map((s) => s.name).join(', ')})`, this.file);
    return sinks[0].name;
  }

  // ---------------------------------------------------------------- helpers

  private inputs(n: TfNode): string[] {
    return (n.input ?? []).filter((r) => !r.startsWith('^'));
  }

  private val(n: TfNode, k: number): Val {
    const ref = this.inputs(n)[k];
    if (ref === undefined) this.fail(n, `input ${k} is missing`, 'bad-model');
    const [src, idx] = parseRef(ref);
    const v = this.vals.get(idx === 0 ? src : `${src}:${idx}`) ?? (idx === 0 ? undefined : this.vals.get(src));
    if (!v) this.fail(n, `input '${ref}' was not computed`, 'bad-model');
    if (idx !== 0 && !this.vals.has(`${src}:${idx}`)) {
      const op = this.nodes.get(src)?.op;
      if (!op || !/^(FusedBatchNorm|FusedBatchNormV3|IdentityN)$/.test(op)) this.fail(n, `uses output ${idx} of '${src}', which is not supported`);
    }
    return v;
  }

  private tensorIn(n: TfNode, k: number): TensorVal {
    const v = this.val(n, k);
    if (v.kind !== 'tensor') this.fail(n, `input '${this.inputs(n)[k]}' must depend on the image input`);
    return v;
  }

  private constIn(n: TfNode, k: number, what = 'weights'): ConstTensor {
    const v = this.val(n, k);
    if (v.kind !== 'const') this.fail(n, `${what} '${this.inputs(n)[k]}' must be a constant, but it is computed from the input`);
    return v.c;
  }

  private usesOf(n: TfNode, k: number): number {
    const ref = this.inputs(n)[k];
    const [src, idx] = parseRef(ref);
    return this.uses.get(idx === 0 ? src : ref) ?? 0;
  }

  private set(n: TfNode, v: Val): void {
    this.vals.set(n.name, v);
  }

  private tensor(n: TfNode, id: number): void {
    this.set(n, { kind: 'tensor', id });
  }

  private shapeOf(v: TensorVal): number[] {
    return this.b.nodes[v.id].shape;
  }

  private str(n: TfNode, a: string): string | undefined {
    const v = n.attr?.[a]?.s;
    return v === undefined ? undefined : decodeB64(v);
  }

  private nhwc(n: TfNode): void {
    const f = this.str(n, 'data_format');
    if (f !== undefined && f !== 'NHWC') this.fail(n, `data format ${f} is not supported (NHWC only)`);
  }

  private hw(n: TfNode, a: string, dflt: [number, number]): [number, number] {
    const v = listInts(n.attr?.[a]);
    if (v.length === 0) return dflt;
    if (v.length !== 4 || v[0] !== 1 || v[3] !== 1) this.fail(n, `${a} [${v.join(', ')}] over the batch or channel axis is not supported`);
    return [v[1], v[2]];
  }

  private padding(n: TfNode): Padding {
    const p = this.str(n, 'padding') ?? 'VALID';
    if (p === 'SAME') return 'same';
    if (p === 'VALID') return 'valid';
    if (p === 'EXPLICIT') {
      const e = listInts(n.attr?.explicit_paddings);
      if (e.length !== 8 || e[0] || e[1] || e[6] || e[7]) this.fail(n, `explicit paddings [${e.join(', ')}] are not supported`);
      return [[e[2], e[3]], [e[4], e[5]]];
    }
    this.fail(n, `padding '${p}' is not supported`);
  }

  // ---------------------------------------------------------------- ops

  private node(n: TfNode): void {
    const ins = this.inputs(n);
    if (n.op === 'Const') return this.constant(n);
    if (n.op === 'Placeholder') return this.placeholder(n);
    if (n.op === 'NoOp') return;
    const vals = ins.map((_, k) => this.val(n, k));
    if (vals.length > 0 && vals.every((v) => v.kind === 'const')) return this.constNode(n, vals.map((v) => (v as ConstVal).c));
    if (IDENTITY_OPS.has(n.op) || n.op === 'IdentityN') {
      const v = this.tensorIn(n, 0);
      this.aliased.add(v.id);
      return this.set(n, v);
    }
    switch (n.op) {
      case 'Conv2D': case '_FusedConv2D': case 'DepthwiseConv2dNative': case 'FusedDepthwiseConv2dNative':
        return this.conv(n);
      case 'MatMul': case '_FusedMatMul': return this.matmul(n);
      case 'BiasAdd': case 'Add': case 'AddV2': case 'Sub': case 'Mul': case 'RealDiv': return this.arith(n);
      case 'Relu': case 'Relu6': case 'Elu': case 'LeakyRelu': case 'Sigmoid': case 'Tanh': case 'Softmax': {
        const x = this.tensorIn(n, 0);
        const id = this.b.add({ name: displayName(n.name), op: 'activation', inputs: [x.id], sourceClass: n.op, attrs: this.actAttrs(n, n.op) });
        return this.tensor(n, id);
      }
      case 'MaxPool': case 'AvgPool': return this.pool(n);
      case 'Mean': return this.mean(n);
      case 'Reshape': return this.reshape(n, Array.from(this.constIn(n, 1, 'shape').data));
      case 'Squeeze': return this.squeeze(n);
      case 'ConcatV2': return this.concat(n);
      case 'Pad': case 'PadV2': return this.pad(n);
      case 'FusedBatchNorm': case 'FusedBatchNormV3': return this.batchNorm(n);
      default:
        this.fail(n, `op '${n.op}' is not supported (supported: ${SUPPORTED.join(', ')})`);
    }
  }

  private actAttrs(n: TfNode, op: string): { activation: ActivationFn; alpha?: number } {
    const fn = ACT[op];
    if (!fn) this.fail(n, `fused activation '${op}' is not supported`);
    if (fn === 'leakyRelu') return { activation: fn, alpha: n.attr?.alpha?.f ?? n.attr?.leakyrelu_alpha?.f ?? 0.2 };
    return { activation: fn };
  }

  private constant(n: TfNode): void {
    const w = this.weights.get(n.name);
    if (!w) {
      const dims = (n.attr?.value?.tensor as { tensorShape?: { dim?: { size?: string }[] } } | undefined)?.tensorShape?.dim ?? [];
      const count = dims.reduce((a, d) => a * Number(d.size ?? 1), 1);
      const dtype = n.attr?.dtype?.type;
      if (count === 0 || dtype === 'DT_STRING') return this.set(n, { kind: 'const', c: constOf(dims.map((d) => Number(d.size ?? 1)), []) });
      this.fail(n, 'constant is missing from the weights manifest', 'missing-weights');
    }
    const dtype = n.attr?.dtype?.type;
    this.set(n, { kind: 'const', c: { dims: w.shape.slice(), data: Float64Array.from(w.data), dtype: dtype === 'DT_INT32' ? 'int' : 'float' } });
  }

  private placeholder(n: TfNode): void {
    const dims = (n.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size ?? -1));
    if (dims.length !== 4) this.fail(n, `input has rank ${dims.length}; an image input N×H×W×C is needed`);
    const c = dims[3];
    if (!(c > 0)) this.fail(n, 'input has no fixed channel count');
    const [h, w] = inputSizeFor(this.file, n.name, dims[1] > 0 ? dims[1] : '?', dims[2] > 0 ? dims[2] : '?', this.opts);
    const id = this.b.add({ name: n.name, op: 'input', inputs: [], shape: [h, w, c], sourceClass: 'Placeholder' });
    this.tensor(n, id);
  }

  private constNode(n: TfNode, c: ConstTensor[]): void {
    const out = (t: ConstTensor): void => this.set(n, { kind: 'const', c: t });
    switch (n.op) {
      case 'Identity': return out(c[0]);
      case 'Cast': return out(c[0]);
      case 'Add': case 'AddV2': case 'BiasAdd': return out(broadcastConst(c[0], c[1], (x, y) => x + y));
      case 'Sub': return out(broadcastConst(c[0], c[1], (x, y) => x - y));
      case 'Mul': return out(broadcastConst(c[0], c[1], (x, y) => x * y));
      case 'RealDiv': return out(broadcastConst(c[0], c[1], (x, y) => x / y));
      case 'Reshape': return out({ dims: Array.from(c[1].data), data: c[0].data, dtype: c[0].dtype });
      case 'Pack': return out(concatConst(c.map((t) => ({ ...t, dims: [1, ...t.dims] })), Number(n.attr?.axis?.i ?? 0)));
      case 'ConcatV2': return out(concatConst(c.slice(0, -1), c[c.length - 1].data[0]));
      case 'Prod': return out(constOf([], [Array.from(c[0].data).reduce((a, b) => a * b, 1)], c[0].dtype));
      case 'StridedSlice': {
        const [x, begin, end, st] = c;
        const bm = Number(n.attr?.begin_mask?.i ?? 0);
        const em = Number(n.attr?.end_mask?.i ?? 0);
        const sm = Number(n.attr?.shrink_axis_mask?.i ?? 0);
        if (Number(n.attr?.ellipsis_mask?.i ?? 0) || Number(n.attr?.new_axis_mask?.i ?? 0)) this.fail(n, 'strided slice masks are not supported');
        const axes = Array.from(begin.data, (_, i) => i);
        const s = sliceConst(x, axes.map((i) => (bm & (1 << i) ? (st.data[i] > 0 ? 0 : -1) : begin.data[i])),
          axes.map((i) => (em & (1 << i) ? (st.data[i] > 0 ? x.dims[i] : -x.dims[i] - 1) : sm & (1 << i) ? begin.data[i] + 1 : end.data[i])), axes, Array.from(st.data));
        return out({ ...s, dims: s.dims.filter((_, i) => !(sm & (1 << i))) });
      }
      default: this.fail(n, `op '${n.op}' on constants is not supported`);
    }
  }

  private conv(n: TfNode): void {
    this.nhwc(n);
    const x = this.tensorIn(n, 0);
    const w = this.constIn(n, 1);
    const depthwise = n.op.includes('Depthwise');
    if (w.dims.length !== 4) this.fail(n, `filter has shape [${w.dims.join(', ')}]`, 'bad-model');
    const strides = this.hw(n, 'strides', [1, 1]);
    const dilations = this.hw(n, 'dilations', [1, 1]);
    const padding = this.padding(n);
    const filterName = parseRef(this.inputs(n)[1])[0];
    const fused = (n.attr?.fused_ops?.list?.s ?? []).map(decodeB64);
    // the layer takes its weights' name (".../Conv2D_weights" -> ".../Conv2D"), the activation the node's
    const nodeName = displayName(n.name);
    const linName = /_weights$/.test(filterName) ? displayName(filterName.replace(/_weights$/, '')) : nodeName;
    const act = fused.find((f) => ACT[f]);
    const actName = act && linName === nodeName ? `${nodeName}/${ACT[act]}` : nodeName;
    const id = this.b.add({
      name: linName, op: depthwise ? 'depthwiseConv2d' : 'conv2d', inputs: [x.id], sourceClass: n.op,
      params: { kernel: { shape: w.dims.slice(), data: Float32Array.from(w.data) } },
      attrs: { conv: { strides, padding, dilations } },
    });
    this.tensor(n, this.fusedTail(n, id, fused, 2, actName));
  }

  /** BiasAdd / FusedBatchNorm / Add then an activation, as the converter fuses them. */
  private fusedTail(n: TfNode, id: number, fused: string[], argStart: number, actName: string): number {
    let k = argStart;
    for (const f of fused) {
      if (f === 'BiasAdd') {
        const bias = this.constIn(n, k++, 'bias');
        const C = channelsOf(this.b, id);
        if (bias.data.length !== C) this.fail(n, `bias has ${bias.data.length} values for ${C} channels`, 'bad-model');
        this.b.nodes[id].params.bias = { shape: [C], data: Float32Array.from(bias.data) };
      } else if (f === 'FusedBatchNorm') {
        const consts = BN_INPUTS.map((what) => [what, this.constIn(n, k++, what)] as const);
        id = addBatchNorm(this.b, `${actName}/bn`, id, consts, n.attr?.epsilon?.f ?? 1e-3, n.op, (m) => this.fail(n, m, 'bad-model'));
      } else if (f === 'Add') {
        const other = this.tensorIn(n, k++);
        id = this.b.add({ name: `${actName}/add`, op: 'add', inputs: [id, other.id], sourceClass: n.op });
      } else if (ACT[f]) {
        id = this.b.add({ name: actName, op: 'activation', inputs: [id], sourceClass: n.op, attrs: this.actAttrs(n, f) });
      } else {
        this.fail(n, `fused op '${f}' is not supported`);
      }
    }
    return id;
  }

  private matmul(n: TfNode): void {
    const x = this.tensorIn(n, 0);
    if (this.shapeOf(x).length !== 1) this.fail(n, `expects a flat input, got [${this.shapeOf(x).join(', ')}]`);
    if (n.attr?.transpose_a?.b) this.fail(n, 'transpose_a is not supported');
    const w = this.constIn(n, 1);
    if (w.dims.length !== 2) this.fail(n, `weight has shape [${w.dims.join(', ')}]`, 'bad-model');
    let kernel = Float32Array.from(w.data);
    let [K, N] = w.dims;
    if (n.attr?.transpose_b?.b) {
      [K, N] = [w.dims[1], w.dims[0]];
      const t = new Float32Array(K * N);
      for (let i = 0; i < K; i++) for (let j = 0; j < N; j++) t[i * N + j] = w.data[j * K + i];
      kernel = t;
    }
    const fused = (n.attr?.fused_ops?.list?.s ?? []).map(decodeB64);
    const actName = displayName(n.name);
    const linName = fused.some((f) => ACT[f]) ? `${actName}/matmul` : actName;
    const id = this.b.add({ name: linName, op: 'dense', inputs: [x.id], sourceClass: n.op, params: { kernel: { shape: [K, N], data: kernel } } });
    this.tensor(n, this.fusedTail(n, id, fused, 2, actName));
  }

  private arith(n: TfNode): void {
    const a = this.val(n, 0);
    const c = this.val(n, 1);
    const name = displayName(n.name);
    if (a.kind === 'tensor' && c.kind === 'tensor') {
      const sa = this.shapeOf(a);
      const sc = this.shapeOf(c);
      if (n.op === 'Add' || n.op === 'AddV2') {
        if (sa.length !== sc.length || sa.some((d, i) => d !== sc[i])) this.fail(n, `adding shapes [${sa}] and [${sc}] needs broadcasting, which is not supported`);
        return this.tensor(n, this.b.add({ name, op: 'add', inputs: [a.id, c.id], sourceClass: n.op }));
      }
      if (n.op === 'Mul') {
        const [sig, gate] = sc.reduce((x, y) => x * y, 1) > sa.reduce((x, y) => x * y, 1) ? [c, a] : [a, c];
        return this.tensor(n, addGatingMul(this.b, name, sig.id, gate.id, n.op, this.file));
      }
      this.fail(n, `${n.op} of two computed tensors is not supported`);
    }
    const constFirst = a.kind === 'const';
    const x = (constFirst ? c : a) as TensorVal;
    const k = (constFirst ? a : c) as ConstVal;
    const C = channelsOf(this.b, x.id);
    const v = perChannel(k.c, C, 1);
    if (!v) this.fail(n, `constant of shape [${k.c.dims.join(', ')}] does not broadcast per channel`);
    const uses = this.usesOf(n, constFirst ? 1 : 0);
    const shiftNode = (shift: Float32Array): number => (this.aliased.has(x.id)
      ? addAffine(this.b, name, x.id, C, undefined, shift, n.op)
      : addBiasOrAffine(this.b, name, x.id, shift, uses, n.op));
    let id: number;
    switch (n.op) {
      case 'BiasAdd': case 'Add': case 'AddV2': id = shiftNode(v); break;
      case 'Sub':
        id = constFirst ? addAffine(this.b, name, x.id, C, new Float32Array(C).fill(-1), v, n.op) : shiftNode(v.map((t) => -t));
        break;
      case 'Mul': id = addAffine(this.b, name, x.id, C, v, undefined, n.op); break;
      default:
        if (constFirst) this.fail(n, 'dividing a constant by a tensor is not supported');
        id = addAffine(this.b, name, x.id, C, v.map((t) => 1 / t), undefined, n.op);
    }
    this.tensor(n, id);
  }

  private pool(n: TfNode): void {
    this.nhwc(n);
    const x = this.tensorIn(n, 0);
    const poolSize = this.hw(n, 'ksize', [1, 1]);
    const strides = this.hw(n, 'strides', [1, 1]);
    const id = this.b.add({
      name: displayName(n.name), op: n.op === 'MaxPool' ? 'maxPool' : 'avgPool', inputs: [x.id], sourceClass: n.op,
      attrs: { pool: { poolSize, strides, padding: this.padding(n) } },
    });
    this.tensor(n, id);
  }

  private mean(n: TfNode): void {
    const x = this.tensorIn(n, 0);
    const axes = Array.from(this.constIn(n, 1, 'axes').data).map((a) => (a < 0 ? a + 4 : a)).sort();
    if (this.shapeOf(x).length !== 3 || axes.length !== 2 || axes[0] !== 1 || axes[1] !== 2) {
      this.fail(n, `mean over axes [${axes.join(', ')}] is supported only over height and width`);
    }
    const name = displayName(n.name);
    let id = this.b.add({ name, op: 'globalAvgPool', inputs: [x.id], sourceClass: n.op });
    if (n.attr?.keep_dims?.b) id = this.b.add({ name: `${name}/keepdims`, op: 'reshape', inputs: [id], attrs: { targetShape: [1, 1, -1] }, sourceClass: n.op });
    this.tensor(n, id);
  }

  private reshape(n: TfNode, target: number[]): void {
    const x = this.tensorIn(n, 0);
    if (target[0] !== -1 && target[0] !== 1) this.fail(n, `reshape to [${target.join(', ')}] changes the batch axis`);
    const t = target.slice(1);
    const s = this.shapeOf(x);
    if (t.length === s.length && t.every((d, i) => d === s[i] || d === -1)) {
      this.aliased.add(x.id);
      return this.set(n, x);
    }
    const op = t.length === 1 ? 'flatten' : 'reshape';
    const id = this.b.add({ name: displayName(n.name), op, inputs: [x.id], sourceClass: n.op, ...(op === 'reshape' ? { attrs: { targetShape: t } } : {}) });
    this.tensor(n, id);
  }

  private squeeze(n: TfNode): void {
    const x = this.tensorIn(n, 0);
    const s = [1, ...this.shapeOf(x)];
    let axes = listInts(n.attr?.squeeze_dims ?? n.attr?.axis).map((a) => (a < 0 ? a + s.length : a));
    if (axes.length === 0) axes = s.map((d, i) => (d === 1 && i > 0 ? i : -1)).filter((i) => i >= 0);
    if (axes.includes(0)) this.fail(n, 'squeezing the batch axis is not supported');
    if (axes.some((a) => s[a] !== 1)) this.fail(n, `cannot squeeze axes [${axes.join(', ')}] of [${s.join(', ')}]`, 'bad-model');
    this.reshape(n, [-1, ...s.filter((_, i) => i > 0 && !axes.includes(i))]);
  }

  private concat(n: TfNode): void {
    const k = this.inputs(n).length - 1;
    const axis = this.constIn(n, k, 'axis').data[0];
    const parts = Array.from({ length: k }, (_, i) => this.tensorIn(n, i));
    if (axis === 0) this.fail(n, 'concatenation on the batch axis is not supported');
    const id = this.b.add({ name: displayName(n.name), op: 'concat', inputs: parts.map((p) => p.id), attrs: { axis }, sourceClass: n.op });
    this.tensor(n, id);
  }

  private pad(n: TfNode): void {
    const x = this.tensorIn(n, 0);
    const p = this.constIn(n, 1, 'paddings');
    if (n.op === 'PadV2' && this.constIn(n, 2, 'constant value').data[0] !== 0) this.fail(n, 'padding with a non-zero value is not supported');
    const d = p.data;
    if (p.data.length !== 8 || d[0] || d[1] || d[6] || d[7]) this.fail(n, `paddings [${Array.from(d).join(', ')}] are supported only on height and width`);
    const pads: ExplicitPad = [[d[2], d[3]], [d[4], d[5]]];
    this.tensor(n, this.b.add({ name: displayName(n.name), op: 'pad', inputs: [x.id], attrs: { pads }, sourceClass: n.op }));
  }

  private batchNorm(n: TfNode): void {
    this.nhwc(n);
    const x = this.tensorIn(n, 0);
    const consts = BN_INPUTS.map((what, i) => [what, this.constIn(n, i + 1, what)] as const);
    const id = addBatchNorm(this.b, displayName(n.name), x.id, consts, n.attr?.epsilon?.f ?? 1e-3, n.op, (m) => this.fail(n, m, 'bad-model'));
    this.tensor(n, id);
  }
}

export function isGraphModelJson(json: unknown): boolean {
  const j = json as GraphModelJson;
  return !!j && typeof j === 'object' && (j.format === 'graph-model' || Array.isArray(j.modelTopology?.node));
}

export const tfjsGraphLoader: ModelLoader = {
  name: 'tfjs-graph',
  match(file: string, head: Uint8Array): boolean {
    if (!file.endsWith('.json')) return false;
    const text = Buffer.from(head).toString('utf8');
    return /"format"\s*:\s*"graph-model"/.test(text) || /"node"\s*:\s*\[/.test(text);
  },
  async open(file: string, opts: LoadOptions = {}): Promise<Graph> {
    const json = readJsonFile(file) as GraphModelJson;
    if (!isGraphModelJson(json)) throw new LensError('bad-model', 'no graph in modelTopology.node (is this a TF.js graph model?)', file);
    const weights = readManifestWeights(json.weightsManifest ?? [], path.dirname(file), file);
    return new TfGraphConverter(file, weights, opts).convert(json);
  },
};
