/** Typed access to the relevanceLens.* settings (package.json `contributes.configuration`). */
import * as vscode from 'vscode';
import { COLORMAPS, isMethodId, type Colormap, type MethodId } from '../shared/protocol';
import type { EngineSettings } from './worker/engineHost';
import { checkInteger, PARAM_LIMITS, ParamError, toNumber } from '../shared/validate';

export interface LensSettings extends EngineSettings {
  defaultMethod: MethodId;
  defaultComposite: string;
  colormap: Colormap;
  balanceTolerance: number;
}

export const SECTION = 'relevanceLens';

/** A setting checked by the shared range checks; a bad value falls back to the default and is reported in one line. */
function checked<T>(c: vscode.WorkspaceConfiguration, key: string, def: T, check: (v: unknown, label: string) => T, problems?: string[]): T {
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

/** The settings; `problems` collects a one-line message per value out of range (the default is used instead). */
export function readSettings(problems?: string[]): LensSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const backend = c.get<string>('backend', 'auto');
  const method = c.get<string>('defaultMethod', 'lrp');
  const colormap = c.get<string>('colormap', 'seismic');
  return {
    backend: (['auto', 'onnx', 'tensorflow', 'wasm', 'cpu'] as const).find((b) => b === backend) ?? 'auto',
    maxImageSide: checked(c, 'maxImageSide', 4096, (v, l) => checkInteger(num(v, l), l, PARAM_LIMITS.imageSideMin, PARAM_LIMITS.imageSide), problems),
    parallelWorkers: checked(c, 'parallelWorkers', 2, (v, l) => checkInteger(num(v, l), l, 1, 16), problems),
    defaultMethod: isMethodId(method) ? method : 'lrp',
    defaultComposite: c.get<string>('defaultComposite', 'auto'),
    colormap: (COLORMAPS as readonly string[]).includes(colormap) ? (colormap as Colormap) : 'seismic',
    balanceTolerance: checked(c, 'balanceTolerance', 0.05, (v, l) => {
      const x = num(v, l);
      if (x < 0) throw new ParamError(`${l} expects a number ≥ 0, got '${x}'`);
      return x;
    }, problems),
  };
}
