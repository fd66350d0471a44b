/**
 * z^B bounds at a layer's input, for both executors (TF.js tensors in rules/applyRule.ts, ONNX value
 * names in onnx/rules.ts). Per-channel bounds belong to the image: when only shape ops and per-channel
 * affine maps (the model's own input scaling) lie between the graph input and the layer, the bound
 * images are built at the graph input and sent through them, so padded zeros get bounds 0 (no
 * relevance), a Dense layer after Flatten gets channel j mod C, and an affine map carries [l, h] to
 * [min, max] of its images. Otherwise the bounds apply to the layer's own input channels.
 */
import type { Graph, Node } from '../graph/ir';
import { opDef } from '../ops/lookup';

export interface BoundCarrier<T> {
  /** the [low, high] bound images of a tensor of this shape (without batch), per channel */
  images(shape: number[]): [T, T];
  /** node n's forward on these inputs */
  run(n: Node, ins: T[]): T;
  /** element-wise [min, max] of two images (an affine map with a negative scale swaps the ends) */
  order(l: T, h: T): [T, T];
}

export function carryBounds<T>(g: Graph, node: Node, c: BoundCarrier<T>): [T, T] {
  const ancestors = new Set<number>([node.inputs[0]]);
  for (let i = node.inputs[0]; i >= 0; i--) if (ancestors.has(i)) for (const j of g.nodes[i].inputs) ancestors.add(j);
  const path = g.nodes.filter((n) => ancestors.has(n.id) && n.id !== g.input);
  const carries = ancestors.has(g.input) && path.every((n) => opDef(n.op).carriesBounds(n));
  if (!carries || path.length === 0) return c.images(g.nodes[node.inputs[0]].shape);
  const lo: T[] = [];
  const hi: T[] = [];
  [lo[g.input], hi[g.input]] = c.images(g.nodes[g.input].shape);
  for (const n of path) {
    const l = c.run(n, n.inputs.map((i) => lo[i]));
    const h = c.run(n, n.inputs.map((i) => hi[i]));
    [lo[n.id], hi[n.id]] = n.op === 'batchNorm' ? c.order(l, h) : [l, h];
  }
  return [lo[node.inputs[0]], hi[node.inputs[0]]];
}

/** Whether the bounds reach `node` as images constant per channel (nothing carries them: `images` at its input). */
export function boundsAsGiven(g: Graph, node: Node): boolean {
  return carryBounds<boolean>(g, node, { images: () => [true, true], run: () => false, order: (l, h) => [l, h] })[0];
}
