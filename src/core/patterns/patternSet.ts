/**
 * Fitted PatternNet patterns as the explainer uses them: per dense/conv layer, the pattern A in the
 * layer's kernel layout ([kh, kw, inC, outC], depthwise [kh, kw, C, m], dense [in, out]).
 * Plain data (typed arrays), so a PatternSet crosses a worker boundary by structured clone.
 */
import type { OpKind } from '../graph/ir';

export type PatternRegime = 'relu' | 'linear';

export interface LayerPatterns {
  /** the model's layer name (canonized graph) */
  name: string;
  op: OpKind;
  kernelShape: number[];
  /** 'relu' when a rectifier follows the layer (ReLU-like, GELU, SiLU: two-regime a₊ fitted), else 'linear' */
  regime: PatternRegime;
  /** a = cov[x, y] / σ²_y */
  linear: Float32Array;
  /** a₊ (two-regime ReLU pattern); present when regime is 'relu' */
  relu?: Float32Array;
}

export interface PatternSet {
  /** unique per loaded set: keys the derived kernels cached in a PreparedGraph */
  id: string;
  /** where it was read from, for messages */
  file?: string;
  /** fingerprint of the canonized model the statistics were fitted on */
  fingerprint: string;
  modelName: string;
  images: { fit: number; heldOut: number };
  layers: LayerPatterns[];
}

let nextId = 1;
export function newPatternSetId(): string {
  return `ps${nextId++}-${Date.now().toString(36)}`;
}
