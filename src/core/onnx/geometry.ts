/** Conv / pool attributes of the compiled graph from the IR's NHWC geometry. */
import type { ConvAttrs, ExplicitPad, Graph, Node, PoolAttrs } from '../graph/ir';
import { resolvePadding } from '../graph/shapes';
import type { Attr } from './onnxGraph';

/** ONNX pads [top, left, bottom, right] from [[top, bottom], [left, right]]. */
export function onnxPads(p: ExplicitPad): number[] {
  return [p[0][0], p[1][0], p[0][1], p[1][1]];
}

export function convGeometry(g: Graph, node: Node): { pads: ExplicitPad; attrs: ConvAttrs; kh: number; kw: number } {
  const attrs = node.attrs.conv!;
  const [kh, kw] = node.params.kernel!.shape;
  const [h, w] = g.nodes[node.inputs[0]].shape;
  return { pads: resolvePadding(attrs.padding, h, w, kh, kw, attrs.strides, attrs.dilations), attrs, kh, kw };
}

export function convAttrs(g: Graph, node: Node, group: number): Record<string, Attr> {
  const { pads, attrs, kh, kw } = convGeometry(g, node);
  return {
    kernel_shape: { ints: [kh, kw] }, strides: { ints: attrs.strides }, dilations: { ints: attrs.dilations },
    pads: { ints: onnxPads(pads) }, group: { i: group },
  };
}

/**
 * ConvTranspose attributes that give back the forward input's height and width: the output padding
 * covers the rows / columns a strided window never reached.
 */
export function convTransposeAttrs(
  inHW: [number, number], outHW: [number, number], k: [number, number], strides: [number, number], dil: [number, number],
  pads: ExplicitPad, group: number,
): Record<string, Attr> {
  const extra = [0, 1].map((i) => {
    const ek = (k[i] - 1) * dil[i] + 1;
    const p = pads[i][0] + pads[i][1];
    return inHW[i] - (strides[i] * (outHW[i] - 1) + ek - p);
  });
  return {
    kernel_shape: { ints: k }, strides: { ints: strides }, dilations: { ints: dil }, pads: { ints: onnxPads(pads) },
    output_padding: { ints: extra }, group: { i: group },
  };
}

export function poolPadsOf(g: Graph, node: Node): ExplicitPad {
  const p: PoolAttrs = node.attrs.pool!;
  const [h, w] = g.nodes[node.inputs[0]].shape;
  return resolvePadding(p.padding, h, w, p.poolSize[0], p.poolSize[1], p.strides);
}
