/** The Models view: model files found in the workspace; the active one is marked. Clicking opens it. */
import * as vscode from 'vscode';
import type { ModelFinder } from './modelFinder';
import type { ExplainSession } from '../session/explainSession';
import type { LensState } from '../state/lensState';
import { COMMANDS } from '../commands/commandIds';

export class ModelsTreeProvider implements vscode.TreeDataProvider<vscode.Uri>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly subs: vscode.Disposable[];

  constructor(private readonly finder: ModelFinder, private readonly state: LensState, session: ExplainSession) {
    const refresh = () => this.emitter.fire();
    this.subs = [finder.onDidChange(refresh), session.onDidChangeModel(refresh)];
  }

  getChildren(element?: vscode.Uri): Promise<vscode.Uri[]> | vscode.Uri[] {
    return element ? [] : this.finder.find();
  }

  getTreeItem(uri: vscode.Uri): vscode.TreeItem {
    const active = uri.fsPath === this.state.modelPath;
    const rel = vscode.workspace.asRelativePath(uri);
    const item = new vscode.TreeItem(rel.includes('/') ? rel.split('/').slice(-2).join('/') : rel);
    item.resourceUri = uri;
    item.id = uri.toString();
    item.description = active ? vscode.l10n.t('active') : rel.split('/').slice(0, -2).join('/');
    item.tooltip = uri.fsPath;
    item.iconPath = new vscode.ThemeIcon(active ? 'pass-filled' : 'symbol-class');
    item.contextValue = active ? 'model.active' : 'model';
    item.command = { command: COMMANDS.openModel, title: vscode.l10n.t('Open Model'), arguments: [uri] };
    return item;
  }

  dispose(): void {
    this.subs.forEach((d) => d.dispose());
    this.emitter.dispose();
  }
}
