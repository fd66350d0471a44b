/**
 * ONNX models (.onnx): a hand-written protobuf reader decodes the ModelProto; weights come from
 * initializers, Constant nodes or external data files next to the model. NCHW is turned into the
 * engine's NHWC: kernels are transposed, channel axes remapped, and a Flatten of an NCHW map (C,H,W
 * order) is kept as an NHWC flatten whose consuming Gemm/MatMul gets its weight rows permuted.
 * Shape arithmetic (Shape/Gather/Concat/... feeding a Reshape) is folded at load time with batch 1.
 */
import * as path from 'path';
import type { ActivationFn, ExplicitPad, Graph, Padding, ParamArray } from '../graph/ir';
import { sizeOf } from '../graph/ir';
import { GraphBuilder } from '../graph/builder';
import { oihwKernel } from '../graph/oihwKernel';
import { resolvePadding } from '../graph/shapes';
import { LensError } from '../errors';
import type { LoadOptions, ModelLoader } from './loader';
import { ProtoError, all, decodeFields, first, str, type Field } from './protobuf';
import {
  addAffine, addBatchNorm, addBiasOrAffine, broadcastConst, channelsOf, concatConst, constOf, gatherConst, perChannel,
  sliceConst, transposeConst, type ConstTensor,
} from './graphOps';
import { addGatingMul, inputSizeFor } from './loaderUtil';
import {
  erf, expandConst, matmulConst, padConst, rangeConst, reduceConst, scatterNDConst, tileConst, whereConst,
} from './constFold';
import { fuseOnnxPatterns } from './onnxFusion';
import { DT, DT_NAMES, OnnxReader, type OnnxNode, type OnnxValueInfo } from './onnxProto';
import { SparseOnnx } from './onnxSparse';

// ---------------------------------------------------------------- conversion

/**
 * nchw / nhwc: an image map (IR [H, W, C]); flat: [K]; nd: any rank, the IR shape is the ONNX shape
 * itself, batch axis (1) included — token sequences, window partitions, attention heads.
 */
type Layout = 'nchw' | 'nhwc' | 'flat' | 'nd';

interface TensorVal {
  kind: 'tensor';
  id: number;
  layout: Layout;
  /** flat tensors made from an NCHW map: logical (C,H,W) order, stored in NHWC order */
  chw?: [number, number, number];
}
interface ConstVal {
  kind: 'const';
  c: ConstTensor;
}
type Val = TensorVal | ConstVal;

const SUPPORTED = [
  'Conv', 'Gemm', 'MatMul', 'Add', 'Sub', 'Mul', 'Div', 'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Sigmoid', 'Tanh', 'Clip', 'HardSigmoid',
  'HardSwish', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'ReduceMean', 'Flatten', 'Reshape', 'Squeeze',
  'Unsqueeze', 'BatchNormalization', 'Concat', 'Softmax', 'Dropout', 'Identity', 'Pad', 'Constant', 'Transpose', 'Shape',
  'Gather', 'Cast', 'Slice', 'ConstantOfShape',
];

class OnnxConverter {
  private readonly b: GraphBuilder;
  private readonly vals = new Map<string, Val>();
  private readonly uses = new Map<string, number>();
  /** IR nodes reachable under more than one value name (folding into them is unsafe) */
  private readonly aliased = new Set<number>();
  private opset = 1;
  private inputId = 0;

  constructor(private readonly file: string, private readonly opts: LoadOptions) {
    this.b = new GraphBuilder(file);
  }

  private fail(node: OnnxNode | string, msg: string, code: 'bad-model' | 'unsupported-op' | 'missing-weights' = 'unsupported-op'): never {
    const label = typeof node === 'string' ? node : `node '${node.name || node.outputs[0]}' (${node.op})`;
    throw new LensError(code, `${label}: ${msg}`, this.file);
  }

  convert(model: Field[], reader: OnnxReader): Graph {
    for (const o of all(model, 8)) {
      const f = decodeFields(o.bytes!);
      const domain = str(first(f, 1) ?? ({} as Field));
      if (domain === '' || domain === 'ai.onnx') this.opset = first(f, 2)?.num ?? 1;
    }
    const gField = first(model, 7);
    if (!gField) throw new LensError('bad-model', 'the ONNX model has no graph', this.file);
    const g = decodeFields(gField.bytes!);
    let nodes = all(g, 1).map((f) => reader.node(decodeFields(f.bytes!)));
    for (const f of all(g, 5)) {
      const t = reader.tensor(decodeFields(f.bytes!));
      this.vals.set(t.name, { kind: 'const', c: t.c });
    }
    // exporters' decompositions (LayerNorm, GELU, SiLU) back into one operator each
    const scalars = new Map<string, ConstTensor>();
    for (const n of nodes) {
      if (n.op !== 'Constant' || !n.outputs[0]) continue;
      try {
        scalars.set(n.outputs[0], this.constantValue(n));
      } catch {
        // reported when the node is converted
      }
    }
    const outNames = all(g, 12).map((f) => reader.valueInfo(decodeFields(f.bytes!)).name);
    nodes = fuseOnnxPatterns(nodes, (name) => {
      const v = this.vals.get(name);
      return v?.kind === 'const' ? v.c.data : scalars.get(name)?.data;
    }, outNames);
    if (all(g, 15).length) throw new LensError('unsupported-op', 'sparse initializers are not supported', this.file);
    const inputs = all(g, 11).map((f) => reader.valueInfo(decodeFields(f.bytes!))).filter((v) => !this.vals.has(v.name));
    const outputs = all(g, 12).map((f) => reader.valueInfo(decodeFields(f.bytes!)));
    if (inputs.length !== 1) throw new LensError('unsupported-op', `model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); one image input is supported`, this.file);
    if (outputs.length !== 1) throw new LensError('unsupported-op', `model has ${outputs.length} outputs (${outputs.map((o) => o.name).join(', ')}); one output is supported`, this.file);

    // only the nodes the output depends on
    const producer = new Map<string, OnnxNode>();
    for (const n of nodes) for (const o of n.outputs) if (o) producer.set(o, n);
    const needed = new Set<OnnxNode>();
    const stack = [outputs[0].name];
    const seen = new Set<string>();
    while (stack.length) {
      const v = stack.pop()!;
      if (seen.has(v)) continue;
      seen.add(v);
      const p = producer.get(v);
      if (!p || needed.has(p)) continue;
      needed.add(p);
      for (const i of p.inputs) if (i) stack.push(i);
    }
    for (const n of nodes) if (needed.has(n)) for (const i of n.inputs) if (i) this.uses.set(i, (this.uses.get(i) ?? 0) + 1);
    this.uses.set(outputs[0].name, (this.uses.get(outputs[0].name) ?? 0) + 1);

    this.input(inputs[0], nodes.filter((n) => needed.has(n)));
    for (const n of nodes) {
      if (!needed.has(n)) continue;
      if (n.domain !== '' && n.domain !== 'ai.onnx') this.fail(n, `operator domain '${n.domain}' is not supported`);
      n.inputs.forEach((i, k) => {
        if (!i || this.vals.has(i)) return;
        if (k > 0) this.fail(n, `weights '${i}' missing (neither an initializer nor a Constant)`, 'missing-weights');
        this.fail(n, `input '${i}' is not produced by an earlier node, an initializer or the graph input`, 'bad-model');
      });
      this.node(n);
    }
    const out = this.vals.get(outputs[0].name);
    if (!out) throw new LensError('bad-model', `output '${outputs[0].name}' is not produced by any node`, this.file);
    if (out.kind !== 'tensor') throw new LensError('unsupported-op', `output '${outputs[0].name}' does not depend on the input`, this.file);
    let outId = out.id;
    if (out.layout === 'nd') {
      const d = this.shapeOf(out);
      if (d.length !== 2 || d[0] !== 1) throw new LensError('unsupported-op', `output '${outputs[0].name}' has shape [${d.join(', ')}]; a classifier output [1, classes] is needed`, this.file);
      outId = this.b.add({ name: `${outputs[0].name}/classes`, op: 'reshape', inputs: [out.id], attrs: { targetShape: [d[1]] }, sourceClass: 'Reshape' });
    } else if (out.layout !== 'flat') throw new LensError('unsupported-op', `output '${outputs[0].name}' is a feature map; a classifier output [N, classes] is needed`, this.file);
    if (out.chw) throw new LensError('unsupported-op', `output '${outputs[0].name}' is a flattened NCHW map; its order cannot be kept`, this.file);
    const name = path.basename(this.file).replace(/\.onnx$/i, '');
    return this.b.build(name, 'onnx', outId);
  }

  private input(v: OnnxValueInfo, nodes: OnnxNode[]): void {
    if (v.dims.length !== 4) {
      throw new LensError('unsupported-op', `input '${v.name}' has rank ${v.dims.length}; an image input N×C×H×W is needed`, this.file);
    }
    if (v.elemType !== 0 && v.elemType !== DT.FLOAT) {
      throw new LensError('unsupported-op', `input '${v.name}' has type ${DT_NAMES[v.elemType] ?? v.elemType}; float32 is needed`, this.file);
    }
    const consumers = nodes.filter((n) => n.inputs.includes(v.name));
    const nhwc = consumers.length > 0 && consumers.every((n) => n.op === 'Transpose' && sameList(n.attrs.get('perm')?.ints, [0, 3, 1, 2]));
    const [hd, wd, cd] = nhwc ? [v.dims[1], v.dims[2], v.dims[3]] : [v.dims[2], v.dims[3], v.dims[1]];
    if (typeof cd !== 'number' || cd <= 0) {
      throw new LensError('unsupported-op', `input '${v.name}' has no fixed channel count`, this.file);
    }
    const [h, w] = inputSizeFor(this.file, v.name, hd, wd, this.opts);
    const id = this.b.add({ name: v.name, op: 'input', inputs: [], shape: [h, w, cd], sourceClass: 'input' });
    this.inputId = id;
    this.vals.set(v.name, { kind: 'tensor', id, layout: nhwc ? 'nhwc' : 'nchw' });
  }

  // ------------------------------------------------------------ value helpers

  private val(n: OnnxNode, k: number): Val | undefined {
    const name = n.inputs[k];
    return name ? this.vals.get(name) : undefined;
  }

  private tensorIn(n: OnnxNode, k: number): TensorVal {
    const v = this.val(n, k);
    if (!v) this.fail(n, `input ${k} is missing`, 'bad-model');
    if (v.kind !== 'tensor') this.fail(n, `input '${n.inputs[k]}' must depend on the image input`);
    return v;
  }

  private constIn(n: OnnxNode, k: number, what = 'weights'): ConstTensor {
    const v = this.val(n, k);
    if (!v) this.fail(n, `${what} '${n.inputs[k] ?? `#${k}`}' missing (neither an initializer nor a Constant)`, 'missing-weights');
    if (v.kind !== 'const') this.fail(n, `${what} '${n.inputs[k]}' must be a constant, but it is computed from the input`);
    return v.c;
  }

  private optConst(n: OnnxNode, k: number): ConstTensor | undefined {
    if (!n.inputs[k]) return undefined;
    return this.constIn(n, k, 'input');
  }

  private set(n: OnnxNode, v: Val, k = 0): void {
    this.vals.set(n.outputs[k], v);
  }

  private tensor(n: OnnxNode, id: number, layout: Layout, chw?: [number, number, number]): void {
    this.set(n, { kind: 'tensor', id, layout, ...(chw ? { chw } : {}) });
  }

  private alias(n: OnnxNode, v: Val): void {
    if (v.kind === 'tensor') this.aliased.add(v.id);
    this.set(n, v);
  }

  private nodeName(n: OnnxNode): string {
    return n.name || n.outputs[0];
  }

  private shapeOf(v: TensorVal): number[] {
    return this.b.nodes[v.id].shape;
  }

  /** Logical (ONNX) dims of a tensor, with batch 1. */
  private logicalDims(v: TensorVal): number[] {
    const s = this.shapeOf(v);
    if (v.layout === 'nd') return s.slice();
    if (v.layout === 'flat') return [1, s[0]];
    return v.layout === 'nchw' ? [1, s[2], s[0], s[1]] : [1, s[0], s[1], s[2]];
  }

  private attrI(n: OnnxNode, name: string, dflt: number): number {
    return n.attrs.get(name)?.i ?? dflt;
  }

  private attrInts(n: OnnxNode, name: string): number[] | undefined {
    return n.attrs.get(name)?.ints;
  }

  private readonly ndCache = new Map<number, TensorVal>();

  private irNode(name: string, op: 'reshape' | 'transpose', input: number, attrs: { targetShape?: number[]; perm?: number[] }, sourceClass: string): number {
    return this.b.add({ name, op, inputs: [input], attrs, sourceClass });
  }

  /** The tensor in the nd layout (IR shape = ONNX shape): image maps are transposed from NHWC to NCHW. */
  private toNd(v: TensorVal, name: string): TensorVal {
    if (v.layout === 'nd') return v;
    const hit = this.ndCache.get(v.id);
    if (hit) return hit;
    const s = this.shapeOf(v);
    let id: number;
    if (v.layout === 'nhwc') id = this.irNode(`${name}/nd`, 'reshape', v.id, { targetShape: [1, ...s] }, 'Reshape');
    else if (v.layout === 'flat' && !v.chw) id = this.irNode(`${name}/nd`, 'reshape', v.id, { targetShape: [1, s[0]] }, 'Reshape');
    else if (v.layout === 'flat') {
      const [C, H, W] = v.chw!;
      const m = this.irNode(`${name}/hwc`, 'reshape', v.id, { targetShape: [H, W, C] }, 'Reshape');
      const t = this.irNode(`${name}/chw`, 'transpose', m, { perm: [2, 0, 1] }, 'Transpose');
      id = this.irNode(`${name}/nd`, 'reshape', t, { targetShape: [1, C * H * W] }, 'Reshape');
    } else {
      const t = this.irNode(`${name}/nchw`, 'transpose', v.id, { perm: [2, 0, 1] }, 'Transpose');
      id = this.irNode(`${name}/nd`, 'reshape', t, { targetShape: [1, s[2], s[0], s[1]] }, 'Reshape');
    }
    const r: TensorVal = { kind: 'tensor', id, layout: 'nd' };
    this.ndCache.set(v.id, r);
    return r;
  }

  /** An nd tensor [1, C, H, W] as an NCHW image map (IR [H, W, C]). */
  private ndToSpatial(v: TensorVal, name: string): TensorVal {
    const [one, C, H, W] = this.shapeOf(v);
    const m = this.irNode(`${name}/chw`, 'reshape', v.id, { targetShape: [C, H, W] }, 'Reshape');
    void one;
    return { kind: 'tensor', id: this.irNode(`${name}/hwc`, 'transpose', m, { perm: [1, 2, 0] }, 'Transpose'), layout: 'nchw' };
  }

  private spatialIn(n: OnnxNode, k = 0): TensorVal {
    let x = this.tensorIn(n, k);
    if (x.layout === 'nd') {
      const d = this.shapeOf(x);
      if (d.length !== 4 || d[0] !== 1) this.fail(n, `expects a feature map N×C×H×W, got [${d.join(', ')}]`);
      x = this.ndToSpatial(x, this.nodeName(n));
    }
    if (x.layout !== 'nchw') this.fail(n, x.layout === 'nhwc' ? 'expects NCHW, the input is NHWC here (a Transpose is missing?)' : 'expects a feature map N×C×H×W, got a flat tensor');
    return x;
  }

  // ------------------------------------------------------------ ops

  private node(n: OnnxNode): void {
    const ins = n.inputs.map((i) => (i ? this.vals.get(i) : undefined));
    const allConst = ins.every((v) => !v || v.kind === 'const');
    if (allConst && n.op !== 'Constant' && n.inputs.some(Boolean)) {
      this.constNode(n, ins.map((v) => (v as ConstVal | undefined)?.c));
      return;
    }
    switch (n.op) {
      case 'Constant': return this.constant(n);
      case 'Identity': case 'Dropout': return this.alias(n, this.tensorIn(n, 0));
      case 'Size': return this.set(n, { kind: 'const', c: constOf([], [sizeOf(this.logicalDims(this.tensorIn(n, 0)))], 'int') });
      case 'Cast': {
        const to = this.attrI(n, 'to', DT.FLOAT);
        if (to !== DT.FLOAT) this.fail(n, `cast of the image data to ${DT_NAMES[to] ?? to} is not supported`);
        return this.alias(n, this.tensorIn(n, 0));
      }
      case 'Conv': return this.conv(n);
      case 'BatchNormalization': return this.batchNorm(n);
      case 'Gemm': return this.gemm(n);
      case 'MatMul': return this.matmul(n);
      case 'Add': case 'Sub': case 'Mul': case 'Div': return this.arith(n);
      case 'Relu': return this.act(n, 'relu');
      case 'PRelu': return this.prelu(n);
      case 'LeakyRelu': return this.act(n, 'leakyRelu', { alpha: n.attrs.get('alpha')?.f ?? 0.01 });
      case 'Elu': return this.act(n, 'elu', { alpha: n.attrs.get('alpha')?.f ?? 1 });
      case 'Sigmoid': return this.act(n, 'sigmoid');
      case 'Tanh': return this.act(n, 'tanh');
      case 'Clip': return this.clip(n);
      case 'HardSigmoid': case 'HardSwish': return this.hard(n);
      case 'Softmax': return this.softmax(n);
      case 'MaxPool': case 'AveragePool': return this.pool(n);
      case 'GlobalAveragePool': case 'GlobalMaxPool': return this.globalPool(n);
      case 'ReduceMean': return this.reduceMean(n);
      case 'Flatten': return this.flatten(n);
      case 'Reshape': return this.reshape(n);
      case 'Squeeze': case 'Unsqueeze': return this.squeeze(n);
      case 'Transpose': return this.transpose(n);
      case 'Concat': return this.concat(n);
      case 'Pad': return this.pad(n);
      case 'Shape': return this.shape(n);
      case 'LayerNormalization': return this.layerNorm(n);
      case 'InstanceNormalization': return this.groupNorm(n, 0);
      case 'GroupNormalization': return this.groupNorm(n, this.attrI(n, 'num_groups', 1));
      case 'Gelu': return this.act(n, n.attrs.get('approximate')?.s === 'tanh' ? 'geluTanh' : 'gelu');
      case 'Silu': return this.act(n, 'silu');
      case 'Slice': case 'Gather': case 'Expand': case 'Tile': return this.movement(n);
      case 'Erf': return this.fail(n, 'Erf outside the GELU pattern x·½(1 + erf(x/√2)) is not supported');
      default:
        this.fail(n, `operator '${n.op}' is not supported (supported: ${SUPPORTED.join(', ')})`);
    }
  }

  private constant(n: OnnxNode): void {
    this.set(n, { kind: 'const', c: this.constantValue(n) });
  }

  private constantValue(n: OnnxNode): ConstTensor {
    const a = n.attrs;
    let c: ConstTensor;
    if (a.get('value')?.t) c = new OnnxReader(this.file).tensor(a.get('value')!.t!).c;
    else if (a.has('value_float')) c = constOf([], [a.get('value_float')!.f!]);
    else if (a.has('value_floats')) c = constOf([a.get('value_floats')!.floats!.length], a.get('value_floats')!.floats!);
    else if (a.has('value_int')) c = constOf([], [a.get('value_int')!.i!], 'int');
    else if (a.has('value_ints')) c = constOf([a.get('value_ints')!.ints!.length], a.get('value_ints')!.ints!, 'int');
    else this.fail(n, 'Constant without a value', 'bad-model');
    return c;
  }

  /** Shape arithmetic and weight preprocessing on constants. */
  private constNode(n: OnnxNode, c: (ConstTensor | undefined)[]): void {
    let r: ConstTensor;
    try {
      r = this.foldConst(n, c);
    } catch (e) {
      if (e instanceof LensError) throw e;
      this.fail(n, `cannot fold constants: ${(e as Error).message}`, 'bad-model');
    }
    this.set(n, { kind: 'const', c: r });
  }

  /**
   * One op on constants. With `movement`, input 0 is an index tensor (0..n−1) standing for a computed
   * tensor: pads then write −1 (a zero), so the result is the op's index map.
   */
  private foldConst(n: OnnxNode, c: (ConstTensor | undefined)[], movement = false): ConstTensor {
    const out = (t: ConstTensor): ConstTensor => t;
    const a = c[0]!;
    const unary = (f: (x: number) => number): ConstTensor => ({ dims: a.dims.slice(), data: a.data.map(f), dtype: a.dtype });
    const binary = (f: (x: number, y: number) => number, dtype?: ConstTensor['dtype']): ConstTensor => {
      const r = broadcastConst(a, c[1]!, f);
      return dtype ? { ...r, dtype } : r;
    };
    const reduce = (f: 'sum' | 'mean' | 'max' | 'min' | 'prod'): ConstTensor =>
      reduceConst(a, this.attrInts(n, 'axes') ?? (c[1] ? Array.from(c[1].data) : []), this.attrI(n, 'keepdims', 1) === 1, f);
    const axesOf = (k: number): number[] => this.attrInts(n, 'axes') ?? (c[k] ? Array.from(c[k]!.data) : []);
    switch (n.op) {
      case 'Identity': case 'Dropout': return out(a);
      case 'Cast': {
        const to = this.attrI(n, 'to', DT.FLOAT);
        const isFloat = to === DT.FLOAT || to === DT.DOUBLE || to === DT.FLOAT16;
        return out({ dims: a.dims, data: isFloat ? a.data : a.data.map(Math.trunc), dtype: isFloat ? 'float' : to === DT.BOOL ? 'bool' : 'int' });
      }
      case 'Add': return out(broadcastConst(a, c[1]!, (x, y) => x + y));
      case 'Sub': return out(broadcastConst(a, c[1]!, (x, y) => x - y));
      case 'Mul': return out(broadcastConst(a, c[1]!, (x, y) => x * y));
      case 'Div': {
        const r = broadcastConst(a, c[1]!, (x, y) => x / y);
        if (a.dtype === 'int' && c[1]!.dtype === 'int') r.data = r.data.map(Math.trunc);
        return out(r);
      }
      case 'Transpose': {
        const perm = this.attrInts(n, 'perm') ?? a.dims.map((_, i) => a.dims.length - 1 - i);
        return out(transposeConst(a, perm));
      }
      case 'Reshape': {
        const target = Array.from(c[1]!.data).map((d, i) => (d === 0 ? a.dims[i] : d));
        const known = target.filter((d) => d !== -1).reduce((x, y) => x * y, 1);
        const dims = target.map((d) => (d === -1 ? a.data.length / known : d));
        return out({ dims, data: a.data, dtype: a.dtype });
      }
      case 'Flatten': {
        const axis = this.attrI(n, 'axis', 1);
        const lead = a.dims.slice(0, axis).reduce((x, y) => x * y, 1);
        return out({ dims: [lead, a.data.length / Math.max(lead, 1)], data: a.data, dtype: a.dtype });
      }
      case 'Concat': return out(concatConst(c.filter(Boolean) as ConstTensor[], this.attrI(n, 'axis', 0)));
      case 'Gather': return out(gatherConst(a, c[1]!, this.attrI(n, 'axis', 0)));
      case 'Unsqueeze': {
        const axes = axesOf(1);
        const rank = a.dims.length + axes.length;
        const dims: number[] = [];
        const norm = axes.map((x) => (x < 0 ? x + rank : x));
        let k = 0;
        for (let i = 0; i < rank; i++) dims.push(norm.includes(i) ? 1 : a.dims[k++]);
        return out({ dims, data: a.data, dtype: a.dtype });
      }
      case 'Squeeze': {
        const axes = axesOf(1).map((x) => (x < 0 ? x + a.dims.length : x));
        const dims = a.dims.filter((d, i) => (axes.length ? !axes.includes(i) : d !== 1));
        return out({ dims, data: a.data, dtype: a.dtype });
      }
      case 'Slice': {
        let starts: number[];
        let ends: number[];
        let axes: number[];
        let steps: number[];
        if (this.opset < 10 || (!c[1] && this.attrInts(n, 'starts'))) {
          starts = this.attrInts(n, 'starts') ?? [];
          ends = this.attrInts(n, 'ends') ?? [];
          axes = this.attrInts(n, 'axes') ?? starts.map((_, i) => i);
          steps = starts.map(() => 1);
        } else {
          starts = Array.from(c[1]!.data);
          ends = Array.from(c[2]!.data);
          axes = c[3] ? Array.from(c[3].data) : starts.map((_, i) => i);
          steps = c[4] ? Array.from(c[4].data) : starts.map(() => 1);
        }
        ends = ends.map((e) => (e > 2 ** 52 ? 2 ** 52 : e < -(2 ** 52) ? -(2 ** 52) : e));
        return out(sliceConst(a, starts, ends, axes, steps));
      }
      case 'ConstantOfShape': {
        const dims = Array.from(a.data);
        const vt = n.attrs.get('value')?.t;
        const v = vt ? new OnnxReader(this.file).tensor(vt).c : constOf([1], [0]);
        const count = dims.reduce((x, y) => x * y, 1);
        return out({ dims, data: new Float64Array(count).fill(v.data[0] ?? 0), dtype: v.dtype });
      }
      case 'Shape': return out(constOf([a.dims.length], a.dims, 'int'));
      case 'Size': return constOf([], [a.data.length], 'int');
      case 'Range': return rangeConst(a.data[0], c[1]!.data[0], c[2]!.data[0], a.dtype);
      case 'Expand': return expandConst(a, Array.from(c[1]!.data));
      case 'Tile': return tileConst(a, Array.from(c[1]!.data));
      case 'Where': return whereConst(a, c[1]!, c[2]!);
      case 'ScatterND': return scatterNDConst(a, c[1]!, c[2]!);
      case 'Pad': {
        const pads = this.opset < 11 ? this.attrInts(n, 'pads') ?? [] : Array.from(c[1]!.data);
        const mode = n.attrs.get('mode')?.s ?? 'constant';
        if (mode !== 'constant') throw new Error(`pad mode '${mode}' is not supported`);
        if (pads.some((p) => p < 0)) throw new Error('negative pads are not supported');
        const value = movement ? -1 : this.opset < 11 ? n.attrs.get('value')?.f ?? 0 : c[2]?.data[0] ?? 0;
        return padConst(a, pads, value);
      }
      case 'MatMul': return matmulConst(a, c[1]!);
      case 'ReduceSum': return reduce('sum');
      case 'ReduceMean': return reduce('mean');
      case 'ReduceMax': return reduce('max');
      case 'ReduceMin': return reduce('min');
      case 'ReduceProd': return reduce('prod');
      case 'Equal': return binary((x, y) => (x === y ? 1 : 0), 'bool');
      case 'Less': return binary((x, y) => (x < y ? 1 : 0), 'bool');
      case 'LessOrEqual': return binary((x, y) => (x <= y ? 1 : 0), 'bool');
      case 'Greater': return binary((x, y) => (x > y ? 1 : 0), 'bool');
      case 'GreaterOrEqual': return binary((x, y) => (x >= y ? 1 : 0), 'bool');
      case 'And': return binary((x, y) => (x && y ? 1 : 0), 'bool');
      case 'Or': return binary((x, y) => (x || y ? 1 : 0), 'bool');
      case 'Not': return unary((x) => (x ? 0 : 1));
      case 'Mod': {
        const fmod = this.attrI(n, 'fmod', 0) === 1;
        return binary((x, y) => (fmod ? x % y : x - y * Math.floor(x / y)));
      }
      case 'Pow': return binary((x, y) => x ** y);
      case 'Min': return c.slice(1).reduce<ConstTensor>((acc, t) => broadcastConst(acc, t!, Math.min), a);
      case 'Max': return c.slice(1).reduce<ConstTensor>((acc, t) => broadcastConst(acc, t!, Math.max), a);
      case 'Neg': return unary((x) => -x);
      case 'Abs': return unary(Math.abs);
      case 'Sqrt': return unary(Math.sqrt);
      case 'Reciprocal': return unary((x) => 1 / x);
      case 'Exp': return unary(Math.exp);
      case 'Log': return unary(Math.log);
      case 'Floor': return unary(Math.floor);
      case 'Ceil': return unary(Math.ceil);
      case 'Round': return unary((x) => (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x)));
      case 'Sign': return unary(Math.sign);
      case 'Erf': return unary(erf);
      case 'Relu': return unary((x) => Math.max(x, 0));
      case 'Sigmoid': return unary((x) => 1 / (1 + Math.exp(-x)));
      case 'Tanh': return unary(Math.tanh);
      case 'Trilu': {
        const upper = this.attrI(n, 'upper', 1) === 1;
        const k = c[1]?.data[0] ?? 0;
        const [rows, cols] = a.dims.slice(-2);
        return { ...a, data: a.data.map((v, i) => {
          const j = i % cols;
          const r = Math.floor(i / cols) % rows;
          return (upper ? j - r >= k : j - r <= k) ? v : 0;
        }) };
      }
      default:
        this.fail(n, `operator '${n.op}' on constants is not supported`);
    }
  }

  private convPadding(n: OnnxNode, inH: number, inW: number, kh: number, kw: number, strides: [number, number], dil: [number, number]): Padding {
    const auto = n.attrs.get('auto_pad')?.s ?? 'NOTSET';
    if (auto === 'SAME_UPPER') return 'same';
    if (auto === 'VALID') return 'valid';
    if (auto === 'SAME_LOWER') {
      const p = resolvePadding('same', inH, inW, kh, kw, strides, dil);
      return [[p[0][1], p[0][0]], [p[1][1], p[1][0]]];
    }
    const pads = this.attrInts(n, 'pads') ?? [0, 0, 0, 0];
    if (pads.length !== 4) this.fail(n, `pads [${pads.join(', ')}] are not 2-D`);
    if (pads.some((p) => p < 0)) this.fail(n, 'negative pads are not supported');
    if (pads.every((p) => p === 0)) return 'valid';
    return [[pads[0], pads[2]], [pads[1], pads[3]]];
  }

  private pair(n: OnnxNode, name: string, dflt: [number, number]): [number, number] {
    const v = this.attrInts(n, name);
    if (!v) return dflt;
    if (v.length !== 2) this.fail(n, `${name} [${v.join(', ')}] is not 2-D (only 2-D convolutions and pools are supported)`);
    return [v[0], v[1]];
  }

  private conv(n: OnnxNode): void {
    const x = this.spatialIn(n);
    const w = this.constIn(n, 1);
    const bias = this.optConst(n, 2);
    if (w.dims.length !== 4) this.fail(n, `weight has shape [${w.dims.join(', ')}]; only 2-D convolutions are supported`);
    const [O, Ig, kh, kw] = w.dims;
    const [h, wd, C] = this.shapeOf(x);
    const group = this.attrI(n, 'group', 1);
    if (Ig * group !== C) this.fail(n, `weight expects ${Ig * group} input channels, input has ${C}`, 'bad-model');
    if (O % group !== 0) this.fail(n, `${O} output channels do not split into ${group} groups`, 'bad-model');
    const strides = this.pair(n, 'strides', [1, 1]);
    const dilations = this.pair(n, 'dilations', [1, 1]);
    const padding = this.convPadding(n, h, wd, kh, kw, strides, dilations);
    const src = w.data;
    let op: 'conv2d' | 'depthwiseConv2d' = 'conv2d';
    let kernel: Float32Array;
    let kshape: number[];
    let lazy: ParamArray | undefined;
    if (group === 1) {
      kshape = [kh, kw, C, O];
      // the file's layout, laid out for the IR when first read (a view of the file's bytes is copied, so
      // that they are not held for it)
      kernel = !(src instanceof Float32Array) ? Float32Array.from(src) : src.buffer.byteLength === src.byteLength ? src : src.slice();
      lazy = oihwKernel(kernel, kh, kw, C, O);
    } else if (group === C && Ig === 1) {
      // depthwise: output channel o = c·m + j reads input channel c
      op = 'depthwiseConv2d';
      const m = O / C;
      kshape = [kh, kw, C, m];
      kernel = new Float32Array(kh * kw * C * m);
      for (let c = 0; c < C; c++) for (let j = 0; j < m; j++) for (let y = 0; y < kh; y++) for (let z = 0; z < kw; z++) {
        kernel[((y * kw + z) * C + c) * m + j] = src[((c * m + j) * kh + y) * kw + z];
      }
    } else {
      // grouped: an ordinary conv with a block-diagonal kernel (zeros across groups) computes the same
      const Og = O / group;
      kshape = [kh, kw, C, O];
      kernel = new Float32Array(kh * kw * C * O);
      for (let o = 0; o < O; o++) {
        const gi = Math.floor(o / Og);
        for (let i = 0; i < Ig; i++) for (let y = 0; y < kh; y++) for (let z = 0; z < kw; z++) {
          kernel[((y * kw + z) * C + gi * Ig + i) * O + o] = src[((o * Ig + i) * kh + y) * kw + z];
        }
      }
    }
    const id = this.b.add({
      name: this.nodeName(n), op, inputs: [x.id], sourceClass: group === 1 || op === 'depthwiseConv2d' ? 'Conv' : `Conv(group=${group})`,
      params: { kernel: lazy ?? { shape: kshape, data: kernel }, ...(bias ? { bias: { shape: [O], data: Float32Array.from(bias.data) } } : {}) },
      attrs: { conv: { strides, padding, dilations } },
    });
    this.tensor(n, id, 'nchw');
  }

  private batchNorm(n: OnnxNode): void {
    const x = this.tensorIn(n, 0);
    if (x.chw) this.fail(n, 'BatchNormalization of a flattened NCHW map is not supported');
    const consts = ['scale', 'bias', 'mean', 'variance'].map((what, i) => [what, this.constIn(n, i + 1, what)] as const);
    const id = addBatchNorm(this.b, this.nodeName(n), x.id, consts, n.attrs.get('epsilon')?.f ?? 1e-5, 'BatchNormalization',
      (m) => this.fail(n, m, 'bad-model'));
    this.tensor(n, id, x.layout);
  }

  /**
   * The IR kernel's row for each input index of a dense layer: after a flattened NCHW map the input
   * arrives in HWC order, so row (c, h, w) moves to (h, w, c); undefined when the rows stay in place.
   * The weights are written straight to their rows (VGG16: no second 411 MB copy while loading).
   */
  private kernelRows(x: TensorVal, K: number): Int32Array | undefined {
    if (!x.chw) return undefined;
    const [C, H, W] = x.chw;
    const rows = new Int32Array(K);
    for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) rows[(c * H + h) * W + w] = (h * W + w) * C + c;
    return rows;
  }

  /** alpha · B as the IR's [K, N] kernel (B is [K, N], or [N, K] with transB), rows placed by kernelRows. */
  private denseKernel(x: TensorVal, B: ConstTensor, K: number, N: number, alpha: number, transB: boolean): Float32Array {
    const rows = this.kernelRows(x, K);
    const b = B.data;
    // a MatMul's [K, N] weight is the kernel as it is: no copy (Swin-T's linear layers: 108 MB less garbage
    // while loading, which glibc kept resident through the run)
    if (!transB && !rows && alpha === 1 && b instanceof Float32Array) return b;
    const k = new Float32Array(K * N);
    if (!transB) {
      for (let i = 0; i < K; i++) {
        const to = (rows ? rows[i] : i) * N;
        for (let j = 0, from = i * N; j < N; j++, from++) k[to + j] = alpha * b[from];
      }
      return k;
    }
    // blocked transpose: a column-wise walk over a 100M-value VGG weight took seconds
    const T = 64;
    for (let i0 = 0; i0 < K; i0 += T) {
      for (let j0 = 0; j0 < N; j0 += T) {
        const i1 = Math.min(i0 + T, K);
        const j1 = Math.min(j0 + T, N);
        for (let i = i0; i < i1; i++) {
          const to = (rows ? rows[i] : i) * N;
          for (let j = j0; j < j1; j++) k[to + j] = alpha * b[j * K + i];
        }
      }
    }
    return k;
  }

  private gemm(n: OnnxNode): void {
    let x = this.tensorIn(n, 0);
    if (x.layout !== 'flat') x = this.toNd(x, this.nodeName(n));
    if (this.shapeOf(x).length > 2) this.fail(n, 'expects a 2-D input');
    if (this.attrI(n, 'transA', 0) !== 0) this.fail(n, 'transA = 1 is not supported');
    const B = this.constIn(n, 1);
    const C = this.optConst(n, 2);
    const alpha = n.attrs.get('alpha')?.f ?? 1;
    const beta = n.attrs.get('beta')?.f ?? 1;
    const transB = this.attrI(n, 'transB', 0) === 1;
    if (B.dims.length !== 2) this.fail(n, `weight has shape [${B.dims.join(', ')}]`, 'bad-model');
    const [K, N] = transB ? [B.dims[1], B.dims[0]] : B.dims;
    const kIn = this.shapeOf(x)[this.shapeOf(x).length - 1];
    if (K !== kIn) this.fail(n, `weight expects ${K} inputs, input has ${kIn}`, 'bad-model');
    let bias: Float32Array | undefined;
    if (C) {
      const v = perChannel(C, N, 1);
      if (!v) this.fail(n, `bias C of shape [${C.dims.join(', ')}] does not broadcast per output`);
      bias = v.map((b) => b * beta);
    }
    const id = this.b.add({
      name: this.nodeName(n), op: 'dense', inputs: [x.id], sourceClass: 'Gemm',
      params: { kernel: { shape: [K, N], data: this.denseKernel(x, B, K, N, alpha, transB) }, ...(bias ? { bias: { shape: [N], data: bias } } : {}) },
    });
    this.tensor(n, id, x.layout);
  }

  private matmul(n: OnnxNode): void {
    if (this.val(n, 1)?.kind === 'tensor' || this.val(n, 0)?.kind === 'const') return this.bilinear(n);
    let x = this.tensorIn(n, 0);
    // a token-wise linear layer over the last axis: NHWC maps (ConvNeXt) and nd tensors keep their layout
    if (x.layout === 'nchw') x = this.toNd(x, this.nodeName(n));
    const B = this.constIn(n, 1);
    if (B.dims.length !== 2) this.fail(n, `weight has shape [${B.dims.join(', ')}]; a 2-D matrix is needed`);
    const [K, N] = B.dims;
    const sx = this.shapeOf(x);
    const kIn = sx[sx.length - 1];
    if (K !== kIn) this.fail(n, `weight expects ${K} inputs, input has ${kIn}`, 'bad-model');
    const id = this.b.add({
      name: this.nodeName(n), op: 'dense', inputs: [x.id], sourceClass: 'MatMul',
      params: { kernel: { shape: [K, N], data: this.denseKernel(x, B, K, N, 1, false) } },
    });
    this.tensor(n, id, x.layout);
  }

  /** MatMul of two computed tensors (attention): [..., M, K] · [..., K, N] with equal leading axes. */
  private bilinear(n: OnnxNode): void {
    const name = this.nodeName(n);
    const side = (k: number): number => {
      const v = this.val(n, k);
      if (!v) this.fail(n, `input ${k} is missing`, 'bad-model');
      return v.kind === 'const' ? this.constantNode(`${name}/const${k}`, v.c) : this.toNd(v, name).id;
    };
    const a = side(0);
    const c = side(1);
    const sa = this.b.nodes[a].shape;
    const sc = this.b.nodes[c].shape;
    if (sa.length !== sc.length || sa.length < 2 || sa.slice(0, -2).some((d, i) => d !== sc[i])) {
      this.fail(n, `product of [${sa.join(', ')}] and [${sc.join(', ')}] needs broadcasting, which is not supported`);
    }
    this.tensor(n, this.b.add({ name, op: 'matmul', inputs: [a, c], sourceClass: 'MatMul' }), 'nd');
  }

  /** A constant as an IR node (class token, position embedding, attention bias and masks). */
  private constantNode(name: string, c: ConstTensor): number {
    return this.b.add({ name, op: 'constant', inputs: [this.inputId], params: { value: { shape: c.dims.slice(), data: Float32Array.from(c.data) } }, sourceClass: 'Constant' });
  }

  /** Slice / Gather / Expand / Tile / Pad of a computed tensor: an index map built on an index tensor. */
  private movement(n: OnnxNode): void {
    const name = this.nodeName(n);
    const x = this.toNd(this.tensorIn(n, 0), name);
    const dims = this.shapeOf(x);
    const size = sizeOf(dims);
    if (size >= 2 ** 24) this.fail(n, `tensor of ${size} elements is too large to index`);
    // a plain loop: Float64Array.from with a map function took ~0.6 s over Swin-T's movements (measured);
    // float32 holds every position below 2^24 exactly, and the movements keep it (graphOps.ts movedData)
    const iota = new Float32Array(size);
    for (let i = 0; i < size; i++) iota[i] = i;
    const idx: ConstTensor = { dims: dims.slice(), data: iota, dtype: 'int' };
    const c = n.inputs.map((v, k) => (k === 0 ? idx : v ? this.constIn(n, k, 'input') : undefined));
    let r: ConstTensor;
    try {
      r = this.foldConst(n, c, true);
    } catch (e) {
      if (e instanceof LensError) throw e;
      this.fail(n, (e as Error).message);
    }
    const seen = new Uint8Array(size);
    let inOrder = r.data.length === size;
    for (let i = 0; i < r.data.length; i++) {
      const v = r.data[i];
      if (v !== i) inOrder = false;
      if (v < 0) continue;
      if (seen[v]) this.fail(n, 'copies elements of a computed tensor (a broadcast), which is not supported');
      seen[v] = 1;
    }
    if (inOrder) {
      if (sameList(r.dims, dims)) return this.alias(n, x);
      return this.tensor(n, this.irNode(name, 'reshape', x.id, { targetShape: r.dims }, n.op), 'nd');
    }
    const id = this.b.add({ name, op: 'select', inputs: [x.id], params: { index: { shape: r.dims.slice(), data: r.data instanceof Float32Array ? r.data : Float32Array.from(r.data) } }, sourceClass: n.op });
    this.tensor(n, id, 'nd');
  }

  /**
   * InstanceNorm (groups = 0: one per channel) and GroupNorm over [1, C, …]: a LayerNorm over the last axis of
   * [1, G, C/G·…] between reshapes, then the per-channel affine part.
   */
  private groupNorm(n: OnnxNode, groups: number): void {
    const name = this.nodeName(n);
    const x = this.toNd(this.tensorIn(n, 0), name);
    const dims = this.shapeOf(x);
    const C = dims[1];
    const G = groups || C;
    if (dims[0] !== 1 || dims.length < 3 || C % G !== 0) this.fail(n, `normalising [${dims.join(', ')}] in ${G} groups is not supported`);
    const rows = this.irNode(`${name}/groups`, 'reshape', x.id, { targetShape: [1, G, sizeOf(dims) / G] }, n.op);
    const ln = this.b.add({ name, op: 'layerNorm', inputs: [rows], attrs: { epsilon: n.attrs.get('epsilon')?.f ?? 1e-5 }, sourceClass: n.op });
    const back: TensorVal = { kind: 'tensor', id: this.irNode(`${name}/ungroup`, 'reshape', ln, { targetShape: dims }, n.op), layout: 'nd' };
    const scale = this.optConst(n, 1);
    const bias = this.optConst(n, 2);
    const trivial = (!scale || scale.data.every((v) => v === 1)) && (!bias || bias.data.every((v) => v === 0));
    if (trivial) return this.tensor(n, back.id, 'nd');
    if (dims.length !== 4) this.fail(n, 'an affine part on a non-image tensor is not supported');
    // per channel (GroupNormalization's scale may also come per group in old opsets: broadcast it)
    const per = (c: ConstTensor | undefined, dflt: number): Float32Array => {
      if (!c) return new Float32Array(C).fill(dflt);
      if (c.data.length === C) return Float32Array.from(c.data);
      if (c.data.length === G) return Float32Array.from({ length: C }, (_, i) => c.data[Math.floor(i / (C / G))]);
      this.fail(n, `scale/bias of ${c.data.length} values for ${C} channels`, 'bad-model');
    };
    const sp = this.ndToSpatial(back, name);
    this.tensor(n, addAffine(this.b, `${name}/affine`, sp.id, C, per(scale, 1), per(bias, 0), n.op), 'nchw');
  }

  private layerNorm(n: OnnxNode): void {
    let x = this.tensorIn(n, 0);
    if (x.layout === 'nchw' || x.chw) x = this.toNd(x, this.nodeName(n));
    const s = this.shapeOf(x);
    const rank = x.layout === 'nd' ? s.length : x.layout === 'flat' ? 2 : 4;
    const axis = this.attrI(n, 'axis', -1);
    if (axis !== -1 && axis !== rank - 1) this.fail(n, `normalisation over axes from ${axis} on is not supported (the last axis only)`);
    const D = s[s.length - 1];
    const p = (k: number, what: string) => {
      const c = this.optConst(n, k);
      if (!c) return undefined;
      const v = perChannel(c, D, 1);
      if (!v) this.fail(n, `${what} of shape [${c.dims.join(', ')}] is not per feature`, 'bad-model');
      return { shape: [D], data: v };
    };
    const gamma = p(1, 'scale');
    const beta = p(2, 'bias');
    const id = this.b.add({
      name: this.nodeName(n), op: 'layerNorm', inputs: [x.id], sourceClass: 'LayerNorm',
      params: { ...(gamma ? { gamma } : {}), ...(beta ? { beta } : {}) }, attrs: { epsilon: n.attrs.get('epsilon')?.f ?? 1e-5 },
    });
    this.tensor(n, id, x.layout);
  }

  private channelAxisFromEnd(x: TensorVal): number {
    return x.layout === 'nchw' ? 3 : 1;
  }

  private arith(n: OnnxNode): void {
    let a = this.val(n, 0)!;
    let c = this.val(n, 1)!;
    const name = this.nodeName(n);
    if (a.kind === 'tensor' && c.kind === 'tensor') {
      if (a.layout !== c.layout || !!a.chw !== !!c.chw) {
        a = this.toNd(a, name);
        c = this.toNd(c, name);
      }
      if (n.op === 'Add') {
        const sa = this.shapeOf(a);
        const sc = this.shapeOf(c);
        if (sa.length !== sc.length || sa.some((d, i) => d !== sc[i])) this.fail(n, `adding shapes [${sa}] and [${sc}] needs broadcasting, which is not supported`);
        const id = this.b.add({ name, op: 'add', inputs: [a.id, c.id], sourceClass: 'Add' });
        return this.tensor(n, id, a.layout, a.chw);
      }
      if (n.op === 'Mul') {
        // a gate (squeeze-excite, hard-swish): the broadcast operand is the gate, else the second one
        const sa = this.shapeOf(a);
        const sc = this.shapeOf(c);
        const [sig, gate] = sc.reduce((x, y) => x * y, 1) > sa.reduce((x, y) => x * y, 1) ? [c, a] : [a, c];
        const id = addGatingMul(this.b, name, sig.id, gate.id, 'Mul', this.file);
        return this.tensor(n, id, sig.layout, sig.chw);
      }
      this.fail(n, `${n.op} of two computed tensors is not supported`);
    }
    const [x0, k, constFirst] = a.kind === 'tensor' ? [a, (c as ConstVal).c, false] : [c as TensorVal, (a as ConstVal).c, true];
    const x = this.forChannelConst(n, x0, k, name);
    const C = channelsOf(this.b, x.id);
    const v = perChannel(k, C, this.channelAxisFromEnd(x));
    if (!v) return this.addFullConstant(n, x, k, constFirst);
    const uses = this.uses.get(x0 === a ? n.inputs[0] : n.inputs[1]) ?? 0;
    // a LayerNorm's own affine part (exported as Mul and Add after it) becomes its gamma and beta
    const ln = this.b.nodes[x.id];
    if (ln.op === 'layerNorm' && uses === 1 && !this.aliased.has(x.id) && (n.op === 'Mul' || n.op === 'Add')) {
      const g = ln.params.gamma?.data ?? new Float32Array(C).fill(1);
      const bt = ln.params.beta?.data ?? new Float32Array(C);
      ln.params.gamma = { shape: [C], data: n.op === 'Mul' ? g.map((t, i) => t * v[i]) : g };
      ln.params.beta = { shape: [C], data: n.op === 'Mul' ? bt.map((t, i) => t * v[i]) : bt.map((t, i) => t + v[i]) };
      return this.set(n, x);
    }
    let id: number;
    switch (n.op) {
      case 'Add':
        id = this.aliased.has(x.id) ? addAffine(this.b, name, x.id, C, undefined, v, 'Add') : addBiasOrAffine(this.b, name, x.id, v, uses, 'Add');
        break;
      case 'Sub':
        id = constFirst
          ? addAffine(this.b, name, x.id, C, new Float32Array(C).fill(-1), v, 'Sub')
          : this.aliased.has(x.id) ? addAffine(this.b, name, x.id, C, undefined, v.map((t) => -t), 'Sub') : addBiasOrAffine(this.b, name, x.id, v.map((t) => -t), uses, 'Sub');
        break;
      case 'Mul':
        id = addAffine(this.b, name, x.id, C, v, undefined, 'Mul');
        break;
      default: // Div
        if (constFirst) this.fail(n, 'dividing a constant by a tensor is not supported');
        id = addAffine(this.b, name, x.id, C, v.map((t) => 1 / t), undefined, 'Div');
    }
    this.tensor(n, id, x.layout, x.chw);
  }

  /** x + K or x − K with a constant K that varies along more than the channel axis (position embedding, attention bias). */
  private addFullConstant(n: OnnxNode, x0: TensorVal, k: ConstTensor, constFirst: boolean): void {
    const name = this.nodeName(n);
    if ((n.op === 'Sub' || n.op === 'Div') && constFirst) this.fail(n, `${n.op} of a constant by a tensor is not supported`);
    const x = this.toNd(x0, name);
    const dims = this.shapeOf(x);
    let full: ConstTensor;
    try {
      const f = n.op === 'Sub' ? (t: number) => -t : n.op === 'Div' ? (t: number) => 1 / t : (t: number) => t;
      full = expandConst({ ...k, data: k.data.map(f) }, dims);
    } catch {
      this.fail(n, `constant of shape [${k.dims.join(', ')}] does not broadcast to [${dims.join(', ')}]`);
    }
    if (!sameList(full.dims, dims)) this.fail(n, `constant of shape [${k.dims.join(', ')}] broadcasts the tensor [${dims.join(', ')}] to [${full.dims.join(', ')}]`);
    const cid = this.constantNode(`${name}/const`, full);
    // a constant scale is a gate (relevance stays on the tensor, as the ε-rule of a bias-free diagonal map)
    if (n.op === 'Mul' || n.op === 'Div') return this.tensor(n, addGatingMul(this.b, name, x.id, cid, n.op, this.file), 'nd');
    this.tensor(n, this.b.add({ name, op: 'add', inputs: [x.id, cid], sourceClass: n.op }), 'nd');
  }

  /**
   * The tensor to apply a per-channel constant to: a constant [C, 1, 1] on an image in ONNX order takes
   * the image back to its layout. Per-element constants on a flattened NCHW map are refused.
   */
  private forChannelConst(n: OnnxNode, x: TensorVal, k: ConstTensor, name: string): TensorVal {
    if (x.layout === 'nd' && this.shapeOf(x).length === 4 && this.shapeOf(x)[0] === 1 && k.data.length > 1
      && !perChannel(k, this.shapeOf(x)[3], 1) && perChannel(k, this.shapeOf(x)[1], 3)) x = this.ndToSpatial(x, name);
    if (x.chw && k.data.length > 1) this.fail(n, 'per-element constants on a flattened NCHW map are not supported');
    return x;
  }

  /** PRelu with one slope per channel (or one for all). */
  private prelu(n: OnnxNode): void {
    const name = this.nodeName(n);
    const k = this.constIn(n, 1, 'slope');
    const x = this.forChannelConst(n, this.tensorIn(n, 0), k, name);
    const C = channelsOf(this.b, x.id);
    const v = perChannel(k, C, this.channelAxisFromEnd(x));
    if (!v) this.fail(n, `slope of shape [${k.dims.join(', ')}] is not one value per channel (${C})`);
    const id = this.b.add({ name, op: 'prelu', inputs: [x.id], params: { slope: { shape: [C], data: v } }, sourceClass: n.op });
    this.tensor(n, id, x.layout, x.chw);
  }

  private act(n: OnnxNode, fn: ActivationFn, extra: { alpha?: number; clipMin?: number; clipMax?: number } = {}): void {
    const x = this.tensorIn(n, 0);
    const id = this.b.add({ name: this.nodeName(n), op: 'activation', inputs: [x.id], attrs: { activation: fn, ...extra }, sourceClass: n.op });
    this.tensor(n, id, x.layout, x.chw);
  }

  private clip(n: OnnxNode): void {
    let lo: number;
    let hi: number;
    if (this.opset < 11) {
      lo = n.attrs.get('min')?.f ?? -Infinity;
      hi = n.attrs.get('max')?.f ?? Infinity;
    } else {
      lo = this.optConst(n, 1)?.data[0] ?? -Infinity;
      hi = this.optConst(n, 2)?.data[0] ?? Infinity;
    }
    if (lo === 0 && hi === 6) return this.act(n, 'relu6');
    if (lo === 0 && hi === Infinity) return this.act(n, 'relu');
    return this.act(n, 'clip', { clipMin: lo, clipMax: hi });
  }

  /** HardSigmoid = clip(αx + β, 0, 1) (an affine and a clip); HardSwish = x · HardSigmoid(x) with α = 1/6. */
  private hard(n: OnnxNode): void {
    const x = this.tensorIn(n, 0);
    const C = channelsOf(this.b, x.id);
    const name = this.nodeName(n);
    const swish = n.op === 'HardSwish';
    const alpha = swish ? 1 / 6 : n.attrs.get('alpha')?.f ?? 0.2;
    const beta = swish ? 0.5 : n.attrs.get('beta')?.f ?? 0.5;
    const aff = addAffine(this.b, `${name}/affine`, x.id, C, new Float32Array(C).fill(alpha), new Float32Array(C).fill(beta), n.op);
    const gate = this.b.add({ name: swish ? `${name}/gate` : name, op: 'activation', inputs: [aff], attrs: { activation: 'clip', clipMin: 0, clipMax: 1 }, sourceClass: n.op });
    const id = swish ? addGatingMul(this.b, name, x.id, gate, 'HardSwish', this.file) : gate;
    this.tensor(n, id, x.layout, x.chw);
  }

  private softmax(n: OnnxNode): void {
    const x = this.tensorIn(n, 0);
    const axis = this.attrI(n, 'axis', this.opset < 13 ? 1 : -1);
    const rank = this.logicalDims(x).length;
    const last = axis === -1 || axis === rank - 1;
    if (x.layout === 'nchw' || x.chw || !last) this.fail(n, `softmax over axis ${axis} of a rank-${rank} tensor is not supported (the last axis only)`);
    // attention weights get their own op (and rules); a classifier's softmax stays an activation
    if (x.layout === 'nd' && rank > 2) return this.tensor(n, this.b.add({ name: this.nodeName(n), op: 'softmax', inputs: [x.id], sourceClass: 'Softmax' }), 'nd');
    this.act(n, 'softmax');
  }

  private pool(n: OnnxNode): void {
    const x = this.spatialIn(n);
    const [h, w, C] = this.shapeOf(x);
    const poolSize = this.pair(n, 'kernel_shape', [1, 1]);
    const strides = this.pair(n, 'strides', [1, 1]);
    const dil = this.pair(n, 'dilations', [1, 1]);
    if (dil[0] !== 1 || dil[1] !== 1) this.fail(n, 'dilated pooling is not supported');
    let padding = this.convPadding(n, h, w, poolSize[0], poolSize[1], strides, [1, 1]);
    const name = this.nodeName(n);
    const p = resolvePadding(padding, h, w, poolSize[0], poolSize[1], strides);
    // ceil_mode (PyTorch's rule): one more window where it still starts inside the input or the
    // leading pad; it reaches past the trailing pad, which counts for neither max nor average
    const extra = [0, 0];
    if (this.attrI(n, 'ceil_mode', 0) === 1) {
      [h, w].forEach((size, ax) => {
        const [p0, p1] = p[ax];
        let out = Math.ceil((size + p0 + p1 - poolSize[ax]) / strides[ax]) + 1;
        if ((out - 1) * strides[ax] >= size + p0) out--;
        extra[ax] = Math.max(0, (out - 1) * strides[ax] + poolSize[ax] - (size + p0 + p1));
      });
    }
    const ceilExtra = extra[0] > 0 || extra[1] > 0;
    if (ceilExtra) padding = [[p[0][0], p[0][1] + extra[0]], [p[1][0], p[1][1] + extra[1]]];
    let input = x.id;
    if (n.op === 'AveragePool' && Array.isArray(padding)) {
      const includePad = this.attrI(n, 'count_include_pad', 0) === 1;
      const same = resolvePadding('same', h, w, poolSize[0], poolSize[1], strides);
      if (!ceilExtra && !includePad && JSON.stringify(same) === JSON.stringify(padding)) padding = 'same';
      else {
        // zero pad, a valid average (÷ k²), then k²/count per window where count differs
        input = this.b.add({ name: `${name}/pad`, op: 'pad', inputs: [x.id], attrs: { pads: padding }, sourceClass: 'AveragePool' });
        const id = this.b.add({ name, op: 'avgPool', inputs: [input], sourceClass: n.op, attrs: { pool: { poolSize, strides, padding: 'valid' } } });
        const [oh, ow] = this.b.nodes[id].shape;
        const counted = (ax: number, o: number): number => {
          const size = [h, w][ax];
          const lo = includePad ? -p[ax][0] : 0;
          const hi = includePad ? size + p[ax][1] : size;
          const start = o * strides[ax] - p[ax][0];
          return Math.max(0, Math.min(start + poolSize[ax], hi) - Math.max(start, lo));
        };
        const k2 = poolSize[0] * poolSize[1];
        const scale = new Float32Array(oh * ow * C);
        let differs = false;
        for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
          const c = counted(0, i) * counted(1, j);
          if (c !== k2) differs = true;
          scale.fill(c > 0 ? k2 / c : 0, (i * ow + j) * C, (i * ow + j + 1) * C);
        }
        if (!differs) return this.tensor(n, id, 'nchw');
        const gate = this.b.add({ name: `${name}/count`, op: 'constant', inputs: [this.inputId], params: { value: { shape: [oh, ow, C], data: scale } }, sourceClass: 'AveragePool' });
        return this.tensor(n, addGatingMul(this.b, `${name}/divisor`, id, gate, 'AveragePool', this.file), 'nchw');
      }
    }
    const id = this.b.add({
      name, op: n.op === 'MaxPool' ? 'maxPool' : 'avgPool', inputs: [input], sourceClass: n.op,
      attrs: { pool: { poolSize, strides, padding } },
    });
    this.tensor(n, id, 'nchw');
  }


  private globalPool(n: OnnxNode, keepdims = true): void {
    const x = this.tensorIn(n, 0).layout === 'nd' ? this.spatialIn(n) : this.tensorIn(n, 0);
    if (x.layout === 'flat') this.fail(n, 'expects a feature map');
    const [h, w, C] = this.shapeOf(x);
    const name = this.nodeName(n);
    let id: number;
    if (n.op === 'GlobalMaxPool') {
      id = this.b.add({ name, op: 'maxPool', inputs: [x.id], attrs: { pool: { poolSize: [h, w], strides: [h, w], padding: 'valid' } }, sourceClass: n.op });
      if (!keepdims) id = this.b.add({ name: `${name}/squeeze`, op: 'flatten', inputs: [id], sourceClass: n.op });
      return this.tensor(n, id, keepdims ? x.layout : 'flat');
    }
    id = this.b.add({ name, op: 'globalAvgPool', inputs: [x.id], sourceClass: n.op });
    if (keepdims) id = this.b.add({ name: `${name}/keepdims`, op: 'reshape', inputs: [id], attrs: { targetShape: [1, 1, C] }, sourceClass: n.op });
    this.tensor(n, id, keepdims ? x.layout : 'flat');
  }

  private reduceMean(n: OnnxNode): void {
    const x = this.tensorIn(n, 0);
    const axes = (this.attrInts(n, 'axes') ?? (n.inputs[1] ? Array.from(this.constIn(n, 1, 'axes').data) : [])).map((a) => (a < 0 ? a + 4 : a)).sort();
    const spatial = x.layout === 'nchw' ? [2, 3] : [1, 2];
    if (x.layout === 'flat' || !sameList(axes, spatial)) this.fail(n, `mean over axes [${axes.join(', ')}] is supported only over the spatial axes`);
    this.globalPool({ ...n, op: 'GlobalAveragePool' }, this.attrI(n, 'keepdims', 1) === 1);
  }

  /** A feature map flattened in the source's order. */
  private flattenMap(n: OnnxNode, x: TensorVal): void {
    const [h, w, C] = this.shapeOf(x);
    const id = this.b.add({ name: this.nodeName(n), op: 'flatten', inputs: [x.id], sourceClass: n.op });
    const needsPerm = x.layout === 'nchw' && h * w > 1 && C > 1;
    this.tensor(n, id, 'flat', needsPerm ? [C, h, w] : undefined);
  }

  private flatten(n: OnnxNode): void {
    const x = this.tensorIn(n, 0);
    const axis = this.attrI(n, 'axis', 1);
    if (axis === 1 && x.layout === 'flat') return this.alias(n, x);
    if (axis === 1 && x.layout !== 'nd') return this.flattenMap(n, x);
    const d = this.logicalDims(x);
    const ax = axis < 0 ? axis + d.length : axis;
    const lead = sizeOf(d.slice(0, ax));
    this.reshapeNd(n, x, [lead, sizeOf(d) / lead]);
  }

  private reshape(n: OnnxNode): void {
    const x = this.tensorIn(n, 0);
    const shape = this.constIn(n, 1, 'shape');
    const logical = this.logicalDims(x);
    const target = Array.from(shape.data).map((d, i) => (d === 0 && this.attrI(n, 'allowzero', 0) === 0 ? logical[i] : d));
    const total = logical.reduce((a, b) => a * b, 1);
    const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const dims = target.map((d) => (d === -1 ? total / known : d));
    if (dims.reduce((a, b) => a * b, 1) !== total) this.fail(n, `cannot reshape [${logical.join(', ')}] to [${target.join(', ')}]`, 'bad-model');
    if (dims[0] !== 1 || x.layout === 'nd') return this.reshapeNd(n, x, dims);
    if (dims.length === 2) {
      if (x.layout === 'flat') return this.alias(n, x);
      return this.flattenMap(n, x);
    }
    if (dims.length === 4 && x.layout === 'flat' && !x.chw) {
      const K = dims[1] * dims[2] * dims[3];
      const name = this.nodeName(n);
      if (dims[2] === 1 && dims[3] === 1) {
        const id = this.b.add({ name, op: 'reshape', inputs: [x.id], attrs: { targetShape: [1, 1, K] }, sourceClass: 'Reshape' });
        return this.tensor(n, id, 'nchw');
      }
    }
    if (dims.length === 4 && x.layout !== 'flat' && sameList(dims, logical)) return this.alias(n, x);
    this.reshapeNd(n, x, dims);
  }

  /** Reshape of any rank in the ONNX order (the nd layout); an unchanged shape is an alias. */
  private reshapeNd(n: OnnxNode, x0: TensorVal, dims: number[]): void {
    const x = this.toNd(x0, this.nodeName(n));
    if (sizeOf(dims) !== sizeOf(this.shapeOf(x))) this.fail(n, `cannot reshape [${this.shapeOf(x).join(', ')}] to [${dims.join(', ')}]`, 'bad-model');
    if (sameList(dims, this.shapeOf(x))) return this.alias(n, x);
    this.tensor(n, this.irNode(this.nodeName(n), 'reshape', x.id, { targetShape: dims }, n.op), 'nd');
  }

  private squeeze(n: OnnxNode): void {
    const x = this.tensorIn(n, 0);
    const axes = (this.attrInts(n, 'axes') ?? (n.inputs[1] ? Array.from(this.constIn(n, 1, 'axes').data) : [])).slice().sort();
    const name = this.nodeName(n);
    const general = (): void => {
      const d = this.logicalDims(x);
      const r = n.op === 'Squeeze' ? d.length : d.length + axes.length;
      const norm = axes.map((a) => (a < 0 ? a + r : a));
      if (n.op === 'Squeeze') return this.reshapeNd(n, x, d.filter((v, i) => (norm.length ? !norm.includes(i) : v !== 1)));
      const out: number[] = [];
      let k = 0;
      for (let i = 0; i < r; i++) out.push(norm.includes(i) ? 1 : d[k++]);
      return this.reshapeNd(n, x, out);
    };
    if (x.layout === 'nd') return general();
    if (n.op === 'Squeeze') {
      if (x.layout === 'flat') return general();
      const [h, w] = this.shapeOf(x);
      const spatial = x.layout === 'nchw' ? [2, 3] : [1, 2];
      if (h !== 1 || w !== 1 || (axes.length > 0 && !sameList(axes.map((a) => (a < 0 ? a + 4 : a)), spatial))) {
        return general();
      }
      return this.flattenMap(n, x);
    }
    if (x.layout !== 'flat' || !(sameList(axes, [2, 3]) || sameList(axes, [-2, -1]))) return general();
    const K = this.shapeOf(x)[0];
    const id = this.b.add({ name, op: 'reshape', inputs: [x.id], attrs: { targetShape: [1, 1, K] }, sourceClass: 'Unsqueeze' });
    this.tensor(n, id, 'nchw');
  }

  private transpose(n: OnnxNode): void {
    const x = this.tensorIn(n, 0);
    const perm = this.attrInts(n, 'perm') ?? [];
    if (x.layout === 'nchw' && sameList(perm, [0, 2, 3, 1])) return this.set(n, { ...x, layout: 'nhwc' });
    if (x.layout === 'nhwc' && sameList(perm, [0, 3, 1, 2])) return this.set(n, { ...x, layout: 'nchw' });
    if (x.layout === 'flat' && sameList(perm, [0, 1])) return this.alias(n, x);
    // a 1×1 map: NCHW and NHWC hold the same values in the same order
    if ((x.layout === 'nchw' || x.layout === 'nhwc') && this.shapeOf(x)[0] === 1 && this.shapeOf(x)[1] === 1 && perm[0] === 0) {
      const logical = this.logicalDims(x);
      const moved = perm.map((p) => logical[p]);
      const cAxis = moved.indexOf(this.shapeOf(x)[2]);
      if (cAxis === 1) return this.set(n, { ...x, layout: 'nchw' });
      if (cAxis === 3) return this.set(n, { ...x, layout: 'nhwc' });
    }
    const nd = this.toNd(x, this.nodeName(n));
    const p = perm.length ? perm : this.shapeOf(nd).map((_, i, a) => a.length - 1 - i);
    if (p.every((v, i) => v === i)) return this.alias(n, nd);
    this.tensor(n, this.irNode(this.nodeName(n), 'transpose', nd.id, { perm: p }, 'Transpose'), 'nd');
  }

  private concat(n: OnnxNode): void {
    const vals = n.inputs.map((_, k) => this.val(n, k));
    const axis0 = this.attrI(n, 'axis', 1);
    const first = vals.find((v): v is TensorVal => v?.kind === 'tensor')!;
    const simple = vals.every((v) => v?.kind === 'tensor' && v.layout === first.layout && !v.chw) && first.layout !== 'nd'
      && axis0 !== 0 && !(first.layout === 'flat' && axis0 !== 1 && axis0 !== -1);
    if (!simple) {
      // any rank, constants (a class token) as constant nodes
      const name = this.nodeName(n);
      const ids = vals.map((v, k) => {
        if (!v) this.fail(n, `input ${k} is missing`, 'bad-model');
        return v.kind === 'const' ? this.constantNode(`${name}/const${k}`, v.c) : this.toNd(v, name).id;
      });
      const rank = this.b.nodes[ids[0]].shape.length;
      const ax = axis0 < 0 ? axis0 + rank : axis0;
      // the IR's concat axis counts the engine's batch axis in front of the ONNX shape
      return this.tensor(n, this.b.add({ name, op: 'concat', inputs: ids, attrs: { axis: ax + 1 }, sourceClass: 'Concat' }), 'nd');
    }
    const parts = n.inputs.map((_, k) => this.tensorIn(n, k));
    const layout = parts[0].layout;
    let axis = this.attrI(n, 'axis', 1);
    if (axis < 0) axis += layout === 'flat' ? 2 : 4;
    let irAxis: number;
    if (layout === 'flat') irAxis = axis === 1 ? -1 : NaN;
    else if (layout === 'nchw') irAxis = ({ 1: -1, 2: 1, 3: 2 } as Record<number, number>)[axis] ?? NaN;
    else irAxis = ({ 1: 1, 2: 2, 3: -1 } as Record<number, number>)[axis] ?? NaN;
    if (Number.isNaN(irAxis)) this.fail(n, `concatenation on axis ${axis} (the batch axis) is not supported`);
    const id = this.b.add({ name: this.nodeName(n), op: 'concat', inputs: parts.map((p) => p.id), attrs: { axis: irAxis }, sourceClass: 'Concat' });
    this.tensor(n, id, layout);
  }

  private pad(n: OnnxNode): void {
    const t = this.tensorIn(n, 0);
    if (t.layout !== 'nchw') return this.movement(n);
    const x = this.spatialIn(n);
    const mode = n.attrs.get('mode')?.s ?? 'constant';
    if (mode !== 'constant') this.fail(n, `pad mode '${mode}' is not supported (constant zero only)`);
    let pads: number[];
    let value = 0;
    if (this.opset < 11) {
      pads = this.attrInts(n, 'pads') ?? [];
      value = n.attrs.get('value')?.f ?? 0;
    } else {
      pads = Array.from(this.constIn(n, 1, 'pads').data);
      value = this.optConst(n, 2)?.data[0] ?? 0;
    }
    if (value !== 0) this.fail(n, `padding with value ${value} is not supported (zero only)`);
    if (pads.length !== 8 || pads.some((p) => p < 0)) this.fail(n, `pads [${pads.join(', ')}] are not supported`);
    if (pads[0] || pads[1] || pads[4] || pads[5]) this.fail(n, 'padding the batch or channel axis is not supported');
    const p: ExplicitPad = [[pads[2], pads[6]], [pads[3], pads[7]]];
    const id = this.b.add({ name: this.nodeName(n), op: 'pad', inputs: [x.id], attrs: { pads: p }, sourceClass: 'Pad' });
    this.tensor(n, id, 'nchw');
  }

  private shape(n: OnnxNode): void {
    const x = this.tensorIn(n, 0);
    let dims = this.logicalDims(x);
    const start = n.attrs.get('start')?.i;
    const end = n.attrs.get('end')?.i;
    if (start !== undefined || end !== undefined) {
      const r = dims.length;
      const s = Math.max(0, Math.min(r, (start ?? 0) < 0 ? (start ?? 0) + r : start ?? 0));
      const e = Math.max(0, Math.min(r, (end ?? r) < 0 ? (end ?? r) + r : end ?? r));
      dims = dims.slice(s, e);
    }
    this.set(n, { kind: 'const', c: constOf([dims.length], dims, 'int') });
  }
}

function sameList(a: readonly number[] | undefined, b: readonly number[]): boolean {
  return !!a && a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Initializers are read as views of the file's bytes (onnxProto.ts): a parameter the graph keeps as such a
 * view is copied here, once per array (shared weights stay shared), so the graph never holds the file.
 */
export function ownParams(g: Graph): Graph {
  const copies = new Map<Float32Array, Float32Array>();
  for (const n of g.nodes) {
    for (const p of Object.values(n.params)) {
      // a kernel in the file's layout owns its array already (conv: not read here, so not laid out)
      if (!p || p.oihw || p.data.byteLength === p.data.buffer.byteLength) continue;
      let c = copies.get(p.data);
      if (!c) copies.set(p.data, (c = p.data.slice()));
      p.data = c;
    }
  }
  return g;
}

export function loadOnnx(file: string, opts: LoadOptions = {}): Graph {
  const source = SparseOnnx.open(file);
  try {
    const buf = source.bytes;
    if (buf.length === 0) throw new LensError('bad-model', 'file is empty', file);
    // ModelProto starts with ir_version (field 1, varint): 0x08
    if (buf[0] !== 0x08) throw new LensError('bad-model', 'not an ONNX model (no ModelProto header; wrong file or not protobuf)', file);
    let model: Field[];
    try {
      model = decodeFields(buf);
      if (!first(model, 7)) throw new ProtoError('no graph field');
      // decode the graph eagerly so a truncated file is reported here
      const g = decodeFields(first(model, 7)!.bytes!);
      for (const f of g) if (f.wire === 2 && (f.no === 1 || f.no === 5)) decodeFields(f.bytes!);
    } catch (e) {
      if (e instanceof ProtoError) throw new LensError('bad-model', `not a valid ONNX file, truncated or corrupt (${e.message})`, file);
      throw e;
    }
    const reader = new OnnxReader(file, source);
    try {
      return ownParams(new OnnxConverter(file, opts).convert(model, reader));
    } catch (e) {
      if (e instanceof ProtoError) throw new LensError('bad-model', `corrupt ONNX data (${e.message})`, file);
      throw e;
    }
  } finally {
    source.close();
  }
}

export const onnxLoader: ModelLoader = {
  name: 'onnx',
  match(file: string, head: Uint8Array): boolean {
    void head;
    return /\.onnx$/i.test(file);
  },
  async open(file: string, opts?: LoadOptions): Promise<Graph> {
    return loadOnnx(file, opts);
  },
};
