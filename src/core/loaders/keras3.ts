/**
 * Keras 3 `.keras` files: a zip with config.json (the Keras 3 config) and model.weights.h5, where each
 * layer's variables sit at `layers/<name>/vars/<i>` in creation order. The index is mapped back to the
 * Keras weight name from the layer class and config, then the shared Keras converter builds the IR.
 */
import type { Graph, ParamArray } from '../graph/ir';
import { LensError } from '../errors';
import { kerasConfigToGraph, type KerasModelConfig, type WeightLookup } from './kerasConfig';
import type { ModelLoader } from './loader';
import { H5File } from './hdf5';
import { ZipReader } from './zip';
import { parseKerasConfig, readModelFile } from './kerasH5';
import { LIMITS } from '../io/boundedRead';

interface LayerCfg {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
}

/** Variable names in the order Keras 3 creates them, per layer class. */
export function keras3VarNames(l: LayerCfg): string[] {
  const c = l.config ?? {};
  const bias = c.use_bias !== false ? ['bias'] : [];
  switch (l.class_name) {
    case 'Conv1D': case 'Conv2D': case 'Conv3D': case 'Dense': case 'Conv2DTranspose':
      return ['kernel', ...bias];
    case 'DepthwiseConv2D':
      return ['depthwise_kernel', ...bias];
    case 'SeparableConv2D':
      return ['depthwise_kernel', 'pointwise_kernel', ...bias];
    case 'BatchNormalization':
      return [...(c.scale !== false ? ['gamma'] : []), ...(c.center !== false ? ['beta'] : []), 'moving_mean', 'moving_variance'];
    default:
      return [];
  }
}

function layersOf(model: KerasModelConfig): LayerCfg[] {
  const cfg = model.config as { layers?: LayerCfg[] } | LayerCfg[];
  const layers = Array.isArray(cfg) ? cfg : cfg?.layers;
  return Array.isArray(layers) ? layers : [];
}

export function loadKeras3(file: string): Graph {
  const zip = new ZipReader(readModelFile(file), file);
  if (!zip.has('config.json')) throw new LensError('bad-model', 'config.json is missing from the archive (not a Keras 3 model file)', file);
  if (!zip.has('model.weights.h5')) throw new LensError('missing-weights', 'model.weights.h5 is missing from the archive', file);
  const config = parseKerasConfig(zip.read('config.json', LIMITS.jsonBytes, 'JSON config limit').toString('utf8'), file, 'config.json');
  const h5 = new H5File(zip.read('model.weights.h5', LIMITS.modelBytes, 'RELEVANCE_LENS_MAX_MODEL_MB'), file, 'model.weights.h5');
  const base = ['layers', '_layer_checkpoint_dependencies'].find((b) => h5.has(b)) ?? 'layers';
  const names = new Map<string, string[]>();
  for (const l of layersOf(config)) names.set((l.config?.name ?? l.name) as string, keras3VarNames(l));
  const lookup: WeightLookup = (layer, param): ParamArray | undefined => {
    const order = names.get(layer) ?? [];
    const i = order.indexOf(param);
    if (i < 0) return undefined;
    const vars = `${base}/${layer}/vars`;
    const d = h5.dataset(`${vars}/${i}`);
    if (!d && h5.has(vars)) {
      const have = h5.group(vars)?.keys.length ?? 0;
      throw new LensError('missing-weights', `layer '${layer}': weight '${param}' (variable ${i}) is missing from model.weights.h5 (${have} stored)`, file);
    }
    return d;
  };
  return kerasConfigToGraph(config, lookup, file, 'keras3');
}

export const keras3Loader: ModelLoader = {
  name: 'keras3',
  match(file: string): boolean {
    return /\.keras$/i.test(file);
  },
  async open(file: string): Promise<Graph> {
    return loadKeras3(file);
  },
};
