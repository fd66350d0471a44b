/** Options and results of one explanation; the JSON result is the CLI contract of DESIGN.md. */
import type { RuleParams, RuleSpec } from '../../shared/ruleSpec';

export type MethodName =
  | 'lrp'
  | 'gradient'
  | 'gradient-x-input'
  | 'smoothgrad'
  | 'integrated-gradients'
  | 'deconvnet'
  | 'guided-backprop'
  | 'deep-taylor'
  | 'deep-taylor-bounded'
  | 'pattern-net'
  | 'pattern-attribution';

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
}

export interface Prediction {
  class: number;
  score: number;
  label?: string;
}

export interface LayerConservation {
  name: string;
  op: string;
  rule: string;
  outputRelevanceSum: number;
  inputRelevanceSum: number;
  ratio: number;
}

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
