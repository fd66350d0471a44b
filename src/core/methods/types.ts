/** Options and results of one explanation; the JSON result is the CLI contract of DESIGN.md. */
import type { RuleParams, RuleSpec } from '../../shared/ruleSpec';
import type { ConservationRow } from '../../shared/protocol';
import type { PatternSet } from '../patterns/patternSet';
import type { MethodId } from '../../shared/methodParams';

/** The methods' names: the one list is shared/methodParams.ts (the panel, settings and CLI use it too). */
export type MethodName = MethodId;

export interface ExplainOptions {
  method: MethodName;
  /** Composite preset for lrp (default epsilon-gamma-box). */
  composite?: string;
  /** Per-layer overrides by the model's layer name. */
  rules?: Record<string, RuleSpec>;
  params?: Partial<RuleParams>;
  /** Explained class, or 'top' (default). */
  targetClass?: number | 'top';
  /** Class labels from the model card. */
  labels?: string[];
  /** Also compute each row's closed-form leak (bias / stabilizer shares); costs a few % of the pass. */
  conservationDetail?: boolean;
  /** smoothgrad: number of noisy samples (default 32). */
  samples?: number;
  /** smoothgrad: noise σ as a fraction of the input's range max − min (default 0.15; 0 = the gradient). */
  sigma?: number;
  /** smoothgrad / integrated-gradients: samples or path points per forward+backward batch (default up to 16, fewer for large models). */
  sampleBatch?: number;
  /** smoothgrad: noise seed (default 0, so a run is reproducible). */
  seed?: number;
  /** integrated-gradients: number of path points, midpoint rule (default 64). */
  steps?: number;
  /** integrated-gradients: the baseline x' (default zeros). */
  baseline?: BaselineSpec;
  /** deep-taylor(-bounded): root point of the dense/conv layers (default 'lrp' = z⁺); per layer via `rules`. */
  root?: 'nearest' | 'origin' | 'lrp';
  /** pattern-net / pattern-attribution: fitted patterns (see src/core/patterns). */
  patterns?: PatternSet;
  /** pattern-net / pattern-attribution: 'relu' = two-regime a₊ where a ReLU follows (default), 'linear' = a everywhere. */
  patternType?: 'relu' | 'linear';
}

/** Integrated Gradients baseline. */
export type BaselineSpec =
  | { kind: 'zeros' }
  | { kind: 'constant'; value: number }
  /** Gaussian blur of the input; sigma in pixels (default 10 % of the shorter side). */
  | { kind: 'blur'; sigma?: number }
  /** an explicit input-shaped array ([H,W,C] or [1,H,W,C]), e.g. read from a .npy */
  | { kind: 'array'; shape: number[]; data: Float32Array };

export interface Prediction {
  class: number;
  score: number;
  label?: string;
}

/** A row of the conservation table (the shape the webview renders, defined once in the protocol). */
export type LayerConservation = ConservationRow;

export interface ExplainResult {
  method: MethodName;
  composite: string | null;
  rules: Record<string, string>;
  target: { class: number; logit: number; label?: string };
  /** Top 5 by logit (softmax scores when the model ended in softmax). */
  prediction: Prediction[];
  relevance: { shape: number[]; data: Float32Array };
  layers: LayerConservation[];
  inputRelevanceSum: number;
  timings: Record<string, number>;
}
