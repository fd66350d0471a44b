/** Export the current explanation: overlay PNG, input relevance .npy (HWC float32), or the CLI's JSON. */
import * as path from 'path';
import * as vscode from 'vscode';
import type { ExportKind } from '../../shared/protocol';
import type { Services } from '../services';
import { UserError } from '../errors';
import { COMMANDS } from './commandIds';

const KINDS: { format: ExportKind; label: string; filter: string }[] = [
  { format: 'png', label: 'PNG (heatmap over the image, at the image\'s own size)', filter: 'PNG' },
  { format: 'heatmap-png', label: 'PNG (heatmap only, at the image\'s own size)', filter: 'PNG' },
  { format: 'npy', label: '.npy (input relevance, float32 HWC)', filter: 'NumPy' },
  { format: 'json', label: 'JSON (rules, predictions, conservation, relevance)', filter: 'JSON' },
];

export function registerExportCommands(s: Services): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(COMMANDS.exportHeatmap, s.errors.wrap('Export', async (kindArg?: string, target?: vscode.Uri | string) => {
      const ex = s.session.current;
      if (!ex) throw new UserError(vscode.l10n.t('Nothing to export yet: explain an image first.'));
      const kind = KINDS.find((k) => k.format === kindArg)?.format
        ?? (await vscode.window.showQuickPick(KINDS.map((k) => ({ ...k, label: vscode.l10n.t(k.label) })), { title: vscode.l10n.t('Export as') }))?.format;
      if (!kind) return undefined;
      let outPath = typeof target === 'string' ? target : target?.fsPath;
      if (!outPath) {
        const stem = path.basename(ex.spec.imagePath).replace(/\.[^.]+$/, '');
        const ext = kind === 'heatmap-png' ? 'png' : kind;
        const suffix = kind === 'heatmap-png' ? 'heatmap' : 'relevance';
        const suggested = path.join(path.dirname(ex.spec.imagePath), `${stem}.${ex.spec.method}.${suffix}.${ext}`);
        const uri = await vscode.window.showSaveDialog({
          title: vscode.l10n.t('Export relevance'), defaultUri: vscode.Uri.file(suggested),
          filters: { [KINDS.find((k) => k.format === kind)!.filter]: [ext] },
        });
        outPath = uri?.fsPath;
      }
      if (!outPath) return undefined;
      const r = await s.session.export(kind, outPath);
      s.log.info(`exported ${kind} to ${r.outPath} (${r.bytes} bytes)`);
      void vscode.window.showInformationMessage(vscode.l10n.t('Exported {0}', vscode.workspace.asRelativePath(r.outPath)));
      return r;
    })),
  ];
}
