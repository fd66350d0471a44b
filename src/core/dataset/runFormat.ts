/**
 * The on-disk layout of an explain-set run (RUN_DIR):
 *   run.json            manifest: model, its SHA-256, the explanation options, the heatmap grid, the image list
 *   items/<id>.npy      the image's heatmap, grid×grid float32 (channel-summed input relevance, mass kept)
 *   items/<id>.json     the image's record: prediction, explained class, conservation summary (written
 *                       after its .npy, atomically: an image is done iff its record exists)
 *   index.json / index.csv / index.md   one row per finished image, rebuilt from the records
 * Records are self-contained so a killed run resumes by skipping the images that have one.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { LensError } from '../errors';
import { readNpy } from '../io/npy';
import type { Prediction } from '../methods/types';

export const RUN_VERSION = 1;

export interface RunImage {
  id: string;
  /** absolute path */
  file: string;
  /** path relative to the folder or list it came from: the key compare-runs matches images by */
  rel: string;
  /** the true class index, when the list gave one */
  label?: number;
}

export interface RunManifest {
  version: number;
  model: string;
  modelSha256: string;
  /** what decides the heatmaps (method, composite, rules, parameters, class); a resume must match it */
  options: Record<string, unknown>;
  grid: number;
  labels?: string[];
  inputShape: number[];
  images: RunImage[];
  created: string;
}

export interface ConservationSummary {
  /** Σ input relevance / explained logit (1 for a conservative explanation) */
  ratio: number;
  /** layers whose in/out ratio is off by more than 5 % */
  unbalancedLayers: number;
  layers: number;
  /** the layer whose ratio is furthest from 1 */
  worst?: { name: string; ratio: number };
}

export interface ImageRecord {
  id: string;
  rel: string;
  label?: number;
  prediction: Prediction[];
  target: { class: number; logit: number; label?: string };
  inputRelevanceSum: number;
  conservation: ConservationSummary;
  /** heatmap statistics at full resolution: Σ R⁺, Σ R⁻, max |R| */
  relevance: { positive: number; negative: number; maxAbs: number };
  ms: number;
  /** set instead of the above when the image could not be read */
  error?: string;
}

export const itemsDir = (run: string): string => path.join(run, 'items');
export const recordPath = (run: string, id: string): string => path.join(run, 'items', `${id}.json`);
export const heatmapPath = (run: string, id: string): string => path.join(run, 'items', `${id}.npy`);
export const manifestPath = (run: string): string => path.join(run, 'run.json');

export function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n = fs.readSync(fd, buf); n > 0; n = fs.readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

export function readManifest(run: string): RunManifest {
  const file = manifestPath(run);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new LensError('bad-input', 'not a run folder (no run.json; make one with explain-set)', run);
  }
  let m: RunManifest;
  try {
    m = JSON.parse(text) as RunManifest;
  } catch (e) {
    throw new LensError('bad-input', `run.json is not valid JSON (${(e as Error).message})`, file);
  }
  if (m.version !== RUN_VERSION || !Array.isArray(m.images) || !Number.isInteger(m.grid)) {
    throw new LensError('bad-input', `run.json is not an explain-set manifest of version ${RUN_VERSION}`, file);
  }
  return m;
}

/** The record of an image, or undefined when it is not done (no record yet). */
export function readRecord(run: string, id: string): ImageRecord | undefined {
  const file = recordPath(run, id);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as ImageRecord;
  } catch (e) {
    throw new LensError('bad-input', `record is not valid JSON (${(e as Error).message})`, file);
  }
}

export function readHeatmap(run: string, id: string, grid: number): Float32Array {
  const file = heatmapPath(run, id);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    throw new LensError('bad-input', 'heatmap missing', file);
  }
  const a = readNpy(bytes, file);
  if (a.data.length !== grid * grid) throw new LensError('bad-input', `heatmap has ${a.data.length} values, the run's grid is ${grid}×${grid}`, file);
  return a.data;
}

/** The ids that have a record (done, or failed with an error record). */
export function finishedIds(run: string): Set<string> {
  const out = new Set<string>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(itemsDir(run));
  } catch {
    return out;
  }
  for (const n of names) if (n.endsWith('.json') && !n.startsWith('.')) out.add(n.slice(0, -5));
  return out;
}
