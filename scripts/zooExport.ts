/**
 * A torchvision export of scripts/models/export_torchvision.py as the analysis scripts take it: the canonized
 * graph and its input (HWC, without batch), with wasm set up. `fail` reports a missing export.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../src/core/engine/backend';
import { loadModel } from '../src/core/loaders/registry';
import { canonize } from '../src/core/graph/canonize';
import { readNpy } from '../src/core/io/npy';
import type { Graph } from '../src/core/graph/ir';

export const ZOO_DIR = path.join(os.homedir(), '.cache', 'relevance-lens', 'zoo');

export async function openZooExport(model: string, dir: string | undefined, fail: (msg: string) => never): Promise<{ g: Graph; input: { shape: number[]; data: Float32Array } }> {
  const d = dir ?? ZOO_DIR;
  const file = path.join(d, `${model}.onnx`);
  if (!fs.existsSync(file)) fail(`${file}: no such export (scripts/models/export_torchvision.py --models ${model})`);
  await initBackend('wasm');
  const g = canonize(await loadModel(file));
  const x = readNpy(fs.readFileSync(path.join(d, `${model}.input.npy`)), `${model}.input.npy`);
  return { g, input: { shape: x.shape.length === 4 ? x.shape.slice(1) : x.shape, data: x.data } };
}
