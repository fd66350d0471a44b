/** Picks the loader for a model file; new formats register here. */
import * as fs from 'fs';
import type { Graph } from '../graph/ir';
import { LensError } from '../errors';
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
  let head: Uint8Array;
  try {
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(4096);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    fs.closeSync(fd);
    head = buf.subarray(0, n);
  } catch {
    throw new LensError('bad-model', 'model file not found or not readable', file);
  }
  const loader = LOADERS.find((l) => l.match(file, head));
  if (!loader) {
    throw new LensError('bad-model', `not a model format Relevance Lens reads (${LOADERS.map((l) => l.name).join(', ')}: model.json, .h5, .keras, .onnx)`, file);
  }
  return loader.open(file, opts);
}
