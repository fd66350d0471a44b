/**
 * The engine as the worker serves it: models are loaded once and kept with a prepared Explainer (so a
 * rule change re-runs only the backward pass), images are decoded and preprocessed per the model card,
 * heatmaps are coloured with the same function the CLI uses. No math of its own: only calls into
 * src/core.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import * as path from 'path';
import { selectBackend, type EngineBackend, type EngineChoice } from '../../core/onnx/engineBackend';
import { OnnxExplainer, ruleChangeOptions } from '../../core/onnx/onnxExplainer';
import { engineProcessWanted, ProcessExplainer } from '../../core/onnx/processExplainer';
import { openModel } from '../../core/pipeline';
import { openImageSource } from '../../core/patterns/data';
import { fitPatterns } from '../../core/patterns/fit';
import { loadPatterns, writePatternsFile } from '../../core/patterns/file';
import type { PatternSet } from '../../core/patterns/patternSet';
import { paramCount, type Graph } from '../../core/graph/ir';
import { Explainer, type ExplainExtras, type ExplainOutput, type InputArray } from '../../core/methods/explain';
import type { ExplainOptions } from '../../core/methods/types';
import { AUTO_COMPOSITE, COMPOSITE_NAMES, defaultComposite, resolveRules, takesRule } from '../../core/composites/presets';
import { rulesFor } from '../../core/ops/registry';
import { readImageFile, type RgbaImage } from '../../core/image/decode';
import { imageToDisplayRgba, preprocessImage } from '../../core/image/preprocess';
import { heatmapFromRelevance, type HeatmapOptions } from '../../core/image/colormap';
import { exportPicture } from '../../core/image/export';
import { channelMaps } from '../../core/image/channelMaps';
import { patchTokens, tokenStage, type PatchTokens } from '../../core/image/tokenMap';
import { inputBounds, type ModelCard } from '../../core/card/modelCard';
import { encodePng } from '../../core/image/png';
import { writeNpy } from '../../core/io/npy';
import { writeFileAtomic } from '../../core/io/atomicWrite';
import { LensError } from '../../core/errors';
import { setWorkspaceRoots } from '../../core/io/boundedRead';
import { checkDisplay, checkInteger, checkMethodParams, checkRuleParams, ParamError, PARAM_LIMITS } from '../../shared/validate';
import { SampleWorkerPool } from '../../core/parallel/pool';
import { DEFAULT_RULE_PARAMS, formatRule, parseRule, type RuleSpec } from '../../shared/ruleSpec';
import { patternsPathFor } from '../../shared/paths';
import {
  reply, rowWithFloor, type DisplayOptions, type EngineRequests, type ExportKind, type HeatmapPicture, type Explanation, type ExplainSpec, type LayerMaps,
  type LegendPicture, type ModelSummary, type RgbaPicture, type RpcEndpoint, type RuleParamValues, type WorkerEvents,
} from '../../shared/protocol';
import { polaritySpan } from '../../shared/settings';

interface LoadedModel {
  path: string;
  mtimeMs: number;
  graph: Graph;
  /**
   * the compiled path (onnx backend: falls back to wasm per method), in an engine process of its own
   * unless RELEVANCE_LENS_ENGINE_PROCESS=0, or the wasm Explainer
   */
  explainer: Explainer | OnnxExplainer | ProcessExplainer;
  card: ModelCard;
  labels?: string[];
  cardPath?: string;
  patterns?: { mtimeMs: number; set: PatternSet };
  /** a vision transformer's patch tokens (the panel's token view), found once per load */
  tokens?: PatchTokens;
  /** each node's parameter count, taken at load (an engine process's graph lets its kernels go here) */
  paramCounts: number[];
}

// A few models stay prepared (switching back and forth is common); each holds its weights as tensors.
const MAX_MODELS = 3;

function mtime(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

export function heatmapOptions(d: DisplayOptions): HeatmapOptions {
  return { colormap: d.colormap, scale: d.scale === 'max' ? 'max' : { percentile: d.percentile }, polarity: d.polarity };
}

const LEGEND_WIDTH = 128;

/**
 * Relevance -> the picture the panel shows, plus its legend: a ramp over the polarity's span (−1 … +1, or
 * one half) put through the very same function, so the legend can never disagree with the heatmap.
 */
export function colourRelevance(rel: { shape: number[]; data: Float32Array }, display: DisplayOptions, vmax?: number): HeatmapPicture {
  const h = heatmapFromRelevance(rel.data, rel.shape as [number, number, number], { ...heatmapOptions(display), ...(vmax !== undefined ? { vmax } : {}) });
  return { width: h.width, height: h.height, rgba: h.rgba, vmax: h.vmax, legend: legendPicture(display) };
}

export function legendPicture(display: DisplayOptions): LegendPicture {
  const { low, high } = polaritySpan(display.polarity);
  const ramp = new Float32Array(LEGEND_WIDTH);
  for (let i = 0; i < LEGEND_WIDTH; i++) ramp[i] = low + ((high - low) * i) / (LEGEND_WIDTH - 1);
  // the ramp's ends are ±1 where shown, so 'max' scaling maps them to the colormap's ends as vmax does in the map
  const legend = heatmapFromRelevance(ramp, [1, LEGEND_WIDTH, 1], { ...heatmapOptions(display), scale: 'max' });
  return { width: legend.width, height: 1, rgba: legend.rgba, low, high };
}

/** Per-patch values as an [rows, cols, 1] map: one pixel per patch, coloured like any relevance map. */
export function tokenGrid(values: Float32Array, grid: [number, number]): { shape: number[]; data: Float32Array } {
  return { shape: [grid[0], grid[1], 1], data: values };
}

/** A typed array that owns its whole buffer, so transferring the buffer moves exactly this data. */
function owned<T extends Float32Array | Uint8ClampedArray>(a: T): T {
  if (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer) return a;
  return a.slice() as T;
}

function buffersOf(h: HeatmapPicture): ArrayBuffer[] {
  return [h.rgba.buffer as ArrayBuffer, ...(h.legend ? [h.legend.rgba.buffer as ArrayBuffer] : [])];
}

/** Parses the UI's rule texts; overrides for layers the model no longer has (or that take no rule) are dropped. */
/** Runs a shared range check (shared/validate.ts); a bad value is the user's error, named in one line. */
function checked<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ParamError) throw new LensError('bad-usage', e.message);
    throw e;
  }
}

/** The parameters of a request, checked where the worker receives them, before any computation. */
function checkSpec(spec: ExplainSpec, display: DisplayOptions): void {
  checked(() => {
    checkRuleParams(spec.params);
    checkMethodParams(spec.methodParams ?? {});
    checkDisplay(display);
  });
}

function ruleOverrides(graph: Graph, rules: Record<string, string>): Record<string, RuleSpec> {
  const out: Record<string, RuleSpec> = {};
  for (const [layer, text] of Object.entries(rules)) {
    const node = graph.nodes.find((n) => n.name === layer);
    if (!node || !takesRule(node) || !text) continue;
    try {
      out[layer] = parseRule(text);
    } catch (e) {
      throw new LensError('bad-usage', `layer ${layer}: ${(e as Error).message}`);
    }
  }
  return out;
}

/** The UI's method parameters as engine options (only those set; the engine has the defaults). */
function methodOptions(spec: ExplainSpec): Partial<ExplainOptions> {
  const p = spec.methodParams ?? {};
  const o: Partial<ExplainOptions> = {};
  if (p.samples !== undefined) o.samples = Math.round(p.samples);
  if (p.sigma !== undefined) o.sigma = p.sigma;
  if (p.steps !== undefined) o.steps = Math.round(p.steps);
  if (p.baseline) o.baseline = { kind: p.baseline };
  if (p.root) o.root = p.root;
  if (p.patternType) o.patternType = p.patternType;
  return o;
}

/** The scalar figures of a method's extras (arrays such as a root-point map stay in the worker). */
function plainExtra(extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, Record<string, number | string | boolean>> = {};
  for (const [group, v] of Object.entries(extra)) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) continue;
    const g: Record<string, number | string | boolean> = {};
    for (const [k, x] of Object.entries(v)) if (typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean') g[k] = x;
    out[group] = g;
  }
  return out;
}

function withoutUndefined(p: RuleParamValues): RuleParamValues {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined && Number.isFinite(v)));
}

export class EngineService {
  private backend?: Promise<EngineBackend>;
  private backendChoice: EngineChoice = 'auto';
  /** relevanceLens.ruleChanges 'lean': the onnx engine keeps nothing for rule changes (OnnxExplainer `lean`) */
  private lean = false;
  private readonly models = new Map<string, LoadedModel>();
  private maxImageSide = 8192;
  private lastImage?: { key: string; img: RgbaImage; input: ReturnType<typeof preprocessImage>; shown: RgbaImage };

  /**
   * SmoothGrad / Integrated Gradients samples on more threads (relevanceLens.parallelWorkers): the
   * sample workers start with the first long sample job and are this worker's children (they end with it).
   */
  private readonly pool?: SampleWorkerPool;

  constructor(
    private readonly progress: (runId: number, stage: string, fraction?: number) => void,
    private readonly isCancelled: (runId: number) => boolean,
    parallelWorkers = 1,
    private readonly onEngineProcess?: (pid: number, running: boolean) => void,
  ) {
    const n = Math.floor(parallelWorkers);
    if (n > 1) this.pool = new SampleWorkerPool(n);
  }

  register(rpc: RpcEndpoint<WorkerEvents, EngineRequests>): void {
    rpc.handle('init', async ({ backend, maxImageSide, ruleChanges, workspaceRoots }) => {
      this.backendChoice = backend;
      this.lean = ruleChanges === 'lean';
      this.maxImageSide = checked(() => checkInteger(maxImageSide, 'relevanceLens.maxImageSide', PARAM_LIMITS.imageSideMin, PARAM_LIMITS.imageSide));
      // symlinks inside model folders may point anywhere in the workspace, nowhere else
      setWorkspaceRoots(workspaceRoots ?? []);
      this.backend = undefined;
      const b = await this.engine();
      return { backend: b.name, backendReason: b.reason };
    });
    rpc.handle('describeModel', (p) => {
      checked(() => checkRuleParams(p.params));
      return this.describeModel(p.modelPath, p.composite, p.rules, p.params);
    });
    rpc.handle('explain', async (p) => {
      checkSpec(p.spec, p.display);
      const ex = await this.explain(p.runId, p.spec, p.display);
      // Moved, not copied: the arrays are this result's own.
      return reply(ex, [ex.relevance.data.buffer as ArrayBuffer, ex.input.rgba.buffer as ArrayBuffer, ...buffersOf(ex.heatmap), ...(ex.tokens ? buffersOf(ex.tokens.heatmap) : [])]);
    });
    rpc.handle('renderHeatmap', ({ relevance, display, vmax }) => {
      const h = colourRelevance(relevance, display, vmax);
      return reply(h, buffersOf(h));
    });
    rpc.handle('layerMaps', (p) => {
      checkSpec(p.spec, p.display);
      return this.layerMaps(p.runId, p.spec, p.layer, p.display, p.maxChannels, p.perMapScale ?? false);
    });
    rpc.handle('writeExport', (p) => this.writeExport(p.kind, p.outPath, p.explanation, p.display));
    rpc.handle('fitPatterns', (p) => this.fitPatterns(p.runId, p.modelPath, p.dataPath, p.outPath));
    rpc.handle('engineStats', async () => {
      const m = tf.memory();
      const u = process.memoryUsage();
      let processRss = 0;
      for (const x of this.models.values()) if (x.explainer instanceof ProcessExplainer) processRss += (await x.explainer.memory()).rss;
      return { tensors: m.numTensors, tensorBytes: m.numBytes, rss: u.rss, heapUsed: u.heapUsed, external: u.external, processRss };
    });
  }

  private engine(): Promise<EngineBackend> {
    this.backend ??= selectBackend(this.backendChoice);
    return this.backend;
  }

  private async ensureBackend(): Promise<string> {
    return (await this.engine()).name;
  }

  /** One explanation on the model's engine; the backend that computed it and why. */
  private async run(m: LoadedModel, input: InputArray, opts: ExplainOptions, extras: ExplainExtras): Promise<ExplainOutput & { backend: string; backendReason: string }> {
    const b = await this.engine();
    if (!(m.explainer instanceof Explainer)) {
      const r = await m.explainer.explain(input, opts, extras);
      return { ...r, backend: r.backend === 'onnx' ? 'onnx' : b.tfjs, backendReason: r.backendReason };
    }
    return { ...m.explainer.explain(input, opts, extras), backend: b.name, backendReason: b.reason };
  }

  private async model(modelPath: string): Promise<LoadedModel> {
    const m = mtime(modelPath);
    const cached = this.models.get(modelPath);
    if (cached && cached.mtimeMs === m) {
      // most recently used last
      this.models.delete(modelPath);
      this.models.set(modelPath, cached);
      return cached;
    }
    const onnx = (await this.engine()).onnx;
    // the engine process loads its copy while this thread loads the one that describes the model
    const proc = onnx && engineProcessWanted() ? new ProcessExplainer(modelPath, { onProcess: this.onEngineProcess, lean: this.lean }) : undefined;
    let opened;
    try {
      opened = await openModel(modelPath, undefined, { keepRaw: false });
    } catch (e) {
      void proc?.dispose();
      throw e;
    }
    const graph = opened.graph;
    const paramCounts = graph.nodes.map(paramCount);
    void cached?.explainer.dispose();
    this.models.delete(modelPath);
    // the panel's rule pickers change rules often: a rule change re-runs the universal backward-only graph
    // on the shown image's forward values, built on the first change (onnxExplainer.ts `universal`), or
    // with relevanceLens.ruleChanges 'lean' its own graph
    const explainer = proc ? proc.useGraph(graph) : onnx ? new OnnxExplainer(graph, ruleChangeOptions(this.lean)) : new Explainer(graph);
    const loaded: LoadedModel = {
      path: modelPath, mtimeMs: m, graph, explainer, card: opened.card, labels: opened.labels, cardPath: opened.cardPath,
      tokens: patchTokens(graph), paramCounts,
    };
    this.models.set(modelPath, loaded);
    while (this.models.size > MAX_MODELS) {
      const oldest = this.models.keys().next().value as string;
      void this.models.get(oldest)?.explainer.dispose();
      this.models.delete(oldest);
    }
    return loaded;
  }

  async describeModel(modelPath: string, composite: string, rules: Record<string, string>, params: RuleParamValues): Promise<ModelSummary> {
    const m = await this.model(modelPath);
    const g = m.graph;
    const overrides = ruleOverrides(g, rules);
    const resolved = resolveRules(g, composite, overrides);
    const p = { ...this.ruleParams(m, params) };
    return {
      path: modelPath,
      name: g.name,
      format: g.format,
      inputShape: g.nodes[g.input].shape,
      outputShape: g.nodes[g.output].shape,
      layers: g.nodes.map((n) => {
        const spec = resolved.get(n.id);
        return {
          id: n.id, name: n.name, op: n.op, sourceClass: n.sourceClass, shape: n.shape, params: m.paramCounts[n.id],
          rule: spec ? formatRule(spec, { ...DEFAULT_RULE_PARAMS, ...p }) : '',
          ruleable: takesRule(n), rules: [...rulesFor(n.op)], overridden: n.name in overrides,
        };
      }),
      labels: m.labels,
      cardPath: m.cardPath,
      composites: [AUTO_COMPOSITE, ...COMPOSITE_NAMES],
      defaultComposite: defaultComposite(g),
      backend: await this.ensureBackend(),
    };
  }

  /** Composite parameters; z^B bounds come from the model card unless the user set them. */
  private ruleParams(m: LoadedModel, params: RuleParamValues): ExplainOptions['params'] {
    const p: NonNullable<ExplainOptions['params']> = withoutUndefined(params);
    if (p.low === undefined || p.high === undefined) {
      const b = inputBounds(m.card);
      p.low ??= b.low.length === 1 ? b.low[0] : b.low;
      p.high ??= b.high.length === 1 ? b.high[0] : b.high;
    }
    return p;
  }

  private readImage(imagePath: string): RgbaImage {
    const img = readImageFile(imagePath);
    if (Math.max(img.width, img.height) > this.maxImageSide) {
      throw new LensError('bad-image', `${img.width}x${img.height} is larger than relevanceLens.maxImageSide (${this.maxImageSide})`, imagePath);
    }
    return img;
  }

  /**
   * The model's view of an image: decoded, preprocessed per the card, and resized for display. The
   * last one is kept (keyed by image, its mtime and the card) because a rule, class or method change
   * explains the same image again, and decoding a photo costs more than a LeNet backward pass.
   */
  private prepared(m: LoadedModel, imagePath: string): { img: RgbaImage; input: ReturnType<typeof preprocessImage>; shown: RgbaImage } {
    const key = `${imagePath}\0${mtime(imagePath)}\0${m.path}\0${m.mtimeMs}`;
    if (this.lastImage?.key === key) return this.lastImage;
    const img = this.readImage(imagePath);
    const input = preprocessImage(img, m.card);
    const [H, W] = input.shape;
    const shown = imageToDisplayRgba(img, H, W, m.card.input.resize);
    this.lastImage = { key, img, input, shown };
    return this.lastImage;
  }

  private prepareRun(runId: number, m: LoadedModel, spec: ExplainSpec, imagePath: string) {
    this.progress(runId, 'decoding image');
    const { img, input, shown } = this.prepared(m, imagePath);
    const opts: ExplainOptions = {
      method: spec.method,
      composite: spec.composite,
      rules: ruleOverrides(m.graph, spec.rules),
      params: this.ruleParams(m, spec.params),
      targetClass: spec.targetClass,
      labels: m.labels,
      conservationDetail: true,
      ...methodOptions(spec),
      ...(spec.method === 'pattern-net' || spec.method === 'pattern-attribution' ? { patterns: this.patterns(m) } : {}),
    };
    const checkpoint = () => {
      if (this.isCancelled(runId)) throw new LensError('cancelled', 'cancelled');
    };
    return { img, input, shown, opts, checkpoint };
  }

  async explain(runId: number, spec: ExplainSpec, display: DisplayOptions): Promise<Explanation> {
    const t0 = performance.now();
    this.progress(runId, 'loading model');
    const m = await this.model(spec.modelPath);
    const t1 = performance.now();
    const { input, shown, opts, checkpoint } = this.prepareRun(runId, m, spec, spec.imagePath);
    this.progress(runId, 'explaining');
    // a transformer's patch tokens are kept too (small: T × D) for the panel's per-token view
    const keepLayers = m.tokens ? [m.tokens.name, m.tokens.joined] : undefined;
    const r = await this.run(m, input, opts, { checkpoint, pool: this.pool, ...(keepLayers ? { keepLayers } : {}) });
    const t2 = performance.now();
    const [H, W] = input.shape;
    const heat = colourRelevance(r.relevance, display);
    const stage = m.tokens ? tokenStage(m.tokens, r.layerRelevance) : undefined;
    return {
      spec,
      rules: r.rules,
      target: r.target,
      prediction: r.prediction,
      layers: r.layers,
      inputRelevanceSum: r.inputRelevanceSum,
      relevance: { shape: r.relevance.shape, data: owned(r.relevance.data) },
      // A copy: the cached original stays here while this one moves to the host.
      input: { width: W, height: H, rgba: new Uint8ClampedArray(shown.data) },
      heatmap: heat,
      display,
      timings: { ...r.timings, loadMs: t1 - t0, workerTotalMs: performance.now() - t0, colorMs: performance.now() - t2 },
      backend: r.backend,
      backendReason: r.backendReason,
      composite: r.composite,
      scoresAreProbabilities: !!m.graph.outputSoftmax,
      ...(r.extra ? { extra: plainExtra(r.extra) } : {}),
      ...(stage && m.tokens ? {
        tokens: { layer: m.tokens.name, grid: m.tokens.grid, ...stage, heatmap: colourRelevance(tokenGrid(stage.values, m.tokens.grid), display) },
      } : {}),
    };
  }

  /** The model's fitted patterns (re-read when the file changes). */
  private patterns(m: LoadedModel): PatternSet {
    const file = patternsPathFor(m.path);
    const t = mtime(file);
    if (t < 0) {
      throw new LensError('bad-patterns', `no fitted patterns for this model: run "Relevance Lens: Fit PatternNet Patterns…" (writes ${file})`, m.path);
    }
    if (m.patterns?.mtimeMs !== t) m.patterns = { mtimeMs: t, set: loadPatterns(file) };
    return m.patterns.set;
  }

  /** PatternNet statistics over a folder of images or an .npy stack, written next to the model. */
  async fitPatterns(runId: number, modelPath: string, dataPath: string, outPath: string): Promise<{ outPath: string; layers: number }> {
    const m = await this.model(modelPath);
    const source = openImageSource(dataPath, m.card, m.graph.nodes[m.graph.input].shape);
    let stats;
    // the statistics are computed here, on the kernels: an engine process's graph reads them back for it
    const withKernels = <T>(f: () => T): Promise<T> | T => (m.explainer instanceof ProcessExplainer ? m.explainer.withKernels(f) : f());
    try {
      stats = await withKernels(() => fitPatterns(m.graph, source, {
        checkpoint: () => {
          if (this.isCancelled(runId)) throw new LensError('cancelled', 'cancelled');
        },
        onProgress: (p) => this.progress(runId, `${p.done}/${p.total} images`, p.total ? 1 / Math.max(1, p.total) * Math.min(p.done, p.total) : undefined),
        patterns: false,
        // the explainer's weights already in the backend: no second copy (VGG16: 528 MB)
        ...(m.explainer instanceof Explainer ? { prep: m.explainer.prep } : {}),
      }));
    } finally {
      source.close();
    }
    await writePatternsFile(outPath, stats);
    m.patterns = undefined;
    // the count from memory: reading a VGG16-size file back (4.3 GB) would double the peak
    return { outPath, layers: stats.layers.length };
  }

  async layerMaps(runId: number, spec: ExplainSpec, layer: string, display: DisplayOptions, maxChannels: number, perMapScale = false): Promise<LayerMaps> {
    const m = await this.model(spec.modelPath);
    const { input, opts, checkpoint } = this.prepareRun(runId, m, spec, spec.imagePath);
    this.progress(runId, `relevance at ${layer}`);
    const r = await this.run(m, input, opts, { checkpoint, keepLayers: [layer], pool: this.pool });
    const rel = r.layerRelevance?.[layer];
    if (!rel) throw new LensError('bad-usage', `no relevance reached layer ${layer} with method ${spec.method}`);
    // Dense layers give a vector: shown as one 1×N strip. Conv layers give H×W×C: one map per channel.
    const shape = rel.shape.length === 3 ? rel.shape : [1, rel.shape[0], 1];
    const maps = channelMaps(rel.data, shape, heatmapOptions(display), maxChannels, perMapScale);
    return { layer, shape: rel.shape, ...maps, legend: legendPicture(display) };
  }

  async writeExport(
    kind: ExportKind,
    outPath: string,
    ex: Omit<Explanation, 'heatmap'> & { heatmap: RgbaPicture },
    display: DisplayOptions,
  ): Promise<{ outPath: string; bytes: number }> {
    let bytes: Uint8Array | string;
    const { relevance } = ex;
    switch (kind) {
      case 'png': case 'heatmap-png': {
        // What the panel shows (same colours and opacity), on the photo at its own resolution.
        const m = await this.model(ex.spec.modelPath);
        const { img } = this.prepared(m, ex.spec.imagePath);
        const pic = exportPicture(relevance, { image: img, resize: m.card.input.resize }, {
          ...heatmapOptions(display), opacity: display.opacity, heatmapOnly: kind === 'heatmap-png',
        });
        bytes = encodePng(pic.rgba, pic.width, pic.height);
        break;
      }
      case 'npy':
        bytes = writeNpy(relevance.shape, relevance.data);
        break;
      case 'json':
        // The CLI's JSON result schema (DESIGN.md).
        bytes = JSON.stringify({
          method: ex.spec.method,
          composite: ex.composite,
          rules: ex.rules,
          target: ex.target,
          prediction: ex.prediction,
          relevance: { shape: relevance.shape, data: Array.from(relevance.data) },
          layers: ex.layers.map(rowWithFloor),
          inputRelevanceSum: ex.inputRelevanceSum,
          timings: ex.timings,
          model: path.basename(ex.spec.modelPath),
          image: path.basename(ex.spec.imagePath),
        }, null, 2) + '\n';
        break;
    }
    await writeFileAtomic(outPath, bytes);
    return { outPath, bytes: typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length };
  }
}
