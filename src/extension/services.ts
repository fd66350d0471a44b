/** The extension's long-lived services, built once in activate() and handed to commands and views. */
import type * as vscode from 'vscode';
import type { EngineHost } from './worker/engineHost';
import type { LensState } from './state/lensState';
import type { ExplainSession } from './session/explainSession';
import type { Log } from './log';
import type { ErrorReporter } from './errors';
import type { ModelFinder } from './tree/modelFinder';

export interface Services {
  extensionUri: vscode.Uri;
  engine: EngineHost;
  state: LensState;
  session: ExplainSession;
  log: Log;
  errors: ErrorReporter;
  models: ModelFinder;
}
