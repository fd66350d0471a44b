/**
 * The data-set requests in the engine worker: explain-set into a run folder (progress per image,
 * Cancel through the shared run flag, images shared with sample workers), SpRAy and compare-runs
 * on run folders, with every heatmap coloured here (the gallery only draws pixels).
 */
import { openModel } from '../../core/pipeline';
import { assertSupported } from '../../core/graph/summary';
import { listImages } from '../../core/dataset/imageList';
import { runExplainSet } from '../../core/dataset/explainSet';
import { setOptions } from '../../core/dataset/setOptions';
import { spray } from '../../core/dataset/spray';
import { compareRuns } from '../../core/dataset/compare';
import { readHeatmap, readManifest, type RunManifest } from '../../core/dataset/runFormat';
import { heatmapFromRelevance } from '../../core/image/colormap';
import { encodePng } from '../../core/image/png';
import { SampleWorkerPool } from '../../core/parallel/pool';
import type { MethodName } from '../../core/methods/types';
import { parseRule, type RuleSpec } from '../../shared/ruleSpec';
import type { EngineRequests, RpcEndpoint, WorkerEvents } from '../../shared/protocol';
import type { GalleryTile, PngDataUrl } from '../../shared/datasetProtocol';
import * as tf from '@tensorflow/tfjs-core';

function picture(map: ArrayLike<number>, grid: number): PngDataUrl {
  const h = heatmapFromRelevance(Float32Array.from(map), [grid, grid, 1], { colormap: 'seismic', scale: 'max' });
  return `data:image/png;base64,${encodePng(h.rgba, h.width, h.height).toString('base64')}`;
}

function tile(run: string, m: RunManifest, id: string): GalleryTile {
  const im = m.images.find((x) => x.id === id)!;
  return { id, rel: im.rel, file: im.file, png: picture(readHeatmap(run, id, m.grid), m.grid) };
}

export function registerDataset(
  rpc: RpcEndpoint<WorkerEvents, EngineRequests>,
  progress: (runId: number, stage: string, fraction?: number) => void,
  isCancelled: (runId: number) => boolean,
  parallelWorkers = 1,
): void {
  let pool: SampleWorkerPool | undefined;
  rpc.handle('explainSet', async (p) => {
    const model = await openModel(p.modelPath);
    assertSupported(model.graph, p.modelPath);
    const images = listImages(p.source, model.labels);
    const rules: Record<string, RuleSpec> = {};
    for (const [layer, text] of Object.entries(p.rules)) rules[layer] = parseRule(text);
    const { opts, optionsKey } = setOptions(model, {
      method: p.method as MethodName, composite: p.composite, rules, params: p.params, targetClass: p.targetClass,
    }, tf.getBackend());
    if (parallelWorkers > 1) pool ??= new SampleWorkerPool(parallelWorkers);
    const r = await runExplainSet({ model, images, out: p.out, opts, optionsKey, pool }, {
      progress: (s) => {
        const done = s.skipped + s.computed + s.failed;
        progress(p.runId, `${done}/${s.total} images (${s.computed} computed, ${s.skipped} resumed)`, s.total ? done / s.total : 1);
      },
      cancelled: () => isCancelled(p.runId),
    });
    return {
      out: p.out, total: r.total, computed: r.computed, skipped: r.skipped, failed: r.failed, cancelled: r.cancelled,
      elapsedMs: r.elapsedMs, peakRssBytes: r.peakRssBytes,
    };
  });
  rpc.handle('sprayRun', ({ runDir, maxMembers }) => {
    const r = spray(runDir);
    const m = readManifest(runDir);
    return {
      run: runDir, model: m.model, grid: r.grid,
      classes: r.classes.map((c) => ({ class: c.class, ...(c.label !== undefined ? { label: c.label } : {}), count: c.count, k: c.k })),
      clusters: r.clusters.map((c) => ({
        class: c.class, ...(c.label !== undefined ? { label: c.label } : {}), cluster: c.cluster, size: c.size, fraction: c.fraction,
        unusualness: c.unusualness, mean: picture(c.mean, r.grid),
        members: c.members.slice(0, maxMembers).map((x) => tile(runDir, m, x.id)), omitted: Math.max(0, c.members.length - maxMembers),
      })),
    };
  });
  rpc.handle('compareRuns', ({ runA, runB, top }) => {
    const r = compareRuns(runA, runB);
    const ma = readManifest(runA);
    const mb = readManifest(runB);
    return {
      runA, runB, modelA: ma.model, modelB: mb.model, compared: r.compared, meanRho: r.meanRho, medianRho: r.medianRho,
      minRho: r.minRho, predictionChanges: r.predictionChanges,
      pairs: r.images.slice(0, top).map((c) => ({
        rel: c.rel, rho: c.rho, predictedA: c.predictedA, predictedB: c.predictedB, predictionChanged: c.predictionChanged,
        a: tile(runA, ma, c.idA), b: tile(runB, mb, c.idB),
      })),
    };
  });
}
