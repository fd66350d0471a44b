/**
 * Wiring only. Activation builds the services and registers commands and views; it imports no
 * TensorFlow.js (the engine loads in a worker on first use), so it stays in the tens of milliseconds.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { Log } from './log';
import { ErrorReporter } from './errors';
import { readSettings, SECTION } from './config';
import { EngineHost } from './worker/engineHost';
import { LensState } from './state/lensState';
import { ExplainSession } from './session/explainSession';
import { ModelFinder } from './tree/modelFinder';
import { ModelsTreeProvider } from './tree/modelsTree';
import { LayersTreeProvider } from './tree/layersTree';
import { ExplanationPanel } from './panel/explanationPanel';
import { registerExplainCommands } from './commands/explainCommands';
import { registerModelCommands } from './commands/modelCommands';
import { registerLayerCommands } from './commands/layerCommands';
import { registerExportCommands } from './commands/exportCommands';
import { registerDatasetCommands } from './commands/datasetCommands';
import { GalleryPanel } from './panel/galleryPanel';
import type { Services } from './services';
import type { RelevanceLensApi, ViewItem } from './api';
import { makeTestHooks, testHooksEnabled } from './testHooks';

export function activate(context: vscode.ExtensionContext): RelevanceLensApi {
  const t0 = performance.now();
  const log = new Log();
  const errors = new ErrorReporter(log);
  const settings = readSettings();
  const engine = new EngineHost(path.join(context.extensionPath, 'dist'), log, readSettings,
    () => (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath));
  const state = new LensState(context.workspaceState, settings);
  const session = new ExplainSession(engine, state, errors, log);
  const models = new ModelFinder();
  const s: Services = { extensionUri: context.extensionUri, engine, state, session, log, errors, models };

  const layersTree = new LayersTreeProvider(session);
  const modelsTree = new ModelsTreeProvider(models, state, session);
  context.subscriptions.push(
    log, errors, engine, state, session, models, layersTree, modelsTree,
    vscode.window.registerTreeDataProvider('relevanceLens.models', modelsTree),
    vscode.window.createTreeView('relevanceLens.layers', { treeDataProvider: layersTree, showCollapseAll: false }),
    ExplanationPanel.registerSerializer(s),
    ...registerExplainCommands(s),
    ...registerModelCommands(s),
    ...registerLayerCommands(s),
    ...registerExportCommands(s),
    ...registerDatasetCommands(s),
    { dispose: () => GalleryPanel.instance?.dispose() },
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SECTION)) warnSettings();
      // A new backend, image limit, thread count or rule-change mode needs a fresh worker; the next request starts it.
      if (['backend', 'maxImageSide', 'parallelWorkers', 'ruleChanges'].some((k) => e.affectsConfiguration(`${SECTION}.${k}`))) engine.restart();
      if (e.affectsConfiguration(`${SECTION}.balanceTolerance`)) ExplanationPanel.instance?.sendSnapshot();
    }),
    { dispose: () => ExplanationPanel.instance?.dispose() },
    // a worker that died or hung was replaced: say so once, in the panel too (which keeps what it shows)
    engine.onDidRecover((message) => {
      errors.reportRecovery(message);
      ExplanationPanel.instance?.post('error', { message });
    }),
  );
  // Layers of the model remembered for this workspace, once the window is idle (starts the worker).
  // (not in an untrusted workspace: a model is parsed there only when the user opens it and says yes)
  if (state.modelPath && vscode.workspace.isTrusted) {
    const remembered = state.modelPath;
    setTimeout(() => void session.openModel(remembered).catch((e) => log.warn(`could not reopen ${remembered}: ${asText(e)}`)), 1500);
  }

  warnSettings();
  const activationMs = performance.now() - t0;
  log.info(`activated in ${activationMs.toFixed(1)} ms`);
  return {
    activationMs,
    onDidRender: ExplanationPanel.onDidRender,
    onDidExplain: session.onDidExplain,
    onDidShowError: errors.onDidReport,
    onDidCancel: session.onDidCancel,
    current: () => ({
      explanation: session.current, model: session.model, panelOpen: ExplanationPanel.instance !== undefined,
      panelRestored: ExplanationPanel.instance?.restored ?? false, busy: session.busy,
    }),
    lastRender: () => ExplanationPanel.lastRender,
    engineStartupMs: () => engine.startupMs,
    onDidRenderGallery: GalleryPanel.onDidRender,
    openGalleryImage: async (model, file) => {
      const g = GalleryPanel.instance;
      if (g) await g.openImage(model, file);
      return g !== undefined;
    },
    ...(testHooksEnabled() ? { testHooks: makeTestHooks(s, readSettings) } : {}),
    views: async () => ({
      models: (await modelsTree.getChildren()).map((u) => viewItem(modelsTree.getTreeItem(u))),
      layers: layersTree.getChildren().map((n) => viewItem(layersTree.getTreeItem(n))),
    }),
  };
}

function viewItem(item: vscode.TreeItem): ViewItem {
  const label = typeof item.label === 'string' ? item.label : item.label?.label ?? '';
  const tooltip = typeof item.tooltip === 'string' ? item.tooltip : item.tooltip?.value;
  return { label, description: typeof item.description === 'string' ? item.description : undefined, contextValue: item.contextValue, tooltip };
}

/** Settings out of range: one line each (the default is used), checked by the same code as the CLI's flags. */
function warnSettings(): void {
  const problems: string[] = [];
  readSettings(problems);
  for (const p of problems) void vscode.window.showWarningMessage(`Relevance Lens: ${p}`);
}

function asText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function deactivate(): void {
  // Everything is in context.subscriptions (the worker is terminated by EngineHost.dispose).
}
