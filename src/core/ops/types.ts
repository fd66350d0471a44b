/**
 * The op table's contract: everything the engine knows about one IR op, declared in one file
 * (src/core/ops/<op>.ts) and registered in registry.ts. Loaders, `info`, canonization, the rule
 * pickers and every method derive what they support from these entries.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Graph, Node, OpKind } from '../graph/ir';
import type { PreparedGraph } from '../engine/prepared';
import type { BackwardContext } from '../engine/backward';
import type { ResolvedRule } from '../rules/resolved';
import type { RuleName } from '../../shared/ruleSpec';
import type { Emitter, OnnxBackward, OnnxLinear } from '../onnx/emitter';

/** The gradient family's three signal rules (they differ only at ReLU-like activations). */
export type SignalRule = 'gradient' | 'deconvnet' | 'guided';

/** What LRP's backward of one node needs besides the activations. */
export interface LrpContext extends BackwardContext {
  rules: Map<number, ResolvedRule>;
  /** per node id: its output is non-negative by construction */
  nonNegative: boolean[];
  /** per node id: no relevance can arrive where its output is negative (lrpHandlers.silentNegativeOutputs) */
  silent: boolean[];
}

export interface Support {
  supported: boolean;
  note?: string;
}

/**
 * A weighted op seen as y = x ⋆ w (+ b): conv2d, depthwise, dense, and a stand-alone BatchNorm (a
 * diagonal weight). LRP rules, Deep Taylor and PatternNet work through this interface only.
 */
export interface LinearOp {
  /** the tensors the kernel variants derive from: weight (kernel, BatchNorm scale) and bias (or shift) */
  weight(prep: PreparedGraph, node: Node): tf.Tensor;
  bias(prep: PreparedGraph, node: Node): tf.Tensor | undefined;
  /** z = x ⋆ w (+ bias) with a kernel of the weight's shape */
  forward(prep: PreparedGraph, node: Node, x: tf.Tensor, w: tf.Tensor, bias?: tf.Tensor): tf.Tensor;
  /**
   * The transpose of `forward` applied to s (output-shaped) with the kernel `w()`, whose content `key`
   * names: derived kernels (flipped, transposed) are cached in the PreparedGraph under that key.
   */
  transposed(prep: PreparedGraph, node: Node, s: tf.Tensor, key: string, w: () => tf.Tensor): tf.Tensor;
}

export interface OpDef {
  readonly kind: OpKind;
  /** Output shape without batch from the input shapes; throws a plain Error with the reason. */
  shape(node: Pick<Node, 'op' | 'attrs' | 'params' | 'name'>, inputs: number[][]): number[];
  /** Whether the engine runs this node for every method, and a note for `info` (default: supported). */
  check?(g: Graph, node: Node): Support;
  /** One node's output from its (batched) inputs. */
  forward(prep: PreparedGraph, node: Node, ins: tf.Tensor[]): tf.Tensor;
  /** LRP: relevance at the output -> one tensor per input. */
  lrp(node: Node, r: tf.Tensor, ctx: LrpContext): tf.Tensor[];
  /** Gradient family: the signal at the output -> one tensor per input (vector–Jacobian product, or the rule's). */
  signal(node: Node, s: tf.Tensor, ctx: BackwardContext, rule: SignalRule): tf.Tensor[];
  /** The conservation table's rule text for LRP (ops with `rules` show their rule instead) and the gradient family. */
  lrpRuleText(node: Node): string;
  signalRuleText(node: Node, rule: SignalRule): string;
  /** Output is non-negative by construction, given which inputs are. */
  nonNegative(node: Node, inputs: boolean[]): boolean;
  /** z^B input bounds carry through this node to a layer after it (shape ops, monotone maps, affine maps). */
  carriesBounds(node: Node): boolean;
  /** LRP rules a layer of this op takes (the rule pickers' list); absent: the op takes no rule. */
  readonly rules?: readonly RuleName[];
  /** Composite group the rule comes from (presets.ts). */
  readonly group?: 'conv' | 'dense' | 'batchNorm';
  /** Has a kernel: counts as a weighted layer (first layer of composites, BatchNorm folding, patterns). */
  readonly weighted?: boolean;
  /** The op as y = x ⋆ w + b, for the LRP rules, Deep Taylor and PatternNet. */
  readonly linear?: LinearOp;
  /** The op compiled into an ONNX graph (onnx backend); absent: explanations of models with it run on wasm. */
  readonly onnx?: OnnxOp;
}

/**
 * ONNX emission of one op, in the compiled layout (onnx/emitter.ts): value names in, value names out.
 * A missing `lrp` / `signal` makes that rule family fall back to wasm for models with this op.
 */
export interface OnnxOp {
  forward(e: Emitter, node: Node, ins: string[]): string;
  lrp?(e: Emitter, node: Node, r: string, ctx: OnnxBackward): string[];
  signal?(e: Emitter, node: Node, s: string, ctx: OnnxBackward, rule: SignalRule): string[];
  /** weighted ops: their geometry for the LRP rules (onnx/rules.ts) */
  linear?: OnnxLinear;
}
