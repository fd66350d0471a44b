/** Quick picks and dialogs shared by several commands. */
import * as vscode from 'vscode';
import { METHOD_NAMES, type MethodId } from '../../shared/protocol';
import type { Services } from '../services';
import { UserError } from '../errors';

export const METHOD_DESCRIPTIONS: Record<MethodId, string> = {
  lrp: 'Layer-wise Relevance Propagation with the chosen composite',
  'deep-taylor': 'Deep Taylor Decomposition (z⁺ root points)',
  'deep-taylor-bounded': 'Deep Taylor with z^B in the first layer',
  gradient: 'Saliency: gradient of the logit',
  'gradient-x-input': 'Gradient × input',
  smoothgrad: 'Gradient averaged over noisy copies',
  'smoothgrad-squared': 'Squared gradient averaged over noisy copies (SmoothGrad²)',
  vargrad: 'Variance of the gradient over noisy copies (VarGrad)',
  'integrated-gradients': 'Path integral of gradients from a baseline',
  deconvnet: 'Deconvnet: ReLU passes positive upstream signal',
  'guided-backprop': 'Guided Backprop: both ReLU masks',
  'pattern-net': 'PatternNet (needs fitted patterns)',
  'pattern-attribution': 'PatternAttribution (needs fitted patterns)',
};

export async function pickMethod(current?: MethodId): Promise<MethodId | undefined> {
  const items = METHOD_NAMES.map((m) => ({ label: m, description: m === current ? vscode.l10n.t('current') : undefined, detail: vscode.l10n.t(METHOD_DESCRIPTIONS[m]) }));
  const pick = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Explanation method') });
  return pick?.label;
}

export async function pickMethods(selected: MethodId[]): Promise<MethodId[] | undefined> {
  const items = METHOD_NAMES.map((m) => ({ label: m, picked: selected.includes(m), detail: vscode.l10n.t(METHOD_DESCRIPTIONS[m]) }));
  const picks = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Methods to compare'), canPickMany: true });
  return picks?.map((p) => p.label);
}

export async function pickImageFile(): Promise<vscode.Uri | undefined> {
  const uris = await vscode.window.showOpenDialog({
    title: vscode.l10n.t('Image to explain'),
    canSelectMany: false,
    filters: { [vscode.l10n.t('Images')]: ['png', 'jpg', 'jpeg', 'bmp'] },
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  return uris?.[0];
}

/**
 * The model to explain with: the loaded one, else the one remembered for this workspace, else the only
 * model in the workspace, else the user's pick.
 */
export async function ensureModel(s: Services): Promise<boolean> {
  if (s.session.model && s.session.model.path === s.state.modelPath) return true;
  if (s.state.modelPath) {
    await s.session.openModel(s.state.modelPath);
    return true;
  }
  const models = await s.models.find();
  if (models.length === 0) {
    throw new UserError(vscode.l10n.t('No model is open and none was found in the workspace (model.json, .h5, .keras, .onnx). Use “Relevance Lens: Open Model”.'));
  }
  let uri: vscode.Uri | undefined = models[0];
  if (models.length > 1) {
    const pick = await vscode.window.showQuickPick(
      models.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })),
      { title: vscode.l10n.t('Model to explain with') },
    );
    uri = pick?.uri;
  }
  if (!uri) return false;
  await s.session.openModel(uri.fsPath);
  return true;
}
