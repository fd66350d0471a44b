/**
 * The Layers view: the active model's layers (after canonization: BatchNorm folded, softmax and dropout
 * gone) with op, output shape, parameter count and rule. contextValue says whether a layer takes a rule,
 * so the "Set Rule" menu only appears where it applies. Selecting a layer shows its relevance maps.
 */
import * as vscode from 'vscode';
import type { LayerInfo } from '../../shared/protocol';
import type { ExplainSession } from '../session/explainSession';
import { COMMANDS } from '../commands/commandIds';
import { layerTooltipMarkdown } from '../../shared/escape';

export interface LayerNode {
  layer: LayerInfo;
}

const OP_ICONS: Record<string, string> = {
  input: 'symbol-event', conv2d: 'symbol-array', depthwiseConv2d: 'symbol-array', dense: 'symbol-numeric',
  batchNorm: 'symbol-operator', activation: 'symbol-function', maxPool: 'fold-down', avgPool: 'fold-down',
  globalAvgPool: 'fold-down', flatten: 'list-flat', reshape: 'list-flat', add: 'add', concat: 'merge', pad: 'symbol-ruler',
};

export function formatCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

export class LayersTreeProvider implements vscode.TreeDataProvider<LayerNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<LayerNode[] | void>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly sub: vscode.Disposable;
  private nodes: LayerNode[] = [];

  constructor(private readonly session: ExplainSession) {
    this.sub = session.onDidChangeModel((m) => {
      const layers = m?.layers ?? [];
      const same = layers.length === this.nodes.length && layers.every((l, i) => l.id === this.nodes[i].layer.id && l.name === this.nodes[i].layer.name);
      if (!same) {
        this.nodes = layers.map((layer) => ({ layer }));
        this.emitter.fire();
        return;
      }
      // a rule change re-reads the same layers: only the items that changed are sent to the view again
      // (ResNet-50: one item instead of ~170 with their tooltips, while the run wants the cores)
      const changed = this.nodes.filter((n, i) => JSON.stringify(n.layer) !== JSON.stringify(layers[i]));
      this.nodes.forEach((n, i) => (n.layer = layers[i]));
      if (changed.length) this.emitter.fire(changed);
    });
  }

  getChildren(element?: LayerNode): LayerNode[] {
    return element ? [] : this.nodes;
  }

  getParent(): undefined {
    return undefined;
  }

  getTreeItem({ layer }: LayerNode): vscode.TreeItem {
    const item = new vscode.TreeItem(layer.name);
    item.id = `layer:${layer.id}:${layer.name}`;
    const shape = `[${layer.shape.join('×')}]`;
    // The rule first: it is what this view is for, and the end of a long description gets cut off.
    const rule = layer.ruleable ? `${layer.rule}${layer.overridden ? ' *' : ''} · ` : '';
    item.description = `${rule}${layer.op} ${shape}${layer.params ? ` · ${formatCount(layer.params)} params` : ''}`;
    // names come from the model file: escaped, no HTML, no command links (isTrusted stays false)
    const tooltip = new vscode.MarkdownString(layerTooltipMarkdown(layer));
    tooltip.supportHtml = false;
    tooltip.isTrusted = false;
    item.tooltip = tooltip;
    item.iconPath = new vscode.ThemeIcon(OP_ICONS[layer.op] ?? 'symbol-misc');
    item.contextValue = layer.ruleable ? (layer.overridden ? 'layer.ruleable.overridden' : 'layer.ruleable') : 'layer';
    item.command = { command: COMMANDS.showLayerMaps, title: vscode.l10n.t('Show Relevance at Layer'), arguments: [{ layer }] };
    item.accessibilityInformation = { label: `${layer.name}, ${layer.op}, output ${layer.shape.join(' by ')}${layer.ruleable ? `, rule ${layer.rule}` : ''}` };
    return item;
  }

  dispose(): void {
    this.sub.dispose();
    this.emitter.dispose();
  }
}
