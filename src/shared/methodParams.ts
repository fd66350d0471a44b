/** Method names and composite rule parameters, shared by the panel, engine and data-set protocols. */

export const METHOD_NAMES = [
  'lrp', 'deep-taylor', 'deep-taylor-bounded', 'gradient', 'gradient-x-input', 'smoothgrad',
  'smoothgrad-squared', 'vargrad', 'integrated-gradients', 'deconvnet', 'guided-backprop', 'pattern-net', 'pattern-attribution',
] as const;
export type MethodId = (typeof METHOD_NAMES)[number];

/**
 * The noise-tunnel methods (Captum's NoiseTunnel nt_type smoothgrad / smoothgrad_sq / vargrad): one
 * sample loop over noisy copies, three statistics of the gradients. They share --samples, --sigma, --seed.
 */
export const NOISE_METHODS = ['smoothgrad', 'smoothgrad-squared', 'vargrad'] as const satisfies readonly MethodId[];
export type NoiseMethod = (typeof NOISE_METHODS)[number];
export const isNoiseMethod = (m: string): m is NoiseMethod => (NOISE_METHODS as readonly string[]).includes(m);

/** Rule parameters for the whole composite (defaults: ruleDefaults.ts). */
export interface RuleParamValues {
  epsilon?: number;
  gamma?: number;
  alpha?: number;
  beta?: number;
  low?: number;
  high?: number;
}
