/**
 * What activate() returns: enough for the integration tests (and other extensions) to observe the
 * extension without reaching into it: renders, explanations, errors shown, and timings.
 */
import type * as vscode from 'vscode';
import type { Explanation, MethodParamValues, ModelSummary, RenderReport, WireError } from '../shared/protocol';
import type { CancelEvent } from './session/explainSession';

export interface RelevanceLensApi {
  /** ms from the start of activate() to its end. */
  readonly activationMs: number;
  /** The webview drew a heatmap (its pixels only under the test hooks' reportPixels(true)). */
  readonly onDidRender: vscode.Event<RenderReport>;
  readonly onDidExplain: vscode.Event<{ runId: number; explanation: Explanation; elapsedMs: number }>;
  /** An error was shown to the user (message as shown). */
  readonly onDidShowError: vscode.Event<WireError>;
  /** A run was cancelled and has stopped (how, and how long it took to stop). */
  readonly onDidCancel: vscode.Event<CancelEvent>;
  /**
   * panelRestored: the open panel was revived by the panel serializer (window reload, reopened editor)
   * rather than created by a command.
   */
  current(): { explanation?: Explanation; model?: ModelSummary; panelOpen: boolean; panelRestored: boolean; busy: boolean };
  /** The last heatmap the panel reported drawn, with the wall-clock time (Date.now()) it arrived. */
  lastRender(): { report: RenderReport; at: number } | undefined;
  /** The items the Models and Layers views show, as VS Code receives them from the tree providers. */
  views(): Promise<{ models: ViewItem[]; layers: ViewItem[] }>;
  /** ms the engine worker took to start and pick its backend (undefined until first use). */
  engineStartupMs(): number | undefined;
  /** The data-set gallery drew its content (cluster cards, compared pairs). */
  readonly onDidRenderGallery: vscode.Event<{ clusters: number; pairs: number }>;
  /** Does what a click on a gallery image does (false when no gallery is open). */
  openGalleryImage(model: string, file: string): Promise<boolean>;
  /** Only when the integration runner started VS Code (see testHooks.ts); absent in a user's VS Code. */
  testHooks?: LensTestHooks;
}

/** For the integration suite only (testHooks.ts). */
export interface LensTestHooks {
  /** Makes the panel send its drawn pixels with every `rendered` report. */
  reportPixels(on: boolean): void;
  /** Operates a control in the panel the way a user would (value set, change/input events dispatched). */
  drivePanel(control: string, value: string): boolean;
  /** Tells the page the test-hooks switch is off (false) or on again, as a user's VS Code would: it then ignores drivePanel. */
  pageObeysDrive(on: boolean): void;
  /** Method, composite, parameters, class, display and the active model's rule overrides back to the settings' defaults. */
  resetChoices(): Promise<void>;
  /** The method parameters the next explanation takes, without running one (the panel's fields re-explain at once). */
  setMethodParams(p: MethodParamValues): void;
  /** End the engine worker as a crash would, keep it busy without a heartbeat, shorten the watchdog; its engine processes' ids. */
  engine: { crash(): boolean; hang(ms: number): Promise<void>; setHangMs(ms: number): void; processes(): number[] };
}

export interface ViewItem {
  label: string;
  description?: string;
  contextValue?: string;
  /** the tooltip's text (a MarkdownString's source) */
  tooltip?: string;
}
