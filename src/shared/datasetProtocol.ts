/**
 * Messages of the data-set features (explain-set, SpRAy, compare-runs) on both channels: the engine
 * worker's requests (merged into EngineRequests) and the gallery webview's own channel. Plain data
 * and typed arrays only; guards for everything the gallery page sends.
 */
import type { ChannelSpec } from './rpc';
import type { MethodId, RuleParamValues } from './methodParams';

export interface ExplainSetParams {
  runId: number;
  modelPath: string;
  /** a folder of images or a list file */
  source: string;
  out: string;
  method: MethodId;
  composite: string;
  rules: Record<string, string>;
  params: RuleParamValues;
  targetClass: number | 'top';
}

export interface ExplainSetSummary {
  out: string;
  total: number;
  computed: number;
  skipped: number;
  failed: number;
  cancelled: boolean;
  elapsedMs: number;
  peakRssBytes: number;
}

/**
 * A heatmap as the engine coloured it, as a PNG data URL: a gallery holds thousands of them, and a
 * webview message carries at most a few hundred typed arrays intact (more arrive empty).
 */
export type PngDataUrl = string;

/** One image in the gallery: its heatmap on the run's grid. */
export interface GalleryTile {
  id: string;
  rel: string;
  /** absolute path of the image */
  file: string;
  png: PngDataUrl;
}

/** What SpRAy says of one cluster of a class (core/dataset/spray.ts), before its images are attached. */
export interface ClusterFacts {
  class: number;
  label?: string;
  cluster: number;
  size: number;
  fraction: number;
  unusualness: number;
}

export interface GalleryCluster extends ClusterFacts {
  mean: PngDataUrl;
  members: GalleryTile[];
  /** members not sent (over the cap) */
  omitted: number;
}

export interface GallerySpray {
  run: string;
  model: string;
  grid: number;
  classes: { class: number; label?: string; count: number; k: number }[];
  /** most unusual first */
  clusters: GalleryCluster[];
}

export interface GalleryPair {
  rel: string;
  rho: number;
  predictedA: number;
  predictedB: number;
  predictionChanged: boolean;
  a: GalleryTile;
  b: GalleryTile;
}

export interface GalleryCompare {
  runA: string;
  runB: string;
  modelA: string;
  modelB: string;
  compared: number;
  meanRho: number;
  medianRho: number;
  minRho: number;
  predictionChanges: number;
  /** most changed first */
  pairs: GalleryPair[];
}

/** Requests the engine worker answers for the data-set features (a type literal: it joins EngineRequests' record). */
export type DatasetEngineRequests = {
  explainSet: { params: ExplainSetParams; result: ExplainSetSummary };
  sprayRun: { params: { runDir: string; maxMembers: number }; result: GallerySpray };
  compareRuns: { params: { runA: string; runB: string; top: number }; result: GalleryCompare };
};

export interface GalleryContent {
  spray?: GallerySpray;
  compare?: GalleryCompare;
}

export interface GalleryHostToView extends ChannelSpec {
  requests: Record<string, never>;
  events: {
    /** what the gallery shows (the whole of it) */
    show: GalleryContent;
    error: { message: string };
  };
}

export interface GalleryViewToHost extends ChannelSpec {
  requests: Record<string, never>;
  events: {
    ready: { protocol: number };
    /** open the explanation of a shown image with the model of its run */
    openImage: { model: string; file: string };
    /** the page drew the content (tests) */
    rendered: { clusters: number; pairs: number };
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

const GALLERY_EVENT_GUARDS: { [K in keyof GalleryViewToHost['events']]: (d: unknown) => boolean } = {
  ready: (d) => isObj(d) && isNum(d.protocol),
  openImage: (d) => isObj(d) && isStr(d.model) && isStr(d.file),
  rendered: (d) => isObj(d) && isNum(d.clusters) && isNum(d.pairs),
};

export function isValidGalleryMessage(kind: 'request' | 'event', name: string, data: unknown): boolean {
  if (kind !== 'event' || !Object.prototype.hasOwnProperty.call(GALLERY_EVENT_GUARDS, name)) return false;
  return GALLERY_EVENT_GUARDS[name as keyof GalleryViewToHost['events']](data);
}
