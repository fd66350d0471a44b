/** Model files in the workspace (TF.js model.json, Keras .h5/.keras, ONNX), kept fresh by a file watcher. */
import * as vscode from 'vscode';

export const MODEL_GLOB = '**/{model.json,*.h5,*.keras,*.onnx}';
const EXCLUDE = '**/{node_modules,.git,.code-server,.vscode-test,dist,out}/**';

export function isModelFile(uri: vscode.Uri): boolean {
  return /(^|[\\/])model\.json$|\.(h5|keras|onnx)$/i.test(uri.fsPath);
}

export function isImageFile(uri: vscode.Uri): boolean {
  return /\.(png|jpe?g|bmp)$/i.test(uri.fsPath);
}

export class ModelFinder implements vscode.Disposable {
  private cache?: Promise<vscode.Uri[]>;
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;
  private readonly watcher = vscode.workspace.createFileSystemWatcher(MODEL_GLOB);

  constructor() {
    const invalidate = () => this.invalidate();
    this.watcher.onDidCreate(invalidate);
    this.watcher.onDidDelete(invalidate);
  }

  invalidate(): void {
    this.cache = undefined;
    this.emitter.fire();
  }

  find(): Promise<vscode.Uri[]> {
    this.cache ??= Promise.resolve(vscode.workspace.findFiles(MODEL_GLOB, EXCLUDE, 500)).then((uris) =>
      uris.sort((a, b) => a.fsPath.localeCompare(b.fsPath)),
    );
    return this.cache;
  }

  dispose(): void {
    this.watcher.dispose();
    this.emitter.dispose();
  }
}
