/** What the explanation panel and its actions need from the extension (apart from the panel, so neither imports the other). */
import type * as vscode from 'vscode';
import type { ExplainSession } from '../session/explainSession';
import type { LensState } from '../state/lensState';
import type { Log } from '../log';
import type { ErrorReporter } from '../errors';

export interface PanelDeps {
  extensionUri: vscode.Uri;
  session: ExplainSession;
  state: LensState;
  log: Log;
  errors: ErrorReporter;
}
