/**
 * The model card: a JSON sidecar that says how to preprocess images for a model, because model files
 * do not. Looked up as `<model-stem>.lens.json` next to the model (model.json -> model.lens.json),
 * then `relevance-lens.json` in the model's folder. Validation is strict: a silently wrong scaling
 * gives a plausible-looking but wrong explanation, so every bad or unknown field is an error.
 */
import * as fs from 'fs';
import * as path from 'path';
import { LensError } from '../errors';
import { LIMITS, readTextBounded } from '../io/boundedRead';
import { writeFileAtomicSync } from '../io/atomicWrite';
import type { ResizeMode } from '../image/resize';

export type MeanStdScaling = { mean: number[]; std: number[]; /** pixels are divided by this first; default 255 */ scale?: number };
export type Scaling = '[0,1]' | '[-1,1]' | '[0,255]' | MeanStdScaling;
export type CardResize = ResizeMode | 'center-crop';

export interface CardInput {
  height: number;
  width: number;
  channels: 1 | 3;
  channelOrder: 'rgb' | 'bgr';
  resize: CardResize;
  scaling: Scaling;
}

export interface ModelCard {
  input: CardInput;
  /** Inline labels, or the path of a labels file (one per line) relative to the card. */
  labels?: string[] | string;
  output?: { node?: string };
}

/** A card as read from disk: a labels file is resolved into the list, and remembered for writing back. */
export interface LoadedCard extends ModelCard {
  labels?: string[];
  labelsFile?: string;
  cardPath: string;
}

const CARD_NAME = 'relevance-lens.json';
export const RESIZE_MODES: readonly CardResize[] = ['bilinear', 'bilinear-align-corners', 'nearest', 'area', 'center-crop'];

/** One line per resize convention, as `card init` asks and the README explains. */
export const RESIZE_HELP: Record<CardResize, string> = {
  bilinear: 'bilinear, half-pixel centres (PIL, OpenCV, torchvision, tf.image.resize)',
  'bilinear-align-corners': 'bilinear with aligned corners (tf.image.resizeBilinear(x, size, true), e.g. nsfwjs)',
  nearest: 'nearest neighbour',
  area: 'area average (box filter)',
  'center-crop': 'crop the central region to the input aspect ratio, then bilinear (torchvision Resize+CenterCrop style)',
};
const NAMED_SCALINGS: readonly string[] = ['[0,1]', '[-1,1]', '[0,255]'];
const MAX_SIDE = 65536;

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

export function findCardPath(modelPath: string): string | undefined {
  let candidates: string[];
  if (fs.existsSync(modelPath) && fs.statSync(modelPath).isDirectory()) {
    // A model folder (e.g. a SavedModel): the card lives inside it or beside it.
    candidates = [path.join(modelPath, CARD_NAME), modelPath.replace(/[\\/]+$/, '') + '.lens.json'];
  } else {
    const dir = path.dirname(modelPath);
    const base = path.basename(modelPath);
    const stem = base.replace(/\.[^.]+$/, '');
    candidates = [path.join(dir, `${stem}.lens.json`)];
    if (stem !== base) candidates.push(path.join(dir, `${base}.lens.json`));
    candidates.push(path.join(dir, CARD_NAME));
  }
  return candidates.find(isFile);
}

function show(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 40 ? text.slice(0, 37) + '...' : text;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Field-by-field checks; every failure is LensError('bad-card', '<field>: <problem>', cardPath). */
class CardChecker {
  constructor(private readonly file: string) {}

  fail(field: string, problem: string): never {
    throw new LensError('bad-card', `${field}: ${problem}`, this.file);
  }

  object(v: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
    if (!isObject(v)) this.fail(field, `expected an object, got ${show(v)}`);
    for (const key of Object.keys(v)) {
      if (!allowed.includes(key)) this.fail(field ? `${field}.${key}` : key, `unknown field (expected one of ${allowed.join(', ')})`);
    }
    return v;
  }

  positiveInt(v: unknown, field: string): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > MAX_SIDE) {
      this.fail(field, `expected a positive integer, got ${show(v)}`);
    }
    return v;
  }

  oneOf<T extends string>(v: unknown, field: string, options: readonly T[], fallback?: T): T {
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'string' || !options.includes(v as T)) this.fail(field, `expected one of ${options.map((o) => `"${o}"`).join(', ')}, got ${show(v)}`);
    return v as T;
  }

  /** A list of finite numbers with one entry per channel (a single entry is broadcast). */
  perChannel(v: unknown, field: string, channels: number, positive: boolean): number[] {
    if (!Array.isArray(v) || (v.length !== channels && v.length !== 1)) {
      this.fail(field, `expected an array of ${channels === 1 ? '1 number' : `${channels} numbers (or 1)`}, got ${show(v)}`);
    }
    v.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) this.fail(`${field}[${i}]`, `expected a number, got ${show(x)}`);
      if (positive && x <= 0) this.fail(`${field}[${i}]`, `must be > 0, got ${x}`);
    });
    return v.length === channels ? [...(v as number[])] : new Array<number>(channels).fill(v[0] as number);
  }

  scaling(v: unknown, field: string, channels: number): Scaling {
    if (typeof v === 'string') return this.oneOf(v, field, NAMED_SCALINGS) as Scaling;
    if (!isObject(v)) this.fail(field, `expected "[0,1]", "[-1,1]", "[0,255]" or {mean, std, scale?}, got ${show(v)}`);
    const o = this.object(v, field, ['mean', 'std', 'scale']);
    const out: MeanStdScaling = {
      mean: this.perChannel(o.mean, `${field}.mean`, channels, false),
      std: this.perChannel(o.std, `${field}.std`, channels, true),
    };
    if (o.scale !== undefined) {
      if (typeof o.scale !== 'number' || !Number.isFinite(o.scale) || o.scale <= 0) this.fail(`${field}.scale`, `expected a number > 0, got ${show(o.scale)}`);
      out.scale = o.scale;
    }
    return out;
  }
}

/**
 * Checks a parsed card and returns it with defaults filled in (channelOrder "rgb", resize "bilinear")
 * and per-channel lists broadcast. A labels path is kept as a path; readCard resolves it.
 */
export function validateCard(json: unknown, cardPath: string): ModelCard {
  const ck: CardChecker = new CardChecker(cardPath); // annotated so ck.fail() narrows (never)
  if (!isObject(json)) ck.fail('card', `expected a JSON object, got ${show(json)}`);
  const root = ck.object(json, '', ['input', 'labels', 'output', '$schema', 'description']);
  const inp = ck.object(root.input, 'input', ['height', 'width', 'channels', 'channelOrder', 'resize', 'scaling']);
  const height = ck.positiveInt(inp.height, 'input.height');
  const width = ck.positiveInt(inp.width, 'input.width');
  const channels = inp.channels;
  if (channels !== 1 && channels !== 3) ck.fail('input.channels', `expected 1 or 3, got ${show(channels)}`);
  const channelOrder = ck.oneOf(inp.channelOrder, 'input.channelOrder', ['rgb', 'bgr'] as const, 'rgb');
  if (channels === 1 && channelOrder === 'bgr') ck.fail('input.channelOrder', '"bgr" needs 3 channels');
  const resize = ck.oneOf(inp.resize, 'input.resize', RESIZE_MODES, 'bilinear');
  if (inp.scaling === undefined) ck.fail('input.scaling', 'missing (the preprocessing must be stated, not guessed)');
  const scaling = ck.scaling(inp.scaling, 'input.scaling', channels);
  const card: ModelCard = { input: { height, width, channels, channelOrder, resize, scaling } };

  if (root.labels !== undefined) {
    if (typeof root.labels === 'string') {
      if (root.labels.trim() === '') ck.fail('labels', 'empty file name');
      card.labels = root.labels;
    } else if (Array.isArray(root.labels)) {
      root.labels.forEach((l, i) => {
        if (typeof l !== 'string') ck.fail(`labels[${i}]`, `expected a string, got ${show(l)}`);
      });
      card.labels = [...(root.labels as string[])];
    } else {
      ck.fail('labels', `expected an array of strings or a labels file path, got ${show(root.labels)}`);
    }
  }
  if (root.output !== undefined) {
    const out = ck.object(root.output, 'output', ['node']);
    card.output = {};
    const node = out.node;
    if (node !== undefined) {
      if (typeof node !== 'string' || node === '') ck.fail('output.node', `expected a node name, got ${show(node)}`);
      card.output.node = node;
    }
  }
  return card;
}

/** One label per line; a trailing newline (or several) does not make empty labels. */
function readLabelsFile(labelsPath: string, cardPath: string): string[] {
  let text: string;
  try {
    // a labels file the card names: a regular file inside the card's folder (or the workspace), bounded
    text = readTextBounded(labelsPath, { what: 'file', maxBytes: LIMITS.cardBytes, within: [path.dirname(cardPath)], code: 'bad-card' });
  } catch (e) {
    const m = (e as Error).message;
    throw new LensError('bad-card', `labels: ${m.startsWith(labelsPath + ': ') ? m.slice(labelsPath.length + 2) : m}: ${labelsPath}`, cardPath);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  return lines;
}

export function readCard(cardPath: string): LoadedCard {
  const text = readTextBounded(cardPath, { what: 'file', maxBytes: LIMITS.cardBytes, code: 'bad-input' });
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new LensError('bad-card', `not valid JSON (${(e as Error).message.split('\n')[0]})`, cardPath);
  }
  const card = validateCard(json, cardPath);
  const { labels, ...rest } = card;
  if (typeof labels === 'string') {
    const resolved = readLabelsFile(path.resolve(path.dirname(cardPath), labels), cardPath);
    return { ...rest, labels: resolved, labelsFile: labels, cardPath };
  }
  return { ...rest, ...(labels ? { labels } : {}), cardPath };
}

/** Guess a card from the model's input shape ([H,W,C], or [N,H,W,C]); unknown sides become 224. */
export function defaultCard(inputShape: readonly number[]): ModelCard {
  const hwc = inputShape.length === 4 ? inputShape.slice(1) : inputShape;
  if (hwc.length !== 3) throw new LensError('bad-model', `expected an image input [H, W, C], got [${inputShape.join(', ')}]`);
  const side = (n: number) => (Number.isInteger(n) && n > 0 ? n : 224);
  const c = hwc[2];
  if (c !== 1 && c !== 3) throw new LensError('bad-model', `image input needs 1 or 3 channels, got ${c}`);
  return {
    input: { height: side(hwc[0]), width: side(hwc[1]), channels: c, channelOrder: 'rgb', resize: 'bilinear', scaling: '[0,1]' },
  };
}

/** The model-input value of an 8-bit pixel value v (0..255) in model channel `channel`. */
export function scalePixelValue(scaling: Scaling, channel: number, v: number): number {
  switch (scaling) {
    case '[0,1]':
      return v / 255;
    case '[-1,1]':
      return v / 127.5 - 1;
    case '[0,255]':
      return v;
    default:
      return (v / (scaling.scale ?? 255) - scaling.mean[channel]) / scaling.std[channel];
  }
}

/** Per-channel box bounds for the z^B rule: the preprocessed values of pixel 0 and pixel 255. */
export function inputBounds(card: ModelCard): { low: number[]; high: number[] } {
  const low: number[] = [];
  const high: number[] = [];
  for (let c = 0; c < card.input.channels; c++) {
    const a = scalePixelValue(card.input.scaling, c, 0);
    const b = scalePixelValue(card.input.scaling, c, 255);
    low.push(Math.min(a, b));
    high.push(Math.max(a, b));
  }
  return { low, high };
}

/** Writes the card atomically; a loaded card's labels file is written back as its path, not inlined. */
export function writeCard(cardPath: string, card: ModelCard | LoadedCard): void {
  const labels = 'labelsFile' in card && card.labelsFile !== undefined ? card.labelsFile : card.labels;
  const json: ModelCard = { input: card.input, ...(labels !== undefined ? { labels } : {}), ...(card.output ? { output: card.output } : {}) };
  validateCard(json, cardPath);
  writeFileAtomicSync(cardPath, JSON.stringify(json, null, 2) + '\n');
}
