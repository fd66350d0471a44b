/** Method names and composite rule parameters, shared by the panel, engine and data-set protocols. */

export const METHOD_NAMES = [
  'lrp', 'deep-taylor', 'deep-taylor-bounded', 'gradient', 'gradient-x-input', 'smoothgrad',
  'integrated-gradients', 'deconvnet', 'guided-backprop', 'pattern-net', 'pattern-attribution',
] as const;
export type MethodId = (typeof METHOD_NAMES)[number];

/** Rule parameters for the whole composite (DESIGN.md defaults: ε 1e-6, γ 0.25, α 2, β 1). */
export interface RuleParamValues {
  epsilon?: number;
  gamma?: number;
  alpha?: number;
  beta?: number;
  low?: number;
  high?: number;
}
