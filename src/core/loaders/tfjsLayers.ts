/** TF.js layers models: model.json (Keras topology + weightsManifest) and its weight shards. */
import * as path from 'path';
import type { Graph } from '../graph/ir';
import { LensError } from '../errors';
import { kerasConfigToGraph, type KerasModelConfig } from './kerasConfig';
import { readManifestWeights, weightLookup, type ManifestGroup } from './tfjsWeights';
import type { ModelLoader } from './loader';
import { LIMITS, readTextBounded } from '../io/boundedRead';

interface LayersModelJson {
  format?: string;
  modelTopology?: { model_config?: KerasModelConfig; class_name?: string; config?: unknown };
  weightsManifest?: ManifestGroup[];
}

export function readJsonFile(file: string): unknown {
  const text = readTextBounded(file, { what: 'JSON file', maxBytes: LIMITS.jsonBytes, limitName: 'JSON config limit' });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new LensError('bad-model', `not valid JSON (${(e as Error).message.split('\n')[0]})`, file);
  }
}

function topologyOf(json: LayersModelJson): KerasModelConfig | undefined {
  const t = json.modelTopology;
  if (!t) return undefined;
  if (t.model_config) return t.model_config;
  if (t.class_name) return t as KerasModelConfig;
  return undefined;
}

export const tfjsLayersLoader: ModelLoader = {
  name: 'tfjs-layers',
  match(file: string, head: Uint8Array): boolean {
    if (!file.endsWith('.json')) return false;
    const text = Buffer.from(head).toString('utf8');
    if (/"format"\s*:\s*"layers-model"/.test(text)) return true;
    return text.includes('"modelTopology"') && !/"format"\s*:\s*"graph-model"/.test(text) && !/"node"\s*:\s*\[/.test(text);
  },
  async open(file: string): Promise<Graph> {
    const json = readJsonFile(file) as LayersModelJson;
    const topology = topologyOf(json);
    if (!topology) throw new LensError('bad-model', 'no Keras model topology in modelTopology (is this a TF.js layers model?)', file);
    const weights = readManifestWeights(json.weightsManifest ?? [], path.dirname(file), file);
    return kerasConfigToGraph(topology, weightLookup(weights), file, 'tfjs-layers');
  },
};
