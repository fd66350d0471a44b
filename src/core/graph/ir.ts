/**
 * The engine's intermediate representation: a DAG of nodes in topological order, NHWC layout,
 * batch dimension omitted from shapes. Parameters are plain typed arrays so a graph is
 * backend-agnostic and can cross a worker boundary; the engine turns them into tensors.
 */

export type OpKind =
  | 'input'
  | 'conv2d'
  | 'depthwiseConv2d'
  | 'dense'
  | 'batchNorm'
  | 'activation'
  | 'maxPool'
  | 'avgPool'
  | 'globalAvgPool'
  | 'flatten'
  | 'reshape'
  | 'add'
  | 'concat'
  | 'pad'
  | 'identity'
  /** leaky ReLU with a learnt slope per channel (params.slope: [C]) */
  | 'prelu'
  /** elementwise product signal · gate: inputs [signal, gate]; the gate has the signal's shape or broadcasts from [1, 1, C] */
  | 'mul'
  // ---- tensors of any rank (token sequences [T, D] as well as images); see src/core/engine/tensorOps.ts
  /** permutes the axes (attrs.perm, batch excluded) */
  | 'transpose'
  /** each output element copies one input element (params.index: flat input index, −1 = zero): slices, pads, rolls, gathers */
  | 'select'
  /** a learnt constant (params.value; its one input is the graph input, for the batch size only): class token,
   *  position embedding, attention bias; absorbs relevance like a bias */
  | 'constant'
  /** product of two activations over the last two axes: [..., M, K] · [..., K, N] (attention Q·Kᵀ, A·V) */
  | 'matmul'
  /** normalisation over the last axis: (x − μ)/√(σ² + ε) · gamma + beta */
  | 'layerNorm'
  /** softmax over the last axis inside the network (attention weights); a final classifier softmax stays an activation */
  | 'softmax';

/* What each op does (shape, forward, backward per rule family, support) lives in its op-table entry: src/core/ops. */

export type ActivationFn =
  | 'relu'
  | 'relu6'
  | 'leakyRelu'
  | 'elu'
  | 'sigmoid'
  | 'tanh'
  | 'softmax'
  | 'linear'
  | 'clip'
  /** x·Φ(x) (erf form) */
  | 'gelu'
  /** the tanh approximation of GELU */
  | 'geluTanh'
  /** x·sigmoid(x) */
  | 'silu';

export interface ParamArray {
  shape: number[];
  data: Float32Array;
  /**
   * A conv2d kernel from an ONNX file in the file's [O, I, kh, kw] layout, while `data` has not been read
   * (graph/oihwKernel.ts); the compiled path uses it as it is.
   */
  readonly oihw?: Float32Array;
}

/** Explicit padding [[top, bottom], [left, right]]. */
export type ExplicitPad = [[number, number], [number, number]];
export type Padding = 'same' | 'valid' | ExplicitPad;

export interface ConvAttrs {
  strides: [number, number];
  padding: Padding;
  dilations: [number, number];
}

export interface PoolAttrs {
  poolSize: [number, number];
  strides: [number, number];
  padding: Padding;
}

export interface NodeAttrs {
  // conv2d / depthwiseConv2d: kernel [kh, kw, inC, outC] / [kh, kw, inC, multiplier]
  conv?: ConvAttrs;
  // maxPool / avgPool
  pool?: PoolAttrs;
  // activation
  activation?: ActivationFn;
  /** leakyRelu slope, elu alpha */
  alpha?: number;
  /** clip / relu6 bounds */
  clipMin?: number;
  clipMax?: number;
  // batchNorm
  epsilon?: number;
  // concat: axis in the batched NHWC tensor (negative allowed, -1 = channels)
  axis?: number;
  // reshape: target shape without batch
  targetShape?: number[];
  // pad: [[top, bottom], [left, right]] on H and W, constant zero
  pads?: ExplicitPad;
  // transpose: permutation of the axes without batch
  perm?: number[];
}

export interface NodeParams {
  kernel?: ParamArray;
  bias?: ParamArray;
  // batchNorm: y = gamma * (x - mean) / sqrt(variance + epsilon) + beta
  gamma?: ParamArray;
  beta?: ParamArray;
  mean?: ParamArray;
  variance?: ParamArray;
  // select: flat input index per output element (−1 = zero)
  index?: ParamArray;
  // constant: its value (shape = the node's shape)
  value?: ParamArray;
  // prelu: the slope for x < 0, one per channel
  slope?: ParamArray;
}

export interface Node {
  /** Index in Graph.nodes; inputs refer to earlier ids only. */
  id: number;
  /** The model's own layer name (unique within the graph). */
  name: string;
  op: OpKind;
  inputs: number[];
  attrs: NodeAttrs;
  params: NodeParams;
  /** Output shape without batch, e.g. [28, 28, 6] or [10]. */
  shape: number[];
  /** The layer/op class in the source format (e.g. 'Conv2D'), for messages and `info`. */
  sourceClass?: string;
}

export interface Graph {
  /** Human-readable model name (file name or the model's own). */
  name: string;
  nodes: Node[];
  /** Id of the single input node (op 'input'). */
  input: number;
  /** Id of the node whose output is explained (the logits after canonization). */
  output: number;
  /** Format tag of the source, e.g. 'tfjs-layers'. */
  format: string;
  /** Set by canonization when a final softmax was stripped: predictions report softmax scores. */
  outputSoftmax?: boolean;
  /** Set by canonization: how many BatchNorm layers were folded into the conv/dense before them. */
  foldedBatchNorm?: number;
}

export function paramCount(node: Node): number {
  let n = 0;
  // a select's index map is structure, not a parameter
  for (const [k, p] of Object.entries(node.params)) if (p && k !== 'index') n += (p.oihw ?? p.data).length;
  return n;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Ids of the nodes that consume each node's output. */
export function consumers(graph: Graph): number[][] {
  const out: number[][] = graph.nodes.map(() => []);
  for (const n of graph.nodes) for (const i of n.inputs) out[i].push(n.id);
  return out;
}
