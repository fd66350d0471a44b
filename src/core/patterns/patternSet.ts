/**
 * Fitted PatternNet patterns as the explainer uses them: per dense/conv layer, the pattern A in the
 * layer's kernel layout ([kh, kw, inC, outC], depthwise [kh, kw, C, m], dense [in, out]).
 * Plain data (typed arrays), so a PatternSet crosses a worker boundary by structured clone.
 */
import type { OpKind } from '../graph/ir';

export type PatternRegime = 'relu' | 'linear';
/** which patterns an explanation uses: the two-regime a₊ where fitted (relu), or the linear one everywhere */
export type PatternType = 'relu' | 'linear';

export interface LayerPatterns {
  /** the model's layer name (canonized graph) */
  name: string;
  op: OpKind;
  kernelShape: number[];
  /** 'relu' when a rectifier follows the layer (ReLU-like, GELU, SiLU: two-regime a₊ fitted), else 'linear' */
  regime: PatternRegime;
  /** a = cov[x, y] / σ²_y (absent when the set was loaded for the relu type and the layer has a₊) */
  linear?: Float32Array;
  /** a₊ (two-regime ReLU pattern); present when regime is 'relu' (unless loaded for the linear type) */
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
  /** loaded for this pattern type only (the other type's arrays were not read) */
  only?: PatternType;
  /**
   * the arrays hold W∘A, PatternAttribution's kernels, made in place (methods/patternNet.ts
   * premultiplyPatterns): an explanation of one method then holds no third kernel-sized copy
   */
  premultiplied?: boolean;
}

let nextId = 1;
export function newPatternSetId(): string {
  return `ps${nextId++}-${Date.now().toString(36)}`;
}
