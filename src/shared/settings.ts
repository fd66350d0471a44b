/**
 * The relevanceLens.* settings: their values, defaults and ranges, in one place. The extension reads
 * them through these (src/extension/config.ts), the panel and CLI take their defaults from here, and
 * package.json's `contributes.configuration` must repeat them literally (VS Code reads only the
 * manifest); test/unit/names.test.ts checks that it does.
 */
import { METHOD_NAMES, type MethodId } from './methodParams';
import { AUTO_COMPOSITE, COMPOSITE_NAMES } from './compositeNames';
import { checkInteger, PARAM_LIMITS, ParamError, toNumber } from './validate';

export const BACKEND_SETTINGS = ['auto', 'onnx', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendSetting = (typeof BACKEND_SETTINGS)[number];

/**
 * How the extension's onnx engine makes rule changes fast (relevanceLens.ruleChanges): `fast` keeps the
 * shown image's forward values, products and kernel variants and re-runs only the backward pass
 * (ResNet-50: ~80–170 ms per change, ~0.9 GB in the engine process); `lean` keeps none and explains each
 * rule set in its own graph (~125–430 ms, ~0.4 GB). README, "Rule changes: fast or lean".
 */
export const RULE_CHANGE_MODES = ['fast', 'lean'] as const;
export type RuleChangeMode = (typeof RULE_CHANGE_MODES)[number];

export const COLORMAPS = ['seismic', 'bwr', 'coldnhot', 'gray', 'gray-abs'] as const;
export type Colormap = (typeof COLORMAPS)[number];

/**
 * Which sign of the relevance a heatmap shows (Captum visualize's sign, Zennit imgify's symmetric /
 * absolute maps): both, one of them (the other drawn as zero), or |R| (both, without the sign). A display
 * option of the panel (kept per workspace with the others, DisplayOptions) and the CLI's --polarity.
 */
export const POLARITIES = ['both', 'positive', 'negative', 'absolute'] as const;
export type Polarity = (typeof POLARITIES)[number];

/** The part of the colormap a polarity uses, as multiples of vmax: both signs, or one half. */
export function polaritySpan(polarity: Polarity): { low: -1 | 0; high: 0 | 1 } {
  return polarity === 'both' ? { low: -1, high: 1 } : polarity === 'negative' ? { low: -1, high: 0 } : { low: 0, high: 1 };
}

/** The sign filter of every heatmap (panel, channel maps, PNG export, CLI): v as shown under `polarity`. */
export function applyPolarity(v: number, polarity: Polarity): number {
  switch (polarity) {
    case 'both': return v;
    case 'positive': return v > 0 ? v : 0;
    case 'negative': return v < 0 ? v : 0;
    case 'absolute': return Math.abs(v);
  }
}

export const SETTING_DEFAULTS = {
  backend: 'auto' as BackendSetting,
  defaultMethod: 'lrp' as MethodId,
  defaultComposite: AUTO_COMPOSITE as string,
  colormap: 'seismic' as Colormap,
  maxImageSide: 4096,
  balanceTolerance: 0.05,
  parallelWorkers: 2,
  ruleChanges: 'fast' as RuleChangeMode,
};

/** The numeric settings' ranges (package.json `minimum` / `maximum`). */
export const SETTING_RANGES = {
  maxImageSide: { min: PARAM_LIMITS.imageSideMin, max: PARAM_LIMITS.imageSide },
  balanceTolerance: { min: 0 },
  parallelWorkers: { min: 1, max: 16 },
} as const;

/** The enumerated settings' values, as package.json's `enum` lists them. */
export const SETTING_CHOICES = {
  backend: BACKEND_SETTINGS,
  defaultMethod: METHOD_NAMES,
  defaultComposite: [AUTO_COMPOSITE, ...COMPOSITE_NAMES],
  colormap: COLORMAPS,
  ruleChanges: RULE_CHANGE_MODES,
} as const;

export type SettingValues = typeof SETTING_DEFAULTS;
type Key = keyof SettingValues;

const num = (v: unknown, label: string): number => toNumber(typeof v === 'number' || typeof v === 'string' ? v : NaN, label);

function oneOf<T extends string>(values: readonly T[]): (v: unknown, label: string) => T {
  return (v, label) => {
    const hit = values.find((x) => x === v);
    if (hit === undefined) throw new ParamError(`${label} expects one of ${values.join(', ')}, got '${String(v)}'`);
    return hit;
  };
}

const integerIn = (key: 'maxImageSide' | 'parallelWorkers') => (v: unknown, label: string): number =>
  checkInteger(num(v, label), label, SETTING_RANGES[key].min, SETTING_RANGES[key].max);

/** Each setting's check, by the shared range checks (validate.ts) the CLI's flags use too. */
const CHECKS: { [K in Key]: (v: unknown, label: string) => SettingValues[K] } = {
  backend: oneOf(SETTING_CHOICES.backend),
  defaultMethod: oneOf(SETTING_CHOICES.defaultMethod),
  defaultComposite: oneOf(SETTING_CHOICES.defaultComposite),
  colormap: oneOf(SETTING_CHOICES.colormap),
  maxImageSide: integerIn('maxImageSide'),
  parallelWorkers: integerIn('parallelWorkers'),
  ruleChanges: oneOf(SETTING_CHOICES.ruleChanges),
  balanceTolerance: (v, label) => {
    const x = num(v, label);
    if (x < SETTING_RANGES.balanceTolerance.min) throw new ParamError(`${label} expects a number ≥ ${SETTING_RANGES.balanceTolerance.min}, got '${x}'`);
    return x;
  },
};

/**
 * The settings from `get` (VS Code's configuration, or a plain object in tests), each checked: a bad
 * value falls back to its default and adds one line to `problems`. `section` prefixes the names in messages.
 */
export function checkedSettings(get: (key: Key) => unknown, section: string, problems?: string[]): SettingValues {
  const out = { ...SETTING_DEFAULTS };
  for (const key of Object.keys(SETTING_DEFAULTS) as Key[]) {
    const v = get(key);
    if (v === undefined) continue;
    try {
      (out as Record<Key, unknown>)[key] = CHECKS[key](v, `${section}.${key}`);
    } catch (e) {
      if (!(e instanceof ParamError)) throw e;
      problems?.push(`${e.message}; using ${String(SETTING_DEFAULTS[key])}`);
    }
  }
  return out;
}
