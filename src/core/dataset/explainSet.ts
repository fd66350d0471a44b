/**
 * explain-set: explains every image of a set into a run folder (layout in ./runFormat). Images are
 * decoded on this thread in chunks and explained by the sample worker pool (this thread and the
 * workers claim images of the chunk); each finished image is written at once, heatmap then record,
 * each atomically, so a run killed at any moment resumes by skipping what has a record. Nothing
 * accumulates per image in memory: the index is rebuilt from the records at the end.
 */
import * as fs from 'fs';
import * as path from 'path';
import { LensError } from '../errors';
import { Explainer } from '../methods/explain';
import type { ExplainOptions } from '../methods/types';
import { readInput, type OpenedModel } from '../pipeline';
import { runJob, type SampleWorkerPool } from '../parallel/pool';
import { writeFileAtomicSync } from '../io/atomicWrite';
import { writeNpy } from '../io/npy';
import type { ExplainChunkSpec, ExplainedImage } from './explainJob';
import './explainJob';
import {
  finishedIds, heatmapPath, itemsDir, manifestPath, readManifest, recordPath, RUN_VERSION, sha256File,
  type ImageRecord, type RunImage, type RunManifest,
} from './runFormat';
import { writeIndex, type IndexSummary } from './runIndex';

export const DEFAULT_GRID = 32;

export interface ExplainSetInput {
  model: OpenedModel;
  images: RunImage[];
  out: string;
  opts: ExplainOptions;
  /** what decides the heatmaps, as plain JSON (a resumed run must have the same) */
  optionsKey: Record<string, unknown>;
  grid?: number;
  pool?: SampleWorkerPool;
  /** images per pool job (default 32) */
  chunk?: number;
}

export interface ExplainSetProgress {
  total: number;
  /** finished before this invocation (resumed) */
  skipped: number;
  computed: number;
  failed: number;
  rssBytes: number;
  elapsedMs: number;
}

export interface ExplainSetHooks {
  progress?: (p: ExplainSetProgress) => void;
  /** polled between images; true stops the run (what is written stays; a rerun resumes) */
  cancelled?: () => boolean;
}

export interface ExplainSetResult extends ExplainSetProgress {
  cancelled: boolean;
  /** max resident set size of the process so far (bytes) */
  peakRssBytes: number;
  /** RSS after every tenth of the images computed in this invocation: [computed, bytes] */
  rssTrace: [number, number][];
  index: IndexSummary;
}

/** The manifest a run with these inputs has; an existing run.json must agree with it. */
function manifestFor(inp: ExplainSetInput, grid: number): RunManifest {
  const g = inp.model.graph;
  return {
    version: RUN_VERSION, model: path.resolve(inp.model.file), modelSha256: sha256File(inp.model.file), options: inp.optionsKey, grid,
    ...(inp.model.labels ? { labels: inp.model.labels } : {}),
    inputShape: g.nodes[g.input].shape.slice(), images: inp.images, created: new Date().toISOString(),
  };
}

function sameRun(a: RunManifest, b: RunManifest): string | undefined {
  if (a.modelSha256 !== b.modelSha256) return 'a different model';
  if (JSON.stringify(a.options) !== JSON.stringify(b.options)) return `different options (${JSON.stringify(a.options)})`;
  if (a.grid !== b.grid) return `a different --grid (${a.grid})`;
  if (a.images.length !== b.images.length || a.images.some((im, i) => im.rel !== b.images[i].rel || im.label !== b.images[i].label)) {
    return 'a different image list';
  }
  return undefined;
}

/** Creates the run folder, or checks that an existing one is this run (then it is resumed). */
export function openRun(inp: ExplainSetInput, grid: number): RunManifest {
  const want = manifestFor(inp, grid);
  if (fs.existsSync(manifestPath(inp.out))) {
    const have = readManifest(inp.out);
    const diff = sameRun(have, want);
    if (diff) throw new LensError('bad-usage', `holds a run with ${diff}; use another --out to start a new run`, inp.out);
    fs.mkdirSync(itemsDir(inp.out), { recursive: true });
    // temp files of writes a kill interrupted (never renamed into place, so never a record)
    for (const n of fs.readdirSync(itemsDir(inp.out))) if (n.startsWith('.') && n.endsWith('.tmp')) fs.rmSync(path.join(itemsDir(inp.out), n), { force: true });
    return have;
  }
  if (fs.existsSync(inp.out) && fs.readdirSync(inp.out).length > 0) {
    throw new LensError('bad-usage', 'exists and is not an explain-set run (no run.json); use an empty or new folder', inp.out);
  }
  fs.mkdirSync(itemsDir(inp.out), { recursive: true });
  writeFileAtomicSync(manifestPath(inp.out), JSON.stringify(want, null, 1));
  return want;
}

export async function runExplainSet(inp: ExplainSetInput, hooks: ExplainSetHooks = {}): Promise<ExplainSetResult> {
  const t0 = performance.now();
  const grid = inp.grid ?? DEFAULT_GRID;
  if (!Number.isInteger(grid) || grid < 2 || grid > 256) throw new LensError('bad-usage', `--grid expects an integer 2..256, got ${grid}`);
  const manifest = openRun(inp, grid);
  const done = finishedIds(inp.out);
  const todo = manifest.images.filter((im) => !done.has(im.id));
  const state: ExplainSetProgress = { total: manifest.images.length, skipped: manifest.images.length - todo.length, computed: 0, failed: 0, rssBytes: process.memoryUsage.rss(), elapsedMs: 0 };
  const rssTrace: [number, number][] = [];
  const traceEvery = Math.max(1, Math.ceil(todo.length / 10));
  const report = (): void => {
    state.rssBytes = process.memoryUsage.rss();
    state.elapsedMs = performance.now() - t0;
    hooks.progress?.({ ...state });
  };
  const isCancelled = hooks.cancelled ?? (() => false);
  const explainer = new Explainer(inp.model.graph);
  const shape = inp.model.graph.nodes[inp.model.graph.input].shape.slice();
  const per = shape.reduce((a, b) => a * b, 1);
  const chunk = Math.max(1, inp.chunk ?? 32);
  let cancelled = false;
  let lastReport = 0;
  const writeRecord = (rec: ImageRecord): void => writeFileAtomicSync(recordPath(inp.out, rec.id), JSON.stringify(rec));
  try {
    report();
    for (let start = 0; start < todo.length && !cancelled; start += chunk) {
      // decode this chunk (an unreadable image gets an error record and is not retried on resume)
      const batch: RunImage[] = [];
      const inputs = new Float32Array(Math.min(chunk, todo.length - start) * per);
      for (const im of todo.slice(start, start + chunk)) {
        try {
          const { input } = readInput(im.file, inp.model);
          explainer.checkInput(input, im.file);
          inputs.set(input.data, batch.length * per);
          batch.push(im);
        } catch (e) {
          if (!(e instanceof LensError)) throw e;
          writeRecord({ id: im.id, rel: im.rel, ...(im.label !== undefined ? { label: im.label } : {}), error: e.message } as ImageRecord);
          state.failed++;
        }
      }
      const spec: ExplainChunkSpec = { kind: 'explainSet', opts: inp.opts, inputs: inputs.subarray(0, batch.length * per), shape, count: batch.length, grid };
      const checkpoint = (): void => {
        if (isCancelled()) throw new LensError('cancelled', 'cancelled');
      };
      try {
        if (batch.length > 0) {
          runJob<ExplainedImage>(explainer.prep, spec, inp.pool, checkpoint, (b, r) => {
            const im = batch[b];
            writeFileAtomicSync(heatmapPath(inp.out, im.id), writeNpy([grid, grid], r.heatmap));
            writeRecord({ id: im.id, rel: im.rel, ...(im.label !== undefined ? { label: im.label } : {}), ...r.summary });
            state.computed++;
            if (state.computed % traceEvery === 0) rssTrace.push([state.computed, process.memoryUsage.rss()]);
            const now = performance.now();
            if (now - lastReport > 200) {
              lastReport = now;
              report();
            }
          });
        }
      } catch (e) {
        if (e instanceof LensError && e.code === 'cancelled') cancelled = true;
        else throw e;
      }
      // let signal handlers and cancel messages in between chunks
      await new Promise((r) => setImmediate(r));
      if (isCancelled()) cancelled = true;
    }
  } finally {
    explainer.dispose();
  }
  report();
  const index = writeIndex(inp.out, manifest);
  return { ...state, cancelled, peakRssBytes: process.resourceUsage().maxRSS * 1024, rssTrace, index };
}
