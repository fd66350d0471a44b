/** Typed access to the relevanceLens.* settings (values, defaults and ranges: src/shared/settings.ts). */
import * as vscode from 'vscode';
import type { MethodId } from '../shared/protocol';
import type { EngineSettings } from './worker/engineHost';
import { checkInteger, ParamError, toNumber } from '../shared/validate';
import { SETTING_CHOICES, SETTING_DEFAULTS, SETTING_RANGES, type Colormap } from '../shared/settings';

export interface LensSettings extends EngineSettings {
  defaultMethod: MethodId;
  defaultComposite: string;
  colormap: Colormap;
  balanceTolerance: number;
}

export const SECTION = 'relevanceLens';

type Key = keyof typeof SETTING_DEFAULTS;

/** A setting checked by the shared checks; a bad value falls back to the default and is reported in one line. */
function checked<K extends Key>(c: vscode.WorkspaceConfiguration, key: K, check: (v: unknown, label: string) => (typeof SETTING_DEFAULTS)[K], problems?: string[]): (typeof SETTING_DEFAULTS)[K] {
  const def = SETTING_DEFAULTS[key];
  const v = c.get<unknown>(key, def);
  try {
    return check(v, `${SECTION}.${key}`);
  } catch (e) {
    if (!(e instanceof ParamError)) throw e;
    problems?.push(`${e.message}; using ${String(def)}`);
    return def;
  }
}

const num = (v: unknown, label: string): number => toNumber(typeof v === 'number' || typeof v === 'string' ? v : NaN, label);

/** One of the listed values. */
function oneOf<T extends string>(values: readonly T[]): (v: unknown, label: string) => T {
  return (v, label) => {
    const hit = values.find((x) => x === v);
    if (hit === undefined) throw new ParamError(`${label} expects one of ${values.join(', ')}, got '${String(v)}'`);
    return hit;
  };
}

function range(key: 'maxImageSide' | 'parallelWorkers'): (v: unknown, label: string) => number {
  return (v, label) => checkInteger(num(v, label), label, SETTING_RANGES[key].min, SETTING_RANGES[key].max);
}

/** The settings; `problems` collects a one-line message per value out of range (the default is used instead). */
export function readSettings(problems?: string[]): LensSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  return {
    backend: checked(c, 'backend', oneOf(SETTING_CHOICES.backend), problems),
    maxImageSide: checked(c, 'maxImageSide', range('maxImageSide'), problems),
    parallelWorkers: checked(c, 'parallelWorkers', range('parallelWorkers'), problems),
    defaultMethod: checked(c, 'defaultMethod', oneOf(SETTING_CHOICES.defaultMethod), problems),
    defaultComposite: checked(c, 'defaultComposite', oneOf(SETTING_CHOICES.defaultComposite), problems),
    colormap: checked(c, 'colormap', oneOf(SETTING_CHOICES.colormap), problems),
    balanceTolerance: checked(c, 'balanceTolerance', (v, l) => {
      const x = num(v, l);
      if (x < SETTING_RANGES.balanceTolerance.min) throw new ParamError(`${l} expects a number ≥ ${SETTING_RANGES.balanceTolerance.min}, got '${x}'`);
      return x;
    }, problems),
  };
}
