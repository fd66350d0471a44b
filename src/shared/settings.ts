/**
 * The relevanceLens.* settings: their values, defaults and ranges, in one place. The extension reads
 * them through these (src/extension/config.ts), the panel and CLI take their defaults from here, and
 * package.json's `contributes.configuration` must repeat them literally (VS Code reads only the
 * manifest); test/unit/names.test.ts checks that it does.
 */
import { METHOD_NAMES, type MethodId } from './methodParams';
import { AUTO_COMPOSITE, COMPOSITE_NAMES } from './compositeNames';
import { PARAM_LIMITS } from './validate';

export const BACKEND_SETTINGS = ['auto', 'onnx', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendSetting = (typeof BACKEND_SETTINGS)[number];

export const COLORMAPS = ['seismic', 'bwr', 'coldnhot', 'gray', 'gray-abs'] as const;
export type Colormap = (typeof COLORMAPS)[number];

export const SETTING_DEFAULTS = {
  backend: 'auto' as BackendSetting,
  defaultMethod: 'lrp' as MethodId,
  defaultComposite: AUTO_COMPOSITE as string,
  colormap: 'seismic' as Colormap,
  maxImageSide: 4096,
  balanceTolerance: 0.05,
  parallelWorkers: 2,
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
} as const;
