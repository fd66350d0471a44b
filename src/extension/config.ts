/** Typed access to the relevanceLens.* settings (values, defaults, ranges and checks: src/shared/settings.ts). */
import * as vscode from 'vscode';
import type { EngineSettings } from './worker/engineHost';
import { checkedSettings, type SettingValues } from '../shared/settings';

export type LensSettings = SettingValues & EngineSettings;

export const SECTION = 'relevanceLens';

/** The settings; `problems` collects a one-line message per bad value (the default is used instead). */
export function readSettings(problems?: string[]): LensSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  return checkedSettings((key) => c.get<unknown>(key), SECTION, problems);
}
