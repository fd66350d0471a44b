/**
 * The engine run directly in the test (no worker, no extension code): the reference the panel's
 * pixels are compared with. Follows the CLI's path: model card preprocessing, z^B bounds from the card,
 * the shared colormap function.
 */
import { initBackend } from '../../src/core/engine/backend';
import { loadModel } from '../../src/core/loaders/registry';
import { canonize } from '../../src/core/graph/canonize';
import { explain } from '../../src/core/methods/explain';
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
