/** Open a model (palette, Explorer right-click on model files, Models view), pick a composite. */
import * as vscode from 'vscode';
import type { Services } from '../services';
import { ExplanationPanel } from '../panel/explanationPanel';
import { COMMANDS } from './commandIds';
import { patternsPathFor } from '../../shared/paths';

export function registerModelCommands(s: Services): vscode.Disposable[] {
  const { errors, session, state } = s;
  return [
    vscode.commands.registerCommand(COMMANDS.openModel, errors.wrap('Open Model', async (uri?: vscode.Uri) => {
      let target = uri instanceof vscode.Uri ? uri : undefined;
      if (!target) {
        const picked = await vscode.window.showOpenDialog({
          title: vscode.l10n.t('Model to explain'), canSelectMany: false,
          filters: { [vscode.l10n.t('Models')]: ['json', 'h5', 'keras', 'onnx'] },
          defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
        });
        target = picked?.[0];
      }
      if (!target) return undefined;
      const summary = await session.openModel(target.fsPath);
      void vscode.commands.executeCommand('relevanceLens.layers.focus');
      // An explanation on screen follows the new model.
      if (ExplanationPanel.instance && state.imagePath) void session.explain();
      return summary;
    })),
    vscode.commands.registerCommand(COMMANDS.refreshModels, () => s.models.invalidate()),
    vscode.commands.registerCommand(COMMANDS.selectComposite, errors.wrap('Select Composite', async (name?: string) => {
      const composites = session.model?.composites ?? [];
      const chosen = typeof name === 'string' ? name : (await vscode.window.showQuickPick(
        composites.map((c) => ({ label: c, description: c === state.composite ? vscode.l10n.t('current') : undefined })),
        { title: vscode.l10n.t('LRP composite') },
      ))?.label;
      if (!chosen) return;
      state.setComposite(chosen);
      await session.refreshModel();
      if (ExplanationPanel.instance) await session.explain();
    })),
    vscode.commands.registerCommand(COMMANDS.fitPatterns, errors.wrap('Fit Patterns', async (data?: vscode.Uri) => {
      if (!session.model) await vscode.commands.executeCommand(COMMANDS.openModel);
      const model = session.model;
      if (!model) return undefined;
      const folder = data instanceof vscode.Uri ? data : (await vscode.window.showOpenDialog({
        title: vscode.l10n.t('Images (folder) or .npy stack to fit PatternNet patterns on'), canSelectFolders: true, canSelectFiles: true,
        canSelectMany: false, filters: { 'NumPy': ['npy'] },
      }))?.[0];
      if (!folder) return undefined;
      const outPath = patternsPathFor(model.path);
      const runId = s.engine.newRunId();
      return vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Relevance Lens: fitting patterns'), cancellable: true },
        async (progress, token) => {
          let reported = 0; // withProgress takes increments, the worker reports fractions done
          const work = s.engine.request('fitPatterns', { runId, modelPath: model.path, dataPath: folder.fsPath, outPath }, (stage, fraction) => {
            const increment = fraction !== undefined ? Math.max(0, fraction * 100 - reported) : undefined;
            if (increment !== undefined) reported += increment;
            progress.report({ message: stage, increment });
          });
          token.onCancellationRequested(() => void s.engine.cancel(runId, work));
          const r = await work;
          void vscode.window.showInformationMessage(vscode.l10n.t('Patterns for {0} layers written to {1}', r.layers, vscode.workspace.asRelativePath(r.outPath)));
          return r;
        },
      );
    })),
  ];
}
