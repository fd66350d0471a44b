/** Explain an image (palette, Explorer right-click, editor title), with a chosen method, compare methods. */
import * as vscode from 'vscode';
import { isMethodId, type Explanation, type MethodId } from '../../shared/protocol';
import type { Services } from '../services';
import { ExplanationPanel } from '../panel/explanationPanel';
import { isImageFile } from '../tree/modelFinder';
import { UserError } from '../errors';
import { COMMANDS } from './commandIds';
import { ensureModel, pickImageFile, pickMethod, pickMethods } from './pickers';

async function explainImage(s: Services, uri?: vscode.Uri, method?: MethodId): Promise<Explanation | undefined> {
  // Invoked from an editor title or with no argument: fall back to the active editor's file, then a dialog.
  const image = uri instanceof vscode.Uri ? uri : await pickImageFile();
  if (!image) return undefined;
  if (!isImageFile(image)) throw new UserError(vscode.l10n.t('{0} is not a PNG, JPEG or BMP image', vscode.workspace.asRelativePath(image)));
  if (!(await ensureModel(s))) return undefined;
  if (method) s.state.setMethod(method);
  ExplanationPanel.createOrShow(s);
  return s.session.explain({ imagePath: image.fsPath });
}

export function registerExplainCommands(s: Services): vscode.Disposable[] {
  const { errors } = s;
  return [
    vscode.commands.registerCommand(COMMANDS.explainImage, errors.wrap('Explain Image', (uri?: vscode.Uri) => explainImage(s, uri))),
    vscode.commands.registerCommand(COMMANDS.explainWithMethod, errors.wrap('Explain with Method', async (uri?: vscode.Uri, method?: string) => {
      const m = isMethodId(method) ? method : await pickMethod(s.state.method);
      if (!m) return undefined;
      return explainImage(s, uri, m);
    })),
    vscode.commands.registerCommand(COMMANDS.showPanel, errors.wrap('Show Panel', () => {
      ExplanationPanel.createOrShow(s);
    })),
    vscode.commands.registerCommand(COMMANDS.compareMethods, errors.wrap('Compare Methods', async (methods?: unknown) => {
      const chosen = Array.isArray(methods) && methods.every(isMethodId) ? methods : await pickMethods(s.state.compareMethods);
      if (!chosen?.length) return undefined;
      if (!s.session.current && !s.session.spec()) {
        throw new UserError(vscode.l10n.t('Explain an image first, then compare methods on it.'));
      }
      s.state.setCompareMethods(chosen);
      if (!(await ensureModel(s))) return undefined;
      const panel = ExplanationPanel.createOrShow(s);
      const result = await s.session.compare(chosen);
      if (result) panel.post('compare', result);
      return result;
    })),
  ];
}
