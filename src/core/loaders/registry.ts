/** Picks the loader for a model file; new formats register here. */
import type { Graph } from '../graph/ir';
import { LensError } from '../errors';
import { readBounded } from '../io/boundedRead';
import type { LoadOptions, ModelLoader } from './loader';
import { tfjsLayersLoader } from './tfjsLayers';
import { tfjsGraphLoader } from './tfjsGraph';
import { kerasH5Loader } from './kerasH5';
import { keras3Loader } from './keras3';
import { onnxLoader } from './onnx';

const LOADERS: ModelLoader[] = [tfjsLayersLoader, tfjsGraphLoader, kerasH5Loader, keras3Loader, onnxLoader];

export function registerLoader(loader: ModelLoader): void {
  if (!LOADERS.some((l) => l.name === loader.name)) LOADERS.push(loader);
}

export async function loadModel(file: string, opts: LoadOptions = {}): Promise<Graph> {
  // the first bytes only, from a regular file (a FIFO or device named as a model is refused here)
  const head: Uint8Array = readBounded(file, { what: 'model file', maxBytes: 4096, prefix: true });
  const loader = LOADERS.find((l) => l.match(file, head));
  if (!loader) {
    throw new LensError('bad-model', `not a model format Relevance Lens reads (${LOADERS.map((l) => l.name).join(', ')}: model.json, .h5, .keras, .onnx)`, file);
  }
  try {
    return await loader.open(file, opts);
  } catch (e) {
    // A file the loader's checks did not foresee (a config entry of the wrong type, a list too short)
    // surfaces as a TypeError/RangeError while walking its structure: that is a bad file, not a crash.
    if (e instanceof TypeError || e instanceof RangeError) {
      throw new LensError('bad-model', `unexpected structure in the ${loader.name} file, corrupt or not written by a known exporter (${e.message.split('\n')[0]})`, file);
    }
    throw e;
  }
}
