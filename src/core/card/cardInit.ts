/**
 * `relevance-lens card init MODEL`: writes a model card with defaults guessed from the model for the
 * user to edit: the input size and channel count from the graph, RGB, bilinear resize, and scaling
 * [0,1] (the model's own preprocessing ops, e.g. a TF Hub x·2−1, stay inside the graph).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Graph } from '../graph/ir';
import { LensError } from '../errors';
import { defaultCard, writeCard, type CardResize, type ModelCard } from './modelCard';

export interface CardInitOptions {
  /** overwrite an existing card */
  force?: boolean;
  /** height and width for models whose input size is dynamic */
  size?: [number, number];
  /** labels to put in the card */
  labels?: string[];
  /** the resize convention of the model's own pipeline (default bilinear, half-pixel centres) */
  resize?: CardResize;
}

/** Where `card init` writes: `<model-stem>.lens.json` next to the model (model.json -> model.lens.json). */
export function cardPathFor(modelPath: string): string {
  const dir = path.dirname(modelPath);
  const stem = path.basename(modelPath).replace(/\.[^.]+$/, '');
  return path.join(dir, `${stem}.lens.json`);
}

/** The card guessed from a loaded graph. */
export function guessCard(graph: Graph, opts: CardInitOptions = {}): ModelCard {
  const shape = graph.nodes[graph.input].shape.slice();
  if (opts.size) [shape[0], shape[1]] = opts.size;
  const card = defaultCard(shape);
  if (opts.resize) card.input.resize = opts.resize;
  const classes = graph.nodes[graph.output].shape;
  if (opts.labels) {
    if (classes.length === 1 && opts.labels.length !== classes[0]) {
      throw new LensError('bad-usage', `${opts.labels.length} labels given, the model has ${classes[0]} classes`);
    }
    card.labels = opts.labels.slice();
  }
  return card;
}

/** Writes the guessed card next to the model; refuses to overwrite unless `force`. */
export function cardInit(modelPath: string, graph: Graph, opts: CardInitOptions = {}): { cardPath: string; card: ModelCard } {
  const cardPath = cardPathFor(modelPath);
  if (!opts.force && fs.existsSync(cardPath)) {
    throw new LensError('bad-usage', 'a model card already exists (use --force to overwrite)', cardPath);
  }
  const card = guessCard(graph, opts);
  writeCard(cardPath, card);
  return { cardPath, card };
}
