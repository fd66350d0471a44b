/** Pieces several ops' entries share: pass-through defaults, the z-rule split, reshape/crop backward. */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import { blockSum, type BackwardContext } from '../engine/backward';
import { STABILIZER } from '../rules/resolved';
import { stabilize } from '../rules/applyRule';
import type { Emitter, OnnxBackward } from '../onnx/emitter';

/** Concat / split axis of the batched tensor from the node's Keras-style axis. */
export function batchedAxis(node: Node, rank: number): number {
  const a = node.attrs.axis ?? -1;
  return a < 0 ? rank + a : a;
}

export function sameShape(node: Pick<Node, 'name' | 'op'>, inputs: number[][]): number[] {
  return inputs[0].slice();
}

/** A rank check for shape rules: throws the plain Error shape inference reports. */
export function needRank(node: Pick<Node, 'name' | 'op'>, a: number[] | undefined, rank: number): void {
  if (!a || a.length !== rank) throw new Error(`layer '${node.name}' (${node.op}) expects a rank-${rank} input, got [${a?.join(', ')}]`);
}

export const allInputsNonNegative = (_n: Node, ins: boolean[]): boolean => ins.length > 0 && ins.every(Boolean);
export const never = (): boolean => false;
export const always = (): boolean => true;

/** s = R / stab(z) for the z-rule of a parameter-free node, recording its stabilizer leak Σ s·(den − z). */
export function zRuleSignal(node: Node, r: tf.Tensor, ctx: BackwardContext): tf.Tensor {
  const z = ctx.acts[node.id];
  const den = stabilize(z, STABILIZER);
  const s = tf.div(r, den);
  if (ctx.leaks) ctx.leaks.set(node.id, [tf.keep(tf.scalar(0)), tf.keep(blockSum(tf.mul(s, tf.sub(den, z))))]);
  return s;
}

/** Backward of a reshape: the signal in the input's shape. */
export function reshapeBack(node: Node, signal: tf.Tensor, ctx: BackwardContext): tf.Tensor[] {
  return [tf.reshape(signal, ctx.acts[node.inputs[0]].shape)];
}

/** Compiled graph: a value of node `from`'s layout reshaped to IR shape `to` (both NHWC-order flat). */
export function onnxReshape(e: Emitter, x: string, fromMap: boolean, to: number[], toMap: boolean): string {
  const flat = fromMap ? e.toNhwc(x) : x;
  const y = e.g.op('Reshape', [flat, e.g.ints([0, ...to])]);
  return toMap ? e.toNchw(y) : y;
}

/** Compiled z-rule split of a parameter-free node: s = R / stab(z), recording its stabilizer leak. */
export function onnxZRule(e: Emitter, node: Node, r: string, ctx: OnnxBackward): string {
  const z = ctx.acts[node.id];
  const den = e.stabilize(z);
  const s = e.div(r, den);
  ctx.leak?.(node.id, e.g.floats([0]), e.sum(e.mul(s, e.sub(den, z))));
  return s;
}
