/**
 * Legacy Keras HDF5 models (.h5 / .hdf5 written by model.save in Keras 2 / tf.keras): the `model_config`
 * attribute holds the Keras 2 config, `model_weights/<layer>` lists its `weight_names` whose datasets
 * hold the arrays. The config goes through the same converter as TF.js layers models.
 */
import type { Graph, ParamArray } from '../graph/ir';
import { LensError } from '../errors';
import { kerasConfigToGraph, type KerasModelConfig, type WeightLookup } from './kerasConfig';
import type { ModelLoader } from './loader';
import { H5File, type H5Group } from './hdf5';
import { formatBytes, LIMITS, readModelFile } from '../io/boundedRead';

export { readModelFile };

export function parseKerasConfig(text: string | undefined, file: string, where: string): KerasModelConfig {
  if (!text) throw new LensError('bad-model', `${where} is empty`, file);
  if (text.length > LIMITS.jsonBytes) throw new LensError('bad-model', `${where} is ${formatBytes(text.length)} of JSON, over the limit of ${formatBytes(LIMITS.jsonBytes)}`, file);
  let cfg: KerasModelConfig;
  try {
    cfg = JSON.parse(text) as KerasModelConfig;
  } catch (e) {
    throw new LensError('bad-model', `${where} is not valid JSON (${(e as Error).message.split('\n')[0]})`, file);
  }
  if (!cfg || typeof cfg !== 'object' || typeof cfg.class_name !== 'string') {
    throw new LensError('bad-model', `${where} has no model class_name`, file);
  }
  return cfg;
}

/** Keras weight names: 'conv1/kernel:0', 'model/conv1/kernel:0', 'kernel' -> 'kernel'. */
function paramKey(weightName: string): string {
  const last = weightName.split('/').pop() ?? weightName;
  return last.replace(/:\d+$/, '');
}

export function loadKerasH5(file: string): Graph {
  const h5 = new H5File(readModelFile(file), file);
  const text = h5.attrString(h5.root, 'model_config');
  if (text === undefined) {
    throw new LensError('bad-model', 'no model_config attribute: this .h5 holds weights only (save the whole model with model.save)', file);
  }
  const config = parseKerasConfig(text, file, 'model_config');
  const weightsRoot = h5.has('model_weights') ? 'model_weights' : '';
  const cache = new Map<string, Map<string, string> | null>();
  const layerWeights = (layer: string): Map<string, string> | null => {
    if (cache.has(layer)) return cache.get(layer)!;
    const gpath = weightsRoot ? `${weightsRoot}/${layer}` : layer;
    const g: H5Group | undefined = h5.group(gpath);
    let map: Map<string, string> | null = null;
    if (g) {
      map = new Map();
      for (const w of h5.attrStrings(g, 'weight_names') ?? []) map.set(paramKey(w), `${gpath}/${w}`);
    }
    cache.set(layer, map);
    return map;
  };
  const lookup: WeightLookup = (layer, param): ParamArray | undefined => {
    const p = layerWeights(layer)?.get(param);
    if (!p) return undefined;
    const d = h5.dataset(p);
    if (!d) throw new LensError('missing-weights', `layer '${layer}': weight '${param}' is listed but its dataset '${p}' is missing`, file);
    return d;
  };
  return kerasConfigToGraph(config, lookup, file, 'keras-h5');
}

export const kerasH5Loader: ModelLoader = {
  name: 'keras-h5',
  match(file: string): boolean {
    return /\.(h5|hdf5)$/i.test(file);
  },
  async open(file: string): Promise<Graph> {
    return loadKerasH5(file);
  },
};
