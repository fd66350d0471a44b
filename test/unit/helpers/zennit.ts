/** Shared by test/unit/zennit.test.ts and scripts/zennitCheck.ts: matching the engine's output to Zennit's. */

/**
 * torch 1.13's ONNX node name -> the PyTorch module name Zennit reports layers by:
 * '/layer1/layer1.0/downsample/downsample.0/Conv' -> 'layer1.0.downsample.0' (a Sequential child's scope
 * repeats its parent's name), '/stem/Conv' -> 'stem'. Same function as scripts/fixtures/zennit_reference.py.
 */
export function moduleName(onnxNode: string): string {
  const parts: string[] = [];
  for (const seg of onnxNode.replace(/^\/+|\/+$/g, '').split('/').slice(0, -1)) {
    if (parts.length && seg.startsWith(parts[parts.length - 1] + '.')) parts[parts.length - 1] = seg;
    else parts.push(seg);
  }
  return parts.join('.');
}

/** max |ours − ref| / max |ref|; throws on a size mismatch or an all-zero reference. */
export function maxRelDiff(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (ours.length !== ref.length) throw new Error(`relevance sizes differ: ${ours.length} vs ${ref.length}`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(ours[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  if (!(m > 0)) throw new Error('reference relevance is all zero');
  return d / m;
}

/** q-quantile of |ours − ref| / max |ref| (shows whether a large max comes from a few ill-conditioned pixels). */
export function quantileRelDiff(ours: ArrayLike<number>, ref: ArrayLike<number>, q: number): number {
  let m = 0;
  const d = new Float64Array(ref.length);
  for (let i = 0; i < ref.length; i++) {
    d[i] = Math.abs(ours[i] - ref[i]);
    m = Math.max(m, Math.abs(ref[i]));
  }
  d.sort();
  return d[Math.min(d.length - 1, Math.floor(q * d.length))] / m;
}

/** Ops whose output relevance sum Zennit's reference records (its Linear-type modules). */
export const WEIGHTED_OPS = ['conv2d', 'depthwiseConv2d', 'dense'];

/** Zennit's per-composite record in <name>.zennit.json (scripts/fixtures/zennit_reference.py). */
export interface ZennitComposite {
  file: string;
  class: number;
  logit: number;
  inputSum: number;
  layerOutputSums: Record<string, number>;
}

/** Engine composites without a Zennit counterpart (the depthwise w² composite, the transformer composites). */
export const NOT_IN_ZENNIT = /^(epsilon-gamma-box-dw-wsquare|attn-lrp|cp-lrp)/;

/**
 * Bias-free γ: Zennit 0.5.1 leaves the bias out of γ's numerators and denominators but picks the branch by
 * the layer's output *with* bias; where the two signs differ its denominator has the other sign and the
 * relevance blows up (with that choice nsfwjs MobileNetV2's default composite gives non-finite relevance).
 * The engine picks the branch by z without bias (the float64 oracle implements that), so these two are not
 * compared with Zennit wherever a bias is not zero.
 */
export const GAMMA_NOBIAS: ReadonlySet<string> = new Set(['gamma-nobias', 'epsilon-gamma-box-nobias']);
