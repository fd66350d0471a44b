/**
 * Workspace trust: the extension declares limited support for untrusted workspaces. It never runs code
 * from a model, but its loaders parse whatever file the workspace holds, so in an untrusted workspace it
 * asks once per model file before opening it (and does not reopen a remembered model by itself).
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { UserError } from './errors';
import { escapeNotification } from '../shared/escape';

const allowed = new Set<string>();

/** Resolves when the model may be opened; throws a cancellation-like UserError when the user declines. */
export async function confirmUntrustedModel(modelPath: string): Promise<void> {
  if (vscode.workspace.isTrusted || allowed.has(modelPath)) return;
  const open = vscode.l10n.t('Open Model');
  const choice = await vscode.window.showWarningMessage(
    vscode.l10n.t('This workspace is not trusted. Open {0} anyway? Relevance Lens will read and parse the file (no code in it is run).', escapeNotification(path.basename(modelPath))),
    { modal: true },
    open,
  );
  if (choice !== open) throw new UserError(vscode.l10n.t('{0} was not opened: the workspace is not trusted', path.basename(modelPath)));
  allowed.add(modelPath);
}
