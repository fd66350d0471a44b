/**
 * PatternNet / PatternAttribution in the compiled graph (methods/patternNet.ts is the reference): the
 * layers' patterns A (or W∘A) enter as initializers and replace the weights in the transposed op; every
 * other node passes the gradient (ReLU masks, winner-take-all max pooling). The signal's growth is
 * rescaled in the graph as the wasm walk does (RESCALE there): after a weighted node whose pending
 * signal passes 2^64, every pending signal is multiplied by 2^-64 and the exponent is counted.
 */
import type { Graph, Node } from '../graph/ir';
import { isWeighted } from '../ops/registry';
import type { Emitter } from './emitter';

export interface PatternFamily {
  kind: 'pattern';
  /** identifies the kernels' content (pattern set, variant, type): part of the session key */
  key: string;
  /** per node id: the kernel replacing the weight, in the layer's IR kernel layout */
  kernels: Map<number, { data: Float32Array; shape: number[] }>;
}

/** log2 of the rescaling step (methods/patternNet.ts RESCALE). */
export const PATTERN_RESCALE_LOG2 = 64;

/** The transposed linear op with the pattern kernel in place of the weight. */
export function patternTransposed(e: Emitter, node: Node, s: string, kernel: { data: Float32Array; shape: number[] }): string {
  const lin = e.linear(node);
  // the op's own relayout, applied to the pattern as if it were the kernel
  const laid = lin.weight(e, { ...node, params: { ...node.params, kernel } });
  return lin.transposed(e, node, s, e.g.weight(laid.data, laid.dims, `pattern_${node.id}`));
}

/**
 * After node: when the largest |pending signal| at its inputs passes 2^64, multiplies every pending
 * signal by 2^-64 and adds 64 to the running exponent `log2` (a [1] tensor); returns the new exponent.
 */
export function rescaleAfter(e: Emitter, g: Graph, node: Node, pending: string[][], log2: string): string {
  if (!isWeighted(node)) return log2;
  const peaks = node.inputs.map((i) => {
    const ps = pending[i];
    const s = ps.length === 1 ? ps[0] : e.g.op('Sum', ps);
    return e.g.op('ReduceMax', [e.g.op('Reshape', [e.abs(s), e.g.ints([1, -1])])], { axes: { ints: [1] }, keepdims: { i: 0 } });
  });
  const peak = peaks.length === 1 ? peaks[0] : e.g.op('Max', peaks);
  const over = e.g.op('Greater', [peak, e.g.scalar(2 ** PATTERN_RESCALE_LOG2)]);
  const factor = e.g.op('Where', [over, e.g.scalar(2 ** -PATTERN_RESCALE_LOG2), e.g.scalar(1)]);
  // only the nodes not walked yet hold entries (ids below this one)
  for (let i = 0; i < node.id; i++) if (pending[i].length) pending[i] = pending[i].map((p) => e.mul(p, factor));
  return e.add(log2, e.g.op('Where', [over, e.g.scalar(PATTERN_RESCALE_LOG2), e.g.scalar(0)]));
}
