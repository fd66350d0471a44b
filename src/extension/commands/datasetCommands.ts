/**
 * Data-set commands: explain every image of a folder into a run (right-click a folder, or the palette)
 * in the engine worker with progress and Cancel, then its SpRAy clusters in the gallery; open the
 * gallery of an existing run; compare two runs. Runs go to .relevance-lens/runs/ in the workspace,
 * named after folder, model and method, so the same command on the same folder resumes.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { Services } from '../services';
import { UserError } from '../errors';
import { GalleryPanel } from '../panel/galleryPanel';
import { COMMANDS } from './commandIds';
import { ensureModel } from './pickers';
import type { ExplainSetSummary, GalleryCompare, GallerySpray } from '../../shared/datasetProtocol';

/** Members per cluster sent to the gallery (the CLI's spray.json has them all). */
const MAX_MEMBERS = 48;
const TOP_CHANGED = 24;

async function pickFolder(title: string): Promise<vscode.Uri | undefined> {
  const uris = await vscode.window.showOpenDialog({ title, canSelectFiles: false, canSelectFolders: true, canSelectMany: false, defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri });
  return uris?.[0];
}

function runFolderFor(s: Services, folder: vscode.Uri, modelPath: string): string {
  const root = vscode.workspace.getWorkspaceFolder(folder)?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? path.dirname(folder.fsPath);
  const model = path.basename(modelPath) === 'model.json' ? path.basename(path.dirname(modelPath)) : path.basename(modelPath, path.extname(modelPath));
  const method = s.state.method === 'lrp' ? `lrp-${s.state.composite}` : s.state.method;
  const safe = (x: string): string => x.replace(/[^A-Za-z0-9._-]+/g, '_');
  return path.join(root, '.relevance-lens', 'runs', `${safe(path.basename(folder.fsPath))}-${safe(model)}-${safe(method)}`);
}

/** Runs one engine request with a cancellable notification that shows the worker's progress. */
async function withEngineProgress<T>(s: Services, title: string, start: (runId: number, onProgress: (stage: string, fraction?: number) => void) => Promise<T>): Promise<T> {
  const runId = s.engine.newRunId();
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    let last = 0;
    const work = start(runId, (stage, fraction) => {
      const inc = fraction !== undefined ? Math.max(0, 100 * fraction - last) : undefined;
      if (fraction !== undefined) last = 100 * fraction;
      progress.report({ message: stage, ...(inc !== undefined ? { increment: inc } : {}) });
    });
    token.onCancellationRequested(() => void s.engine.cancel(runId, work));
    return work;
  });
}

export async function explainFolder(s: Services, folder?: vscode.Uri): Promise<{ summary: ExplainSetSummary; spray?: GallerySpray } | undefined> {
  const dir = folder instanceof vscode.Uri ? folder : await pickFolder(vscode.l10n.t('Folder of images to explain'));
  if (!dir) return undefined;
  if (!(await ensureModel(s))) return undefined;
  const modelPath = s.session.model?.path ?? s.state.modelPath;
  if (!modelPath) throw new UserError(vscode.l10n.t('No model is open.'));
  const out = runFolderFor(s, dir, modelPath);
  const summary = await withEngineProgress(s, vscode.l10n.t('Relevance Lens: explaining {0}', path.basename(dir.fsPath)), (runId, onProgress) =>
    s.engine.request('explainSet', {
      runId, modelPath, source: dir.fsPath, out, method: s.state.method, composite: s.state.composite,
      rules: s.state.rules, params: s.state.params, targetClass: s.state.targetClass,
    }, onProgress));
  s.log.info(`explain-set ${dir.fsPath} -> ${out}: ${summary.computed} computed, ${summary.skipped} resumed, ${summary.failed} failed in ${(summary.elapsedMs / 1000).toFixed(1)} s; peak RSS ${(summary.peakRssBytes / 2 ** 20).toFixed(0)} MB`);
  if (summary.cancelled) {
    void vscode.window.showInformationMessage(vscode.l10n.t('Stopped after {0} of {1} images; run the command on the folder again to resume.', summary.skipped + summary.computed + summary.failed, summary.total));
    return { summary };
  }
  const spray = await showRun(s, vscode.Uri.file(out));
  return { summary, spray };
}

export async function showRun(s: Services, run?: vscode.Uri): Promise<GallerySpray | undefined> {
  const dir = run instanceof vscode.Uri ? run : await pickFolder(vscode.l10n.t('Run folder (made by explain-set)'));
  if (!dir) return undefined;
  const spray = await withEngineProgress(s, vscode.l10n.t('Relevance Lens: SpRAy clusters'), () =>
    s.engine.request('sprayRun', { runDir: dir.fsPath, maxMembers: MAX_MEMBERS }));
  s.log.info(`SpRAy ${dir.fsPath}: ${spray.clusters.length} clusters over ${spray.classes.length} classes`);
  GalleryPanel.show(s, { spray });
  return spray;
}

export async function compareTwoRuns(s: Services, a?: vscode.Uri, b?: vscode.Uri): Promise<GalleryCompare | undefined> {
  const runA = a instanceof vscode.Uri ? a : await pickFolder(vscode.l10n.t('Run A (the baseline)'));
  if (!runA) return undefined;
  const runB = b instanceof vscode.Uri ? b : await pickFolder(vscode.l10n.t('Run B'));
  if (!runB) return undefined;
  const compare = await withEngineProgress(s, vscode.l10n.t('Relevance Lens: comparing runs'), () =>
    s.engine.request('compareRuns', { runA: runA.fsPath, runB: runB.fsPath, top: TOP_CHANGED }));
  s.log.info(`compared ${runA.fsPath} with ${runB.fsPath}: ${compare.compared} images, mean rho ${compare.meanRho.toFixed(4)}`);
  GalleryPanel.show(s, { compare });
  return compare;
}

export function registerDatasetCommands(s: Services): vscode.Disposable[] {
  const { errors } = s;
  return [
    vscode.commands.registerCommand(COMMANDS.explainFolder, errors.wrap('Explain Folder', (uri?: vscode.Uri) => explainFolder(s, uri))),
    vscode.commands.registerCommand(COMMANDS.showRun, errors.wrap('Show SpRAy Clusters', (uri?: vscode.Uri) => showRun(s, uri))),
    vscode.commands.registerCommand(COMMANDS.compareRuns, errors.wrap('Compare Runs', (a?: vscode.Uri, b?: vscode.Uri) => compareTwoRuns(s, a, b))),
  ];
}
