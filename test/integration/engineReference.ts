/**
 * The engine run directly in the test (no worker, no extension code): the reference the panel's
 * pixels are compared with. Follows the CLI's path: model card preprocessing, z^B bounds from the card,
 * the shared colormap function.
 */
import { initBackend } from '../../src/core/engine/backend';
import { loadModel } from '../../src/core/loaders/registry';
import { canonize } from '../../src/core/graph/canonize';
import { explain, Explainer } from '../../src/core/methods/explain';
import { patchTokens, tokenStage } from '../../src/core/image/tokenMap';
import { readImageFile } from '../../src/core/image/decode';
import { preprocessImage } from '../../src/core/image/preprocess';
import { heatmapFromRelevance } from '../../src/core/image/colormap';
import { defaultCard, findCardPath, inputBounds, readCard } from '../../src/core/card/modelCard';
import { parseRule, type RuleSpec } from '../../src/shared/ruleSpec';
import type { MethodName } from '../../src/core/methods/types';

export interface ReferenceRun {
  relevance: Float32Array;
  heatmap: Uint8ClampedArray;
  width: number;
  height: number;
  targetClass: number;
  layers: { name: string; rule: string; outputRelevanceSum: number; inputRelevanceSum: number }[];
}

export async function referenceExplain(modelPath: string, imagePath: string, o: { method?: MethodName; composite?: string; rules?: Record<string, string> } = {}): Promise<ReferenceRun> {
  await initBackend('auto');
  const graph = canonize(await loadModel(modelPath));
  const cardPath = findCardPath(modelPath);
  const card = cardPath ? readCard(cardPath) : defaultCard(graph.nodes[graph.input].shape);
  const input = preprocessImage(readImageFile(imagePath), card);
  const b = inputBounds(card);
  const rules: Record<string, RuleSpec> = {};
  for (const [k, v] of Object.entries(o.rules ?? {})) rules[k] = parseRule(v);
  const r = await explain(graph, input, {
    // 'auto': the model's default composite, as the panel's (relevanceLens.defaultComposite's default)
    method: o.method ?? 'lrp', composite: o.composite ?? 'auto', rules, targetClass: 'top',
    params: { low: b.low.length === 1 ? b.low[0] : b.low, high: b.high.length === 1 ? b.high[0] : b.high },
  });
  const heat = heatmapFromRelevance(r.relevance.data, r.relevance.shape as [number, number, number], { colormap: 'seismic', scale: 'max', polarity: 'both' });
  return { relevance: r.relevance.data, heatmap: heat.rgba, width: heat.width, height: heat.height, targetClass: r.target.class, layers: r.layers };
}

export interface ReferenceTokens {
  grid: [number, number];
  values: Float32Array;
  classToken?: number;
  /** the per-patch values coloured (one pixel per patch), as the panel should draw them */
  heatmap: Uint8ClampedArray;
}

/** A vision transformer's per-patch-token relevance under the model's default composite, straight from src/core. */
export async function referenceTokens(modelPath: string, imagePath: string): Promise<ReferenceTokens> {
  await initBackend('auto');
  const graph = canonize(await loadModel(modelPath));
  const tokens = patchTokens(graph);
  if (!tokens) throw new Error(`${modelPath} has no patch tokens`);
  const cardPath = findCardPath(modelPath);
  const card = cardPath ? readCard(cardPath) : defaultCard(graph.nodes[graph.input].shape);
  const input = preprocessImage(readImageFile(imagePath), card);
  const b = inputBounds(card);
  const e = new Explainer(graph);
  try {
    const r = e.explain(input, {
      method: 'lrp', composite: 'auto', targetClass: 'top',
      params: { low: b.low.length === 1 ? b.low[0] : b.low, high: b.high.length === 1 ? b.high[0] : b.high },
    }, { keepLayers: [tokens.name, tokens.joined] });
    const stage = tokenStage(tokens, r.layerRelevance);
    if (!stage) throw new Error('no relevance kept at the patch tokens');
    const heat = heatmapFromRelevance(stage.values, [tokens.grid[0], tokens.grid[1], 1], { colormap: 'seismic', scale: 'max', polarity: 'both' });
    return { grid: tokens.grid, ...stage, heatmap: heat.rgba };
  } finally {
    e.dispose();
  }
}
