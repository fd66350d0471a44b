/**
 * One chunk of an explain-set run as a SampleWorkerPool job: batch b explains image b of the chunk and
 * returns its summary (prediction, conservation, statistics) and its heatmap on the run's grid, so only
 * ~4 KB per image crosses threads. A batch is a pure function of the image and the options, so the
 * numbers do not depend on which thread computed them.
 */
import { Explainer } from '../methods/explain';
import type { ExplainOptions } from '../methods/types';
import { ownBuffer, registerJob, type JobSpec } from '../parallel/jobs';
import { relevanceGrid } from './grid';
import type { ConservationSummary, ImageRecord } from './runFormat';

/** A layer counts as unbalanced when its in/out ratio is off by more than this. */
export const BALANCE_TOLERANCE = 0.05;

export interface ExplainChunkSpec extends JobSpec {
  kind: 'explainSet';
  opts: ExplainOptions;
  /** the chunk's inputs, each [H·W·C], concatenated */
  inputs: Float32Array;
  shape: number[];
  count: number;
  grid: number;
}

export interface ExplainedImage {
  summary: Omit<ImageRecord, 'id' | 'rel' | 'label'>;
  heatmap: Float32Array;
}

export function explainOne(explainer: Explainer, input: { shape: number[]; data: Float32Array }, opts: ExplainOptions, grid: number, checkpoint: () => void): ExplainedImage {
  const r = explainer.explain(input, opts, { checkpoint });
  let positive = 0;
  let negative = 0;
  let maxAbs = 0;
  for (const v of r.relevance.data) {
    if (v > 0) positive += v;
    else negative += v;
    if (Math.abs(v) > maxAbs) maxAbs = Math.abs(v);
  }
  const conservation: ConservationSummary = {
    ratio: r.target.logit !== 0 ? r.inputRelevanceSum / r.target.logit : NaN,
    unbalancedLayers: 0,
    layers: r.layers.length,
  };
  let worstOff = -1;
  for (const l of r.layers) {
    const off = Number.isFinite(l.ratio) ? Math.abs(l.ratio - 1) : Infinity;
    if (off > BALANCE_TOLERANCE) conservation.unbalancedLayers++;
    if (off > worstOff) {
      worstOff = off;
      conservation.worst = { name: l.name, ratio: l.ratio };
    }
  }
  return {
    summary: {
      prediction: r.prediction, target: r.target, inputRelevanceSum: r.inputRelevanceSum, conservation,
      relevance: { positive, negative, maxAbs }, ms: r.timings.totalMs,
    },
    heatmap: relevanceGrid(r.relevance.data, r.relevance.shape, grid),
  };
}

registerJob<ExplainChunkSpec, ExplainedImage>('explainSet', (prep, spec) => {
  const explainer = new Explainer(prep.graph, prep);
  const per = spec.inputs.length / spec.count;
  return {
    count: spec.count,
    run(b, checkpoint) {
      const data = spec.inputs.slice(b * per, (b + 1) * per);
      return explainOne(explainer, { shape: spec.shape, data }, spec.opts, spec.grid, checkpoint);
    },
    transfer: (r) => ownBuffer(r.heatmap),
    dispose: () => explainer.dispose(),
  };
});
