/**
 * File-level steps shared by the CLI and the extension's worker: open a model with its card, turn an
 * image or .npy into the model's input, render the result as a PNG heatmap.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Graph } from './graph/ir';
import { loadModel } from './loaders/registry';
import { canonize } from './graph/canonize';
import { LensError } from './errors';
import { readBounded } from './io/boundedRead';
import { defaultCard, findCardPath, inputBounds, readCard, type ModelCard } from './card/modelCard';
import { readImageFile, type RgbaImage } from './image/decode';
import { imageToDisplayRgba, preprocessImage } from './image/preprocess';
import { NPY_HEADER_MAX, readNpy } from './io/npy';
import { heatmapFromRelevance, overlayHeatmap, type HeatmapOptions } from './image/colormap';
import { encodePng } from './image/png';
import { upscaleNearest } from './image/upscale';
import type { InputArray } from './methods/explain';

export interface OpenedModel {
  file: string;
  /** the canonized graph the engine explains */
  graph: Graph;
  /** the graph as loaded, before canonization (for `info`; without parameters when opened with keepRaw false) */
  raw: Graph;
  card: ModelCard;
  /** undefined when no card was found and defaults were guessed */
  cardPath?: string;
  labels?: string[];
}

/**
 * Loads a model with its card. The card (`cardFile`, else the one found next to the model) is read
 * first: its height and width give the input size of models whose size is dynamic in the file (ONNX,
 * TF.js graph models), and it must then agree with the model's input.
 */
export async function openModel(file: string, cardFile?: string, opts: { keepRaw?: boolean } = {}): Promise<OpenedModel> {
  if (!fs.existsSync(file)) throw new LensError('bad-model', 'model file not found or not readable', file);
  const cardPath = cardFile ?? findCardPath(file);
  const loaded = cardPath ? readCard(cardPath) : undefined;
  let raw = await loadModel(file, loaded ? { inputSize: [loaded.input.height, loaded.input.width] } : {});
  const graph = canonize(raw);
  // the pre-folding weights (and the file buffer they may view) are only needed by `info`: an explaining
  // caller drops them, so the parameters are held once
  if (opts.keepRaw === false) {
    raw = { ...raw, nodes: raw.nodes.map((n) => ({ ...n, params: {} })) };
    // a parameter that views a larger buffer (the file's bytes) would keep all of it alive: copy it
    for (const n of graph.nodes) {
      for (const p of Object.values(n.params)) if (p && !p.oihw && p.data.byteLength < p.data.buffer.byteLength) p.data = p.data.slice();
    }
  }
  const inShape = graph.nodes[graph.input].shape;
  let card: ModelCard;
  let labels: string[] | undefined;
  if (loaded && cardPath) {
    card = loaded;
    labels = loaded.labels;
    const ci = loaded.input;
    if (ci.height !== inShape[0] || ci.width !== inShape[1] || ci.channels !== inShape[2]) {
      throw new LensError('bad-card', `input is ${ci.height}×${ci.width}×${ci.channels}, the model expects ${inShape.join('×')}`, cardPath);
    }
    const outShape = graph.nodes[graph.output].shape;
    if (labels && outShape.length === 1 && labels.length !== outShape[0]) {
      throw new LensError('bad-card', `labels: ${labels.length} given, the model has ${outShape[0]} classes`, cardPath);
    }
  } else {
    card = defaultCard(inShape);
  }
  return { file, graph, raw, card, cardPath, labels };
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.bmp'];

export interface LoadedInput {
  input: InputArray;
  /** the image as the model saw it (for overlays); undefined for .npy input */
  display?: RgbaImage;
  /** the image as decoded, at its own resolution (for exports); undefined for .npy input */
  original?: RgbaImage;
}

/**
 * An input-shaped float32 .npy (the model's input `want`, HWC or 1×H×W×C): the model's input image or an
 * Integrated Gradients baseline. Its size can be no more than the input plus a header, so anything
 * larger is refused before it is read; a wrong shape is refused by name.
 */
export function readInputNpy(file: string, want: number[], role: 'input' | 'baseline'): { shape: number[]; data: Float32Array } {
  const max = want.reduce((a, b) => a * b, 4) + NPY_HEADER_MAX;
  const what = role === 'input' ? 'file' : 'baseline file';
  const arr = readNpy(readBounded(file, { what, maxBytes: max, code: 'bad-input', limitName: `the model's input ${want.join('×')} float32 plus header` }), file);
  const shape = arr.shape.length === 4 && arr.shape[0] === 1 ? arr.shape.slice(1) : arr.shape;
  if (shape.length !== 3 || shape.some((d, i) => d !== want[i])) {
    const label = role === 'input' ? '.npy' : 'baseline .npy';
    throw new LensError('bad-input', `${label} has shape (${arr.shape.join(', ')}), the model expects (${want.join(', ')}) HWC or (1, ${want.join(', ')})`, file);
  }
  return { shape, data: arr.data };
}

export function readInput(file: string, model: OpenedModel): LoadedInput {
  const ext = path.extname(file).toLowerCase();
  const want = model.graph.nodes[model.graph.input].shape;
  if (ext === '.npy') return { input: readInputNpy(file, want, 'input') };
  const img = readImageFile(file);
  const pre = preprocessImage(img, model.card);
  return { input: { shape: pre.shape, data: pre.data }, display: imageToDisplayRgba(img, want[0], want[1], model.card.input.resize), original: img };
}

/** z^B bounds from the card when one was found (else undefined: the engine falls back to the input range). */
export function cardBounds(model: OpenedModel): { low: number[]; high: number[] } | undefined {
  return model.cardPath ? inputBounds(model.card) : undefined;
}

export interface RenderOptions extends HeatmapOptions {
  /** opacity of the heatmap over the input image (0..1) */
  opacity?: number;
  /** integer nearest-neighbour upscaling of the PNG */
  upscale?: number;
}

export function renderHeatmapPng(
  relevance: { shape: number[]; data: Float32Array }, display: RgbaImage | undefined, opts: RenderOptions,
): Buffer {
  const [h, w, c] = relevance.shape;
  const heat = heatmapFromRelevance(relevance.data, [h, w, c], opts);
  const img = display ? overlayHeatmap(display, heat, opts.opacity ?? 0.7) : heat;
  const k = opts.upscale ?? 1;
  if (k <= 1) return encodePng(img.rgba, img.width, img.height);
  const up = upscaleNearest(img.rgba, img.width, img.height, k);
  return encodePng(up.rgba, up.width, up.height);
}
