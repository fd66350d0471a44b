/**
 * The names of the LRP composites, the one list: the engine's presets (core/composites/presets.ts) are
 * keyed by them, the CLI and the panel list them, the defaultComposite setting is checked against them
 * (package.json must repeat them literally; test/unit/names.test.ts checks that it does).
 */

/** Zennit's composites, then ours for depthwise convolutions, then the transformer composites. */
export const BASE_COMPOSITES = [
  'epsilon-gamma-box', 'epsilon-plus', 'epsilon-plus-flat', 'epsilon-alpha2-beta1', 'epsilon-alpha2-beta1-flat',
  'lrp-0', 'epsilon', 'gamma', 'alpha-beta', 'z-plus',
  'epsilon-gamma-box-dw-wsquare',
  'attn-lrp', 'attn-lrp-gamma', 'cp-lrp', 'cp-lrp-gamma',
] as const;
export type BaseComposite = (typeof BASE_COMPOSITES)[number];

/** Suffix of a composite's bias-free variant: biases left out of numerator and denominator (Zennit's zero_params='bias'). */
export const NO_BIAS = '-nobias';

/**
 * Presets without a bias-free variant: the plain z-rule with ε = 1e-6 everywhere and no bias has
 * denominators arbitrarily close to 0 (a window of zeros), and on deep nets (MobileNetV2) the relevance
 * overflows to Inf/NaN. attn-lrp / cp-lrp have ε = 1e-6 on every linear layer as well. Per layer,
 * `epsilon:E,nobias` with a real ε remains available.
 */
export const NO_BIAS_VARIANT_UNSTABLE: ReadonlySet<string> = new Set<BaseComposite>(['lrp-0', 'epsilon', 'attn-lrp', 'cp-lrp']);

/** The named presets and, after them, the bias-free variants `NAME-nobias`. */
export const COMPOSITE_NAMES: readonly string[] = [
  ...BASE_COMPOSITES, ...BASE_COMPOSITES.filter((n) => !NO_BIAS_VARIANT_UNSTABLE.has(n)).map((n) => n + NO_BIAS),
];

/** Not a preset: stands for the model's default composite, resolved per model (presets.ts defaultComposite). */
export const AUTO_COMPOSITE = 'auto';

/** The composite of models without BatchNorm (and the base of the per-model default). */
export const DEFAULT_COMPOSITE: BaseComposite = 'epsilon-gamma-box';

