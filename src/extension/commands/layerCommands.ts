/** Per-layer actions from the Layers view's context menu (or with a layer name, from tests/keybindings). */
import * as vscode from 'vscode';
import type { Services } from '../services';
import { ExplanationPanel } from '../panel/explanationPanel';
import { UserError } from '../errors';
import { COMMANDS } from './commandIds';
import { pickRule } from './rulePicker';

/** A Layers-view item or a layer name. */
type LayerArg = { layer: { name: string } } | string | undefined;

function layerName(arg: LayerArg): string | undefined {
  return typeof arg === 'string' ? arg : arg?.layer?.name;
}

export function registerLayerCommands(s: Services): vscode.Disposable[] {
  const { errors, session, state } = s;
  const afterRuleChange = async () => {
    await session.refreshModel();
    if (ExplanationPanel.instance || session.current) await session.explain();
  };
  return [
    vscode.commands.registerCommand(COMMANDS.setLayerRule, errors.wrap('Set Layer Rule', async (arg: LayerArg, ruleText?: string) => {
      const name = layerName(arg);
      const layer = session.model?.layers.find((l) => l.name === name);
      if (!layer) throw new UserError(vscode.l10n.t('Open a model first, then pick one of its layers.'));
      if (!layer.ruleable) throw new UserError(vscode.l10n.t('Layer {0} ({1}) has no weights and takes no rule.', layer.name, layer.op));
      const rule = typeof ruleText === 'string' ? ruleText : await pickRule(layer.name, layer.rule, state.params, layer.rules);
      if (rule === undefined) return;
      state.setRule(layer.name, rule);
      await afterRuleChange();
    })),
    vscode.commands.registerCommand(COMMANDS.resetLayerRule, errors.wrap('Reset Layer Rule', async (arg: LayerArg) => {
      const name = layerName(arg);
      if (!name) return;
      state.setRule(name, '');
      await afterRuleChange();
    })),
    vscode.commands.registerCommand(COMMANDS.resetAllRules, errors.wrap('Reset All Rules', async () => {
      state.clearRules();
      await afterRuleChange();
    })),
    vscode.commands.registerCommand(COMMANDS.showLayerMaps, errors.wrap('Show Layer Relevance', async (arg: LayerArg) => {
      const name = layerName(arg);
      if (!name) return;
      if (!session.current && !session.spec()) {
        // Browsing layers before any explanation is normal: a hint, not an error dialog.
        vscode.window.setStatusBarMessage(vscode.l10n.t('Explain an image first to see relevance at layer {0}.', name), 5000);
        return;
      }
      const panel = ExplanationPanel.createOrShow(s);
      return panel.showLayer(name);
    })),
  ];
}
