/**
 * A learnt constant (params.value): class token, position embedding, attention bias and masks. Its one
 * input is the graph input, read for the batch size only; the constant absorbs the relevance that
 * reaches it (the conservation table's bias share) and passes nothing back.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { OpDef } from './types';
import { never } from './common';
import { tensorForward } from '../engine/tensorOps';
import { constantRelevance } from '../rules/transformerRules';
import type { Emitter } from '../onnx/emitter';
import type { Node } from '../graph/ir';
import { zerosLike } from '../onnx/tensorEmit';

/**
 * Compiled: the value in the compiled layout, expanded to the batch size of the input x. With the batch
 * fixed at 1 the value is used as it is: onnxruntime would fold the Expand into a copy it holds beside
 * ours (Swin-T: 12 MB).
 */
function constantValue(e: Emitter, node: Node, x: string): string {
  if (e.batch === 1) return e.constantOf(node.shape, node.params.value!.data);
  const dims = e.dims(node.id, 1) as number[];
  const batch = e.g.op('Slice', [e.g.op('Shape', [x]), e.g.ints([0]), e.g.ints([1])]);
  const shape = e.g.op('Concat', [batch, e.g.ints(dims.slice(1))], { axis: { i: 0 } });
  return e.g.op('Expand', [e.constantOf(node.shape, node.params.value!.data), shape]);
}

export const constant: OpDef = {
  kind: 'constant',
  shape: (node) => node.params.value!.shape.slice(),
  forward: (prep, node, ins) => tensorForward(prep, node, ins),
  lrp: (node, r, ctx) => constantRelevance(node, r, ctx),
  signal: (node, _s, ctx) => [tf.zerosLike(ctx.acts[node.inputs[0]])],
  lrpRuleText: () => 'absorbs',
  signalRuleText: () => 'constant',
  nonNegative: (node) => node.params.value!.data.every((v) => v >= 0),
  carriesBounds: never,
  onnx: {
    forward: (e, node, ins) => constantValue(e, node, ins[0]),
    lrp: (e, node, r, ctx) => {
      ctx.leak?.(node.id, e.sum(r), e.g.floats([0]));
      return [zerosLike(e, ctx.acts[node.inputs[0]])];
    },
    signal: (e, node, _s, ctx) => [zerosLike(e, ctx.acts[node.inputs[0]])],
  },
};
