/**
 * Which layers get patterns and how their statistics are laid out. Every dense / conv2d / depthwise
 * layer does; y = wᵀx without bias, x the layer's input (a patch of it for convolutions). The layer's
 * regime is 'relu' when its only consumer is a rectifier: ReLU-like (relu, relu6, clip at 0) or a gated
 * one whose output has its input's sign (GELU in both forms, SiLU: a transformer's MLP, EfficientNet):
 * the mask M = 1[output after the activation > 0] = 1[y + b > 0] selects the rows of the two-regime
 * pattern a₊, the regime the activation passes. Other layers (the logits, MobileNet's linear
 * bottlenecks, a conv feeding an add, attention's Q/K/V projections) get the linear pattern. A dense
 * layer over tokens ([T, D], any rank) takes each token as a row: `positions` tokens per image.
 */
import type { Graph, Node, OpKind } from '../graph/ir';
import { consumers, sizeOf } from '../graph/ir';
import type { PatternRegime } from './patternSet';

export interface PatternLayerSpec {
  node: Node;
  op: OpKind;
  kernelShape: number[];
  regime: PatternRegime;
  /** the activation node whose output > 0 is the mask (relu regime) */
  actId?: number;
  /** patch size (rows of the statistics) and number of output neurons */
  d: number;
  k: number;
  /** conv geometry: kernel height/width, input channels, depthwise multiplier (dense: 1, 1, in, 1) */
  kh: number;
  kw: number;
  inC: number;
  mult: number;
  /** output positions per image: pixels (conv), tokens (dense over [.., T, D]; 1 for a flat vector) */
  positions: number;
}

const RECTIFIERS = new Set(['relu', 'relu6', 'gelu', 'geluTanh', 'silu']);

function maskActivation(g: Graph, n: Node, cons: number[][]): number | undefined {
  const c = cons[n.id];
  if (c.length !== 1) return undefined;
  const a = g.nodes[c[0]];
  if (a.op !== 'activation') return undefined;
  const fn = a.attrs.activation!;
  if (RECTIFIERS.has(fn) || (fn === 'clip' && (a.attrs.clipMin ?? -1) === 0)) return a.id;
  return undefined;
}

export function patternLayers(g: Graph): PatternLayerSpec[] {
  const cons = consumers(g);
  const out: PatternLayerSpec[] = [];
  for (const n of g.nodes) {
    if (n.op !== 'conv2d' && n.op !== 'depthwiseConv2d' && n.op !== 'dense') continue;
    const ks = n.params.kernel!.shape;
    const actId = maskActivation(g, n, cons);
    const base = { node: n, op: n.op, kernelShape: ks.slice(), regime: (actId !== undefined ? 'relu' : 'linear') as PatternRegime, actId };
    if (n.op === 'dense') {
      out.push({ ...base, d: ks[0], k: ks[1], kh: 1, kw: 1, inC: ks[0], mult: 1, positions: sizeOf(n.shape) / ks[1] });
    } else if (n.op === 'conv2d') {
      out.push({ ...base, d: ks[0] * ks[1] * ks[2], k: ks[3], kh: ks[0], kw: ks[1], inC: ks[2], mult: 1, positions: n.shape[0] * n.shape[1] });
    } else {
      out.push({ ...base, d: ks[0] * ks[1], k: ks[2] * ks[3], kh: ks[0], kw: ks[1], inC: ks[2], mult: ks[3], positions: n.shape[0] * n.shape[1] });
    }
  }
  return out;
}

/** Largest activation per image, in floats: sizes the default batch. */
export function largestActivation(g: Graph): number {
  return Math.max(...g.nodes.map((n) => sizeOf(n.shape)));
}
