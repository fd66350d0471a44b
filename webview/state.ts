/** UI-only state the page keeps across reloads (vscode.setState); everything else comes from the host. */
import { vscode } from './vscodeApi';
import type { HeatmapViewKind } from '../src/shared/protocol';

export interface UiState {
  selectedLayer?: string;
  /** The conservation table shows only the rows that leak. */
  onlyLeaking?: boolean;
  /** A vision transformer's explanation: the input relevance or the per-patch-token map. */
  heatmapView?: HeatmapViewKind;
  /** Which <details> sections are open, by id. */
  open: Record<string, boolean>;
}

export function loadUiState(): UiState {
  const s = vscode.getState() as Partial<UiState> | undefined;
  return { selectedLayer: s?.selectedLayer, onlyLeaking: s?.onlyLeaking ?? false, heatmapView: s?.heatmapView === 'tokens' ? 'tokens' : 'pixels', open: s?.open ?? { conservation: true, parameters: false, display: true } };
}

export function saveUiState(s: UiState): void {
  vscode.setState(s);
}
