/**
 * Canonization before explaining (DESIGN.md): identity/dropout removed, BatchNorm folded into the
 * conv/dense before it (with the model's own epsilon), a final softmax stripped so the logit is
 * explained, nodes that do not feed the output dropped. The model's output must not change.
 */
import type { Graph, Node, ParamArray } from './ir';
import { consumers } from './ir';
import { isWeighted } from '../ops/lookup';

function cloneParam(p: ParamArray): ParamArray {
  return { shape: p.shape.slice(), data: new Float32Array(p.data) };
}

function foldInto(lin: Node, bn: Node): Node {
  const { mean, variance, gamma, beta } = bn.params;
  const eps = bn.attrs.epsilon ?? 1e-3;
  const kernel = cloneParam(lin.params.kernel!);
  const outC = lin.shape[lin.shape.length - 1];
  const k = kernel.data;
  const s = new Float64Array(outC);
  for (let i = 0; i < outC; i++) s[i] = (gamma ? gamma.data[i] : 1) / Math.sqrt(variance!.data[i] + eps);
  // The output channel is the fastest-varying index of every kernel layout here
  // (dense [in, out], conv [kh, kw, in, out], depthwise [kh, kw, in, mult] with out = in*mult + m).
  for (let i = 0; i < k.length; i++) k[i] = k[i] * s[i % outC];
  const bias = new Float32Array(outC);
  for (let i = 0; i < outC; i++) {
    const b = lin.params.bias ? lin.params.bias.data[i] : 0;
    bias[i] = (b - mean!.data[i]) * s[i] + (beta ? beta.data[i] : 0);
  }
  return { ...lin, params: { kernel, bias: { shape: [outC], data: bias } } };
}

export function canonize(graph: Graph): Graph {
  const nodes = graph.nodes.map((n) => ({ ...n, inputs: n.inputs.slice() }));
  // replacement[i] = id whose output stands for node i's output
  const repl = nodes.map((n) => n.id);
  const removed = new Set<number>();
  const cons = consumers(graph);
  const resolve = (i: number): number => {
    while (repl[i] !== i) i = repl[i];
    return i;
  };
  for (const n of nodes) {
    n.inputs = n.inputs.map(resolve);
    if (n.op === 'identity') {
      repl[n.id] = n.inputs[0];
      removed.add(n.id);
      // the input now also feeds the identity's consumers
      cons[n.inputs[0]] = [...cons[n.inputs[0]].filter((c) => c !== n.id), ...cons[n.id]];
    } else if (n.op === 'batchNorm') {
      const prev = nodes[n.inputs[0]];
      if (isWeighted(prev) && cons[prev.id].length === 1) {
        nodes[prev.id] = foldInto(prev, n);
        repl[n.id] = prev.id;
        removed.add(n.id);
        // the folded layer now feeds the BatchNorm's consumers (a second BatchNorm after it must not fold too)
        cons[prev.id] = cons[n.id];
      }
    }
  }
  let output = resolve(graph.output);
  let outputSoftmax = graph.outputSoftmax ?? false;
  if (nodes[output].op === 'activation' && nodes[output].attrs.activation === 'softmax') {
    outputSoftmax = true;
    output = nodes[output].inputs[0];
  }
  // keep the ancestors of the output only
  const keep = new Set<number>([output]);
  for (let i = output; i >= 0; i--) if (keep.has(i)) for (const j of nodes[i].inputs) keep.add(j);
  keep.add(graph.input);
  const newId = new Map<number, number>();
  const out: Node[] = [];
  for (const n of nodes) {
    if (removed.has(n.id) || !keep.has(n.id)) continue;
    newId.set(n.id, out.length);
    out.push({ ...n, id: out.length, inputs: n.inputs.map((i) => newId.get(i)!) });
  }
  const foldedBatchNorm = (graph.foldedBatchNorm ?? 0) + graph.nodes.filter((n) => n.op === 'batchNorm' && removed.has(n.id)).length;
  return { ...graph, nodes: out, input: newId.get(graph.input)!, output: newId.get(output)!, outputSoftmax, foldedBatchNorm };
}
