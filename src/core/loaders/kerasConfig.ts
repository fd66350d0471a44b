/**
 * Keras model config (Keras 2 as in TF.js model.json and .h5, Keras 3 as in .keras) -> IR.
 * Layers with a fused activation become a linear node (the layer's own name) followed by an
 * activation node; training-only layers become identity nodes.
 */
import type { ActivationFn, ExplicitPad, Graph, NodeParams, ParamArray, Padding } from '../graph/ir';
import { GraphBuilder } from '../graph/builder';
import { LensError } from '../errors';

/** Looks up a layer weight by the layer's name and the Keras weight name (kernel, bias, gamma, …). */
export type WeightLookup = (layerName: string, weightName: string) => ParamArray | undefined;

interface KerasLayer {
  class_name: string;
  name?: string;
  config: Record<string, unknown> & { name?: string };
  inbound_nodes?: unknown[];
}

type Ref = [string, number, number];

const ACTIVATIONS: Record<string, ActivationFn> = {
  relu: 'relu', relu6: 'relu6', sigmoid: 'sigmoid', tanh: 'tanh', softmax: 'softmax', linear: 'linear',
  elu: 'elu', leaky_relu: 'leakyRelu',
};

const IDENTITY_CLASSES = new Set([
  'Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization',
]);

function pair(v: unknown, dflt: [number, number]): [number, number] {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'number') return [v, v];
  const a = v as number[];
  return [a[0], a[1] ?? a[0]];
}

function paddingOf(v: unknown, layer: string, file: string): Padding {
  if (v === 'same' || v === 'valid') return v;
  throw new LensError('unsupported-op', `layer '${layer}': padding '${String(v)}' is not supported`, file);
}

/** Keras 2 inbound node: [[name, node, tensor, kwargs], …]; Keras 3: {args: […keras_history…]}. */
function inboundRefs(inbound: unknown): Ref[] {
  const refs: Ref[] = [];
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) {
      if (typeof x[0] === 'string' && typeof x[1] === 'number' && typeof x[2] === 'number') {
        refs.push([x[0], x[1], x[2]]);
        return;
      }
      x.forEach(visit);
    } else if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if (o.class_name === '__keras_tensor__') {
        const h = (o.config as { keras_history: Ref }).keras_history;
        refs.push([h[0], h[1], h[2]]);
        return;
      }
      if ('args' in o) visit(o.args);
    }
  };
  visit(inbound);
  return refs;
}

function refList(v: unknown): Ref[] {
  const refs: Ref[] = [];
  const visit = (x: unknown): void => {
    if (Array.isArray(x) && typeof x[0] === 'string') refs.push([x[0], x[1] as number, x[2] as number]);
    else if (Array.isArray(x)) x.forEach(visit);
  };
  visit(v);
  return refs;
}

function layerName(l: KerasLayer): string {
  return (l.config.name ?? l.name) as string;
}

function batchShape(cfg: Record<string, unknown>): number[] | undefined {
  const s = (cfg.batch_input_shape ?? cfg.batch_shape) as (number | null)[] | undefined;
  if (s) return s.slice(1).map((d) => d ?? -1);
  const i = cfg.input_shape as (number | null)[] | undefined;
  return i ? i.map((d) => d ?? -1) : undefined;
}

export interface KerasModelConfig {
  class_name: string;
  config: unknown;
}

export function kerasConfigToGraph(model: KerasModelConfig, weights: WeightLookup, file: string, format: string): Graph {
  const conv = new KerasConverter(weights, file);
  return conv.convert(model, format);
}

class KerasConverter {
  private readonly b: GraphBuilder;
  /** `${layer}:${nodeIndex}:${tensorIndex}` -> IR node id */
  private readonly tensors = new Map<string, number>();

  constructor(private readonly weights: WeightLookup, private readonly file: string) {
    this.b = new GraphBuilder(file);
  }

  private fail(layer: string, msg: string, code: 'bad-model' | 'unsupported-op' | 'missing-weights' = 'bad-model'): never {
    throw new LensError(code, `layer '${layer}': ${msg}`, this.file);
  }

  convert(model: KerasModelConfig, format: string): Graph {
    const cls = model.class_name;
    const cfg = model.config as Record<string, unknown>;
    let name = 'model';
    let outputId: number;
    if (cls === 'Sequential') {
      const layers = (Array.isArray(cfg) ? cfg : cfg.layers) as KerasLayer[];
      name = (!Array.isArray(cfg) && (cfg.name as string)) || 'sequential';
      if (!Array.isArray(layers) || layers.length === 0) throw new LensError('bad-model', 'Sequential model has no layers', this.file);
      let prev = -1;
      for (const l of layers) {
        if (prev < 0) {
          const shape = batchShape(l.config);
          if (!shape) this.fail(layerName(l), 'the first layer has no input shape');
          prev = this.input(l.class_name === 'InputLayer' ? layerName(l) : 'input', shape);
          if (l.class_name === 'InputLayer') continue;
        }
        prev = this.layer(l, [prev]);
      }
      outputId = prev;
    } else if (cls === 'Model' || cls === 'Functional') {
      name = (cfg.name as string) || 'model';
      const layers = cfg.layers as KerasLayer[];
      const inputs = refList(cfg.input_layers);
      const outputs = refList(cfg.output_layers);
      if (inputs.length !== 1) throw new LensError('unsupported-op', `model has ${inputs.length} inputs; one image input is supported`, this.file);
      if (outputs.length !== 1) throw new LensError('unsupported-op', `model has ${outputs.length} outputs; one output is supported`, this.file);
      for (const l of layers) {
        const lname = layerName(l);
        if (l.class_name === 'InputLayer') {
          const shape = batchShape(l.config);
          if (!shape) this.fail(lname, 'input layer has no shape');
          this.tensors.set(`${lname}:0:0`, this.input(lname, shape));
          continue;
        }
        const nodes = l.inbound_nodes ?? [];
        nodes.forEach((inbound, k) => {
          const ins = inboundRefs(inbound).map(([n, ni, ti]) => {
            const id = this.tensors.get(`${n}:${ni}:${ti}`);
            if (id === undefined) this.fail(lname, `input '${n}' is not defined before it (or is a multi-output layer)`);
            return id;
          });
          this.tensors.set(`${lname}:${k}:0`, this.layer(l, ins, k));
        });
      }
      const [on, oi, ot] = outputs[0];
      const id = this.tensors.get(`${on}:${oi}:${ot}`);
      if (id === undefined) throw new LensError('bad-model', `output layer '${on}' not found`, this.file);
      outputId = id;
    } else {
      throw new LensError('unsupported-op', `model class '${cls}' is not supported (Sequential or functional Model)`, this.file);
    }
    return this.b.build(name, format, outputId);
  }

  private input(name: string, shape: number[] | undefined): number {
    if (!shape || shape.length !== 3 || shape.some((d) => !(d > 0))) {
      throw new LensError('unsupported-op', `input '${name}' has shape [${shape?.join(', ')}]; an image input H×W×C with fixed size is needed`, this.file);
    }
    return this.b.add({ name, op: 'input', inputs: [], shape, sourceClass: 'InputLayer' });
  }

  private weight(layer: string, w: string, required = true, expect?: (number | undefined)[]): ParamArray | undefined {
    const p = this.weights(layer, w);
    if (!p && required) this.fail(layer, `weight '${w}' is missing from the weights`, 'missing-weights');
    if (p && expect && (p.shape.length !== expect.length || expect.some((d, i) => d !== undefined && d !== p.shape[i]))) {
      this.fail(layer, `weight '${w}' has shape [${p.shape.join(', ')}], the layer needs [${expect.map((d) => d ?? '?').join(', ')}]`);
    }
    if (p && p.data.length !== p.shape.reduce((a, b) => a * b, 1)) this.fail(layer, `weight '${w}' has ${p.data.length} values for shape [${p.shape.join(', ')}]`);
    for (const v of p?.data ?? []) {
      if (!Number.isFinite(v)) throw new LensError('non-finite', `layer '${layer}': weight '${w}' contains NaN or Inf`, this.file);
    }
    return p;
  }

  private channels(id: number): number {
    const s = this.b.nodes[id].shape;
    return s[s.length - 1];
  }

  private activation(layer: string, act: unknown, input: number, cls: string): number {
    if (act === undefined || act === null || act === 'linear') return input;
    const fn = typeof act === 'string' ? ACTIVATIONS[act] : undefined;
    if (!fn) this.fail(layer, `activation '${JSON.stringify(act)}' is not supported`, 'unsupported-op');
    return this.b.add({ name: `${layer}/${act}`, op: 'activation', inputs: [input], attrs: { activation: fn }, sourceClass: cls });
  }

  private layer(l: KerasLayer, ins: number[], callIndex = 0): number {
    const c = l.config;
    const base = layerName(l);
    const name = callIndex > 0 ? `${base}_${callIndex}` : base;
    const cls = l.class_name;
    const one = (): number => {
      if (ins.length !== 1) this.fail(name, `expects one input, got ${ins.length}`);
      return ins[0];
    };
    if (c.data_format !== undefined && c.data_format !== 'channels_last') {
      this.fail(name, `data_format '${String(c.data_format)}' is not supported (channels_last only)`, 'unsupported-op');
    }
    switch (cls) {
      case 'Conv2D': case 'DepthwiseConv2D': {
        if (cls === 'Conv2D' && (c.groups as number ?? 1) !== 1) this.fail(name, 'grouped Conv2D is not supported', 'unsupported-op');
        const depthwise = cls === 'DepthwiseConv2D';
        const [kh, kw] = pair(c.kernel_size, [NaN, NaN]);
        const inC = this.channels(one());
        const outC = depthwise ? (c.depth_multiplier as number | undefined ?? 1) : (c.filters as number | undefined);
        const params: NodeParams = {
          kernel: this.weight(base, depthwise ? 'depthwise_kernel' : 'kernel', true,
            [Number.isNaN(kh) ? undefined : kh, Number.isNaN(kw) ? undefined : kw, inC, outC]),
        };
        if (c.use_bias !== false) params.bias = this.weight(base, 'bias', true, [depthwise ? inC * (outC ?? 1) : outC]);
        const id = this.b.add({
          name, op: depthwise ? 'depthwiseConv2d' : 'conv2d', inputs: [one()], params, sourceClass: cls,
          attrs: { conv: { strides: pair(c.strides, [1, 1]), padding: paddingOf(c.padding, name, this.file), dilations: pair(c.dilation_rate, [1, 1]) } },
        });
        return this.activation(name, c.activation, id, cls);
      }
      case 'SeparableConv2D': {
        if ((c.depth_multiplier as number ?? 1) < 1) this.fail(name, 'bad depth_multiplier');
        const dw = this.b.add({
          name: `${name}/depthwise`, op: 'depthwiseConv2d', inputs: [one()], sourceClass: cls,
          params: { kernel: this.weight(base, 'depthwise_kernel') },
          attrs: { conv: { strides: pair(c.strides, [1, 1]), padding: paddingOf(c.padding, name, this.file), dilations: pair(c.dilation_rate, [1, 1]) } },
        });
        const params: NodeParams = { kernel: this.weight(base, 'pointwise_kernel') };
        if (c.use_bias !== false) params.bias = this.weight(base, 'bias');
        const pw = this.b.add({
          name, op: 'conv2d', inputs: [dw], params, sourceClass: cls,
          attrs: { conv: { strides: [1, 1], padding: 'valid', dilations: [1, 1] } },
        });
        return this.activation(name, c.activation, pw, cls);
      }
      case 'Dense': {
        const units = c.units as number | undefined;
        const params: NodeParams = { kernel: this.weight(base, 'kernel', true, [this.channels(one()), units]) };
        if (c.use_bias !== false) params.bias = this.weight(base, 'bias', true, [units]);
        const id = this.b.add({ name, op: 'dense', inputs: [one()], params, sourceClass: cls });
        return this.activation(name, c.activation, id, cls);
      }
      case 'BatchNormalization': {
        const axis = Array.isArray(c.axis) ? (c.axis as number[])[0] : (c.axis as number | undefined) ?? -1;
        const rank = this.b.nodes[one()].shape.length;
        if (axis !== -1 && axis !== rank) this.fail(name, `BatchNormalization over axis ${axis} is not supported (channels only)`, 'unsupported-op');
        const ch = [this.channels(one())];
        const params: NodeParams = {
          mean: this.weight(base, 'moving_mean', true, ch),
          variance: this.weight(base, 'moving_variance', true, ch),
        };
        if (c.scale !== false) params.gamma = this.weight(base, 'gamma', true, ch);
        if (c.center !== false) params.beta = this.weight(base, 'beta', true, ch);
        return this.b.add({ name, op: 'batchNorm', inputs: [one()], params, attrs: { epsilon: (c.epsilon as number) ?? 1e-3 }, sourceClass: cls });
      }
      case 'Activation':
        return this.activation(name, c.activation, one(), cls) === ins[0]
          ? this.b.add({ name, op: 'identity', inputs: [one()], sourceClass: cls })
          : this.renameLast(name);
      case 'ReLU': {
        const maxValue = c.max_value as number | null | undefined;
        const slope = (c.negative_slope as number | undefined) ?? 0;
        if ((c.threshold as number | undefined ?? 0) !== 0) this.fail(name, 'ReLU with a threshold is not supported', 'unsupported-op');
        if (slope !== 0) {
          if (maxValue != null) this.fail(name, 'ReLU with both max_value and negative_slope is not supported', 'unsupported-op');
          return this.b.add({ name, op: 'activation', inputs: [one()], attrs: { activation: 'leakyRelu', alpha: slope }, sourceClass: cls });
        }
        if (maxValue == null) return this.b.add({ name, op: 'activation', inputs: [one()], attrs: { activation: 'relu' }, sourceClass: cls });
        return this.b.add({
          name, op: 'activation', inputs: [one()], sourceClass: cls,
          attrs: maxValue === 6 ? { activation: 'relu6' } : { activation: 'clip', clipMin: 0, clipMax: maxValue },
        });
      }
      case 'LeakyReLU':
        return this.b.add({
          name, op: 'activation', inputs: [one()], sourceClass: cls,
          attrs: { activation: 'leakyRelu', alpha: (c.alpha ?? c.negative_slope ?? 0.3) as number },
        });
      case 'ELU':
        return this.b.add({ name, op: 'activation', inputs: [one()], attrs: { activation: 'elu', alpha: (c.alpha as number) ?? 1 }, sourceClass: cls });
      case 'Softmax':
        return this.b.add({ name, op: 'activation', inputs: [one()], attrs: { activation: 'softmax' }, sourceClass: cls });
      case 'MaxPooling2D': case 'AveragePooling2D': {
        const poolSize = pair(c.pool_size, [2, 2]);
        return this.b.add({
          name, op: cls === 'MaxPooling2D' ? 'maxPool' : 'avgPool', inputs: [one()], sourceClass: cls,
          attrs: { pool: { poolSize, strides: pair(c.strides, poolSize), padding: paddingOf(c.padding ?? 'valid', name, this.file) } },
        });
      }
      case 'GlobalAveragePooling2D': {
        const id = this.b.add({ name, op: 'globalAvgPool', inputs: [one()], sourceClass: cls });
        if (c.keepdims !== true) return id;
        return this.b.add({ name: `${name}/keepdims`, op: 'reshape', inputs: [id], attrs: { targetShape: [1, 1, -1] }, sourceClass: cls });
      }
      case 'Flatten':
        return this.b.add({ name, op: 'flatten', inputs: [one()], sourceClass: cls });
      case 'Reshape':
        return this.b.add({ name, op: 'reshape', inputs: [one()], attrs: { targetShape: (c.target_shape as number[]).slice() }, sourceClass: cls });
      case 'ZeroPadding2D': {
        const p = c.padding as number | number[] | number[][];
        let pads: ExplicitPad;
        if (typeof p === 'number') pads = [[p, p], [p, p]];
        else if (typeof p[0] === 'number') pads = [[p[0] as number, p[0] as number], [p[1] as number, p[1] as number]];
        else pads = [[(p[0] as number[])[0], (p[0] as number[])[1]], [(p[1] as number[])[0], (p[1] as number[])[1]]];
        return this.b.add({ name, op: 'pad', inputs: [one()], attrs: { pads }, sourceClass: cls });
      }
      case 'Add':
        if (ins.length < 2) this.fail(name, 'Add needs two or more inputs');
        return this.b.add({ name, op: 'add', inputs: ins, sourceClass: cls });
      case 'Concatenate':
        return this.b.add({ name, op: 'concat', inputs: ins, attrs: { axis: (c.axis as number) ?? -1 }, sourceClass: cls });
      default:
        if (IDENTITY_CLASSES.has(cls)) return this.b.add({ name, op: 'identity', inputs: [one()], sourceClass: cls });
        this.fail(name, `layer class '${cls}' is not supported`, 'unsupported-op');
    }
  }

  /** An Activation layer's node keeps the layer's own name. */
  private renameLast(name: string): number {
    const n = this.b.nodes[this.b.nodes.length - 1];
    n.name = name;
    return n.id;
  }
}
