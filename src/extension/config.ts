/** Typed access to the relevanceLens.* settings (package.json `contributes.configuration`). */
import * as vscode from 'vscode';
import { COLORMAPS, isMethodId, type Colormap, type MethodId } from '../shared/protocol';
import type { EngineSettings } from './worker/engineHost';

export interface LensSettings extends EngineSettings {
  defaultMethod: MethodId;
  defaultComposite: string;
  colormap: Colormap;
  balanceTolerance: number;
}

export const SECTION = 'relevanceLens';

export function readSettings(): LensSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const backend = c.get<string>('backend', 'auto');
  const method = c.get<string>('defaultMethod', 'lrp');
  const colormap = c.get<string>('colormap', 'seismic');
  return {
    backend: (['auto', 'onnx', 'tensorflow', 'wasm', 'cpu'] as const).find((b) => b === backend) ?? 'auto',
    maxImageSide: Math.max(16, c.get<number>('maxImageSide', 4096)),
    parallelWorkers: Math.min(16, Math.max(1, Math.floor(c.get<number>('parallelWorkers', 2)) || 1)),
    defaultMethod: isMethodId(method) ? method : 'lrp',
    defaultComposite: c.get<string>('defaultComposite', 'epsilon-gamma-box'),
    colormap: (COLORMAPS as readonly string[]).includes(colormap) ? (colormap as Colormap) : 'seismic',
    balanceTolerance: Math.max(0, c.get<number>('balanceTolerance', 0.05)),
  };
}
