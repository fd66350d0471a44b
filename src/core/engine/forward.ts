/** Forward executor: runs the graph on a batch and keeps every node's output for the backward pass. */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../graph/ir';
import type { PreparedGraph } from './prepared';
import { opDef } from '../ops/lookup';

/** One node's output from its inputs: the op table's forward. */
export function runNode(prep: PreparedGraph, node: Node, ins: tf.Tensor[]): tf.Tensor {
  return opDef(node.op).forward(prep, node, ins);
}

/** Runs all nodes; returns every node's output, which the backward pass needs (the caller disposes them). */
export function forward(prep: PreparedGraph, x: tf.Tensor4D): tf.Tensor[] {
  const g = prep.graph;
  const acts: tf.Tensor[] = new Array(g.nodes.length);
  acts[g.input] = x.clone();
  for (const node of g.nodes) {
    if (node.id === g.input) continue;
    acts[node.id] = tf.tidy(() => runNode(prep, node, node.inputs.map((i) => acts[i])));
  }
  return acts;
}
