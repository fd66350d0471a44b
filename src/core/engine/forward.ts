/** Forward executor: runs the graph on a batch and keeps every node's output for the backward pass. */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import { LensError } from '../errors';
import type { PreparedGraph } from './prepared';
import { conv2dFwd, depthwiseFwd } from './convOps';
import { denseOver } from '../rules/linearOps';
import { smoothActivation, tensorForward } from './tensorOps';

/** Concat axis of the batched tensor from the node's Keras-style axis. */
export function batchedAxis(node: Node, rank: number): number {
  const a = node.attrs.axis ?? -1;
  return a < 0 ? rank + a : a;
}

export function activate(node: Node, x: tf.Tensor): tf.Tensor {
  const a = node.attrs;
  switch (a.activation) {
    case 'relu': return tf.relu(x);
    case 'relu6': return tf.relu6(x);
    case 'leakyRelu': return tf.leakyRelu(x, a.alpha ?? 0.2);
    case 'elu': return (a.alpha ?? 1) === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(tf.expm1(x), a.alpha!));
    case 'sigmoid': return tf.sigmoid(x);
    case 'tanh': return tf.tanh(x);
    case 'softmax': return tf.softmax(x);
    case 'clip': return tf.clipByValue(x, a.clipMin ?? -Infinity, a.clipMax ?? Infinity);
    case 'linear': return x.clone();
    case 'gelu': case 'geluTanh': case 'silu': return smoothActivation(a.activation, x);
    default: throw new LensError('unsupported-op', `layer '${node.name}': activation '${a.activation}' is not supported`);
  }
}

/** One node's output from its inputs. */
export function runNode(prep: PreparedGraph, node: Node, ins: tf.Tensor[], batch = 1): tf.Tensor {
  const t = prep.tensors[node.id];
  const x = ins[0];
  const n = x?.shape[0];
  switch (node.op) {
    case 'input': return x;
    case 'conv2d': {
      return conv2dFwd(x as tf.Tensor4D, t.kernel as tf.Tensor4D, node.attrs.conv!, t.pads!, t.bias);
    }
    case 'depthwiseConv2d': {
      const y = depthwiseFwd(x as tf.Tensor4D, t.kernel as tf.Tensor4D, node.attrs.conv!, t.pads!);
      return t.bias ? tf.add(y, t.bias) : y;
    }
    case 'dense': {
      return denseOver(x, (x2) => tf.fused.matMul({ a: x2, b: t.kernel as tf.Tensor2D, bias: t.bias }));
    }
    case 'batchNorm': return tf.add(tf.mul(x, t.scale!), t.shift!);
    case 'activation': return activate(node, x);
    case 'maxPool': case 'avgPool': {
      const p = node.attrs.pool!;
      let xin = x as tf.Tensor4D;
      let pad: 'same' | 'valid' = 'valid';
      if (Array.isArray(p.padding)) {
        if (node.op === 'avgPool' && p.padding.flat().some((v) => v !== 0)) {
          throw new LensError('unsupported-op', `layer '${node.name}': average pooling with explicit padding is not supported`);
        }
        xin = tf.pad(xin, [[0, 0], p.padding[0], p.padding[1], [0, 0]], -Infinity);
      } else pad = p.padding;
      return node.op === 'maxPool' ? tf.maxPool(xin, p.poolSize, p.strides, pad) : tf.avgPool(xin, p.poolSize, p.strides, pad);
    }
    case 'globalAvgPool': return tf.mean(x, [1, 2]);
    case 'flatten': case 'reshape': return tf.reshape(x, [n, ...node.shape]);
    case 'mul': return tf.mul(ins[0], ins[1]);
    case 'add': return ins.length === 2 ? tf.add(ins[0], ins[1]) : tf.addN(ins);
    case 'concat': return tf.concat(ins, batchedAxis(node, x.rank));
    case 'pad': {
      const p = node.attrs.pads!;
      return tf.pad(x, [[0, 0], p[0], p[1], [0, 0]]);
    }
    case 'identity': return x.clone();
    case 'transpose': case 'select': case 'constant': case 'matmul': case 'layerNorm':
      return tensorForward(prep, node, ins, batch);
  }
}

/** Runs all nodes; returns every node's output, which the backward pass needs (the caller disposes them). */
export function forward(prep: PreparedGraph, x: tf.Tensor4D): tf.Tensor[] {
  const g = prep.graph;
  const acts: tf.Tensor[] = new Array(g.nodes.length);
  acts[g.input] = x.clone();
  for (const node of g.nodes) {
    if (node.id === g.input) continue;
    acts[node.id] = tf.tidy(() => runNode(prep, node, node.inputs.map((i) => acts[i]), x.shape[0]));
  }
  return acts;
}
