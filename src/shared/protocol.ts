/**
 * The typed messages of Relevance Lens, both channels:
 *   host <-> engine worker  (EngineRequests / WorkerEvents)
 *   host <-> webview panel   (HostToView / ViewToHost)
 * carried by the one helper in ./rpc. Data shapes here are plain JSON plus typed arrays, so they cross
 * postMessage (structured clone) unchanged. No vscode, no DOM, no engine code.
 */
export * from './rpc';
// method names and rule parameters live apart so that datasetProtocol.ts can use them without this file
export * from './methodParams';
import { METHOD_NAMES, type MethodId, type RuleParamValues } from './methodParams';
import type { ChannelSpec } from './rpc';
import type { DatasetEngineRequests } from './datasetProtocol';
import { checkDisplay, checkMethodParams, checkRuleParams, problem } from './validate';
import type { RuleName } from './ruleSpec';
import { COLORMAPS, POLARITIES, SETTING_DEFAULTS, type BackendSetting, type Colormap, type Polarity, type RuleChangeMode } from './settings';

// ---------------------------------------------------------------------------------------------
//#region shared data

/** Methods whose relevance should be conserved layer by layer (the others get no balance flags). */
export const CONSERVATIVE_METHODS: readonly MethodId[] = ['lrp', 'deep-taylor', 'deep-taylor-bounded'];

export { COLORMAPS, POLARITIES, type Colormap, type Polarity } from './settings';

/** How relevance becomes colour; opacity is applied by the webview when it composites. */
export interface DisplayOptions {
  colormap: Colormap;
  /** Symmetric scale: max |R|, or the given percentile of |R| (outliers clipped). */
  scale: 'max' | 'percentile';
  percentile: number;
  polarity: Polarity;
  /** 0..1 heatmap opacity over the input. */
  opacity: number;
}

/** Opacity 0.5: the photo stays readable under the heatmap (0.7 washed it out). */
export const DEFAULT_DISPLAY: DisplayOptions = { colormap: SETTING_DEFAULTS.colormap, scale: 'max', percentile: 99.5, polarity: 'both', opacity: 0.5 };

/** Parameters of the non-LRP methods (engine defaults when absent). */
export interface MethodParamValues {
  /** smoothgrad: noisy samples */
  samples?: number;
  /** smoothgrad: noise σ as a fraction of the input range */
  sigma?: number;
  /** integrated-gradients: path points */
  steps?: number;
  /** integrated-gradients: baseline */
  baseline?: 'zeros' | 'blur';
  /** deep-taylor: root point of dense/conv layers */
  root?: 'nearest' | 'origin' | 'lrp';
  /** pattern-net / pattern-attribution */
  patternType?: 'relu' | 'linear';
}

/** An RGBA picture, row-major, 4 bytes per pixel. */
export interface RgbaPicture {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

/**
 * A colour bar: the colormap from low·vmax to high·vmax — −vmax … +vmax when both signs are shown, 0 … +vmax
 * under the positive / absolute polarity, −vmax … 0 under the negative one.
 */
export interface LegendPicture extends RgbaPicture {
  low: -1 | 0;
  high: 0 | 1;
}

/** A heatmap as the engine coloured it, with the |R| at the colormap's ends and its colour bar. */
export interface HeatmapPicture extends RgbaPicture {
  vmax: number;
  legend?: LegendPicture;
}

export interface LayerInfo {
  /** Node id in the canonized graph. */
  id: number;
  /** The model's own layer name. */
  name: string;
  op: string;
  sourceClass?: string;
  /** Output shape without batch. */
  shape: number[];
  params: number;
  /** The rule this layer gets under the current composite and overrides ('' for pass-through layers). */
  rule: string;
  /** True when the layer takes an LRP rule (conv/dense, lone BatchNorm). */
  ruleable: boolean;
  /** The rules this layer can take (from the engine's op table; the rule pickers' list). */
  rules: RuleName[];
  /** True when the user overrode the composite's rule. */
  overridden: boolean;
}

export interface ModelSummary {
  path: string;
  name: string;
  format: string;
  inputShape: number[];
  outputShape: number[];
  layers: LayerInfo[];
  labels?: string[];
  cardPath?: string;
  composites: string[];
  /** What the composite 'auto' stands for on this model, and why (as `info` prints it). */
  defaultComposite: { name: string; reason: string };
  backend: string;
}

export interface Prediction {
  class: number;
  score: number;
  label?: string;
}

export interface ConservationRow {
  name: string;
  op: string;
  rule: string;
  outputRelevanceSum: number;
  inputRelevanceSum: number;
  ratio: number;
  /** The rule's closed-form share of out − in absorbed by the bias, and by the stabilizer ε. */
  biasLeak?: number;
  stabilizerLeak?: number;
  /** Σ |R| at the layer's output and at its inputs (conservation detail): the scale of the row's float32 floor. */
  outputAbsSum?: number;
  inputAbsSum?: number;
}

/** What decides one explanation (also the key of its cache entry). */
export interface ExplainSpec {
  modelPath: string;
  imagePath: string;
  method: MethodId;
  composite: string;
  /** Per-layer overrides as rule text (`epsilon:0.25`), by layer name. */
  rules: Record<string, string>;
  params: RuleParamValues;
  methodParams?: MethodParamValues;
  targetClass: number | 'top';
}

/**
 * A vision transformer's relevance per patch token (ViT: the relevance reaching the patch sequence where
 * the class token joins it, summed over features), for the panel's token view.
 */
export interface TokenRelevance {
  /** the layer whose output is the patch sequence */
  layer: string;
  /** patch rows × columns over the input */
  grid: [number, number];
  /** one value per patch, row-major over the grid */
  values: Float32Array;
  /** relevance at the class token (not a patch: shown apart) */
  classToken?: number;
  /** `values` coloured, one pixel per patch (the webview stretches it over the input) */
  heatmap: HeatmapPicture;
}

export interface Explanation {
  spec: ExplainSpec;
  /** Effective rule per ruleable layer, as text. */
  rules: Record<string, string>;
  target: { class: number; logit: number; label?: string };
  prediction: Prediction[];
  layers: ConservationRow[];
  inputRelevanceSum: number;
  /** Input relevance, HWC. */
  relevance: { shape: number[]; data: Float32Array };
  /** The input as the model saw it (resized), opaque. */
  input: RgbaPicture;
  /** The heatmap of `relevance` under `display`, computed by the engine's colormap function. */
  heatmap: HeatmapPicture;
  display: DisplayOptions;
  timings: Record<string, number>;
  backend: string;
  /** Scores are softmax probabilities (the model ended in softmax), else logits. */
  scoresAreProbabilities: boolean;
  /** The composite used (spec.composite may be 'auto'); null for methods without one. */
  composite: string | null;
  /** The method's own figures (IG completeness, SmoothGrad σ…), as the CLI's JSON `extra`. */
  extra?: Record<string, unknown>;
  /** Why this backend computed it (e.g. a method the onnx backend does not compile runs on wasm). */
  backendReason?: string;
  /** Per-patch-token relevance when the model is a vision transformer with patch tokens. */
  tokens?: TokenRelevance;
}

/** Relevance arriving at one layer's output, one map per channel (capped), for the layer view. */
export interface LayerMaps {
  layer: string;
  shape: number[];
  /** one colour scale for all maps (default) or each map its own */
  scale: 'shared' | 'per-map';
  /** the shared scale's |R| at the colour bar's ends */
  vmax: number;
  /** the colour bar (its span follows the polarity) */
  legend: LegendPicture;
  /** transparent where R = 0 (alpha = |R| / vmax) */
  channels: { index: number; sum: number; vmax: number; picture: RgbaPicture }[];
  /** Channels not shown (over the cap). */
  omitted: number;
}

/** png: the heatmap over the photo at the photo's own resolution; heatmap-png: the heatmap alone, same size. */
export type ExportKind = 'png' | 'heatmap-png' | 'npy' | 'json';

//#endregion
// ---------------------------------------------------------------------------------------------
//#region host <-> worker

export interface EngineRequests extends ChannelSpec {
  requests: {
    /** Picks the tfjs backend; answers with the one in use. */
    init: { params: { backend: BackendSetting; maxImageSide: number; ruleChanges?: RuleChangeMode; workspaceRoots?: string[] }; result: { backend: string; backendReason?: string } };
    /** Test hook: keeps the worker's thread busy for `ms` without polling anything (a hang, for the watchdog). */
    debugHang: { params: { ms: number }; result: void };
    /** Loads (or reloads) a model; rules shown are the composite's with the overrides applied. */
    describeModel: {
      params: { modelPath: string; composite: string; rules: Record<string, string>; params: RuleParamValues };
      result: ModelSummary;
    };
    explain: { params: { runId: number; spec: ExplainSpec; display: DisplayOptions }; result: Explanation };
    /** Recolours a relevance map (colormap / scaling change) without re-explaining. */
    renderHeatmap: {
      /** vmax: a fixed colour scale (compare thumbnails on one scale) instead of the display's */
      params: { relevance: { shape: number[]; data: Float32Array }; display: DisplayOptions; vmax?: number };
      result: HeatmapPicture;
    };
    layerMaps: { params: { runId: number; spec: ExplainSpec; layer: string; display: DisplayOptions; maxChannels: number; perMapScale?: boolean }; result: LayerMaps };
    /** Writes one export file atomically (temp file + rename): overlay PNG, relevance .npy or the CLI's JSON. */
    writeExport: {
      params: { kind: ExportKind; outPath: string; explanation: Explanation; display: DisplayOptions };
      result: { outPath: string; bytes: number };
    };
    fitPatterns: { params: { runId: number; modelPath: string; dataPath: string; outPath: string }; result: { outPath: string; layers: number } };
    /**
     * Live tensors and memory of the worker (the log, the soak test: long sessions must not grow);
     * `processRss`: its engine processes' resident memory, together
     */
    engineStats: { params: Record<string, never>; result: { tensors: number; tensorBytes: number; rss: number; heapUsed: number; external: number; processRss: number } };
  } & DatasetEngineRequests;
  events: Record<string, never>;
}

export interface WorkerEvents extends ChannelSpec {
  requests: Record<string, never>;
  events: {
    progress: { runId: number; stage: string; fraction?: number };
    log: { level: 'info' | 'warn' | 'error'; message: string };
    /** an engine process of the worker's started or ended (the host ends them with the worker: processExplainer.ts) */
    engineProcess: { pid: number; running: boolean };
  };
}

//#endregion
// ---------------------------------------------------------------------------------------------
//#region host <-> webview

/** Everything the panel shows; sent whole on ready and after each change (small: no big arrays but the pictures). */
export interface PanelSnapshot {
  model?: ModelSummary;
  imagePath?: string;
  method: MethodId;
  composite: string;
  params: RuleParamValues;
  methodParams: MethodParamValues;
  targetClass: number | 'top';
  display: DisplayOptions;
  compareMethods: MethodId[];
  busy: boolean;
  /** Report the drawn pixels back (integration tests); off otherwise, they are large. */
  reportPixels: boolean;
  /** The host's test-hooks switch (RELEVANCE_LENS_TEST_HOOKS=1): only then does the page obey `drive`. */
  testHooks: boolean;
  /** Relative tolerance beyond which a conservation row is flagged. */
  balanceTolerance: number;
}

export interface CompareEntry {
  method: MethodId;
  heatmap?: HeatmapPicture;
  /** sum of the input relevance */
  sum?: number;
  error?: string;
  ms?: number;
}

export interface HostToView extends ChannelSpec {
  requests: Record<string, never>;
  events: {
    /** Full state, sent after the webview said `ready` and whenever settings change. */
    snapshot: PanelSnapshot;
    /** A finished explanation. */
    result: { runId: number; explanation: Omit<Explanation, 'relevance'> };
    /** A recoloured heatmap for the current explanation (and its token map, when it has one). */
    heatmap: { runId: number; heatmap: HeatmapPicture; display: DisplayOptions; tokens?: HeatmapPicture };
    progress: { runId: number; stage: string; fraction?: number };
    /** A failed run; the panel keeps its last good picture and shows the message. */
    error: { runId?: number; message: string };
    layerMaps: LayerMaps;
    compare: { image: RgbaPicture; entries: CompareEntry[] };
    /** Test hook: operate a control exactly as a user would (sets its value, dispatches its events). */
    drive: { control: string; value: string };
  };
}

export interface RenderReport {
  runId: number;
  /** What was put on the heatmap canvas, read back with getImageData. */
  width: number;
  height: number;
  rgba: number[];
  /** The conservation table as drawn (text of each cell); empty for methods without conservation. */
  table: string[][];
  /** The method's own figures as drawn ('label: value'), e.g. IG's completeness error. */
  figures?: string[];
  method: MethodId;
  targetClass: number;
  /** ms from the user's last input in the page (rule, class, method…) to this heatmap on screen. */
  sinceInputMs?: number;
  /** Which map is on the canvas: the input relevance, or the per-patch-token map (one pixel per patch). */
  view?: HeatmapViewKind;
  /** The token view's figures as drawn ('label: value'), when the explanation has patch tokens. */
  tokenFigures?: string[];
  /** ms the page spent: from the result's arrival to this report, and in it drawing the heatmap and the table. */
  pageMs?: { sinceResult: number; heatmap: number; table: number };
}

export const HEATMAP_VIEWS = ['pixels', 'tokens'] as const;
export type HeatmapViewKind = (typeof HEATMAP_VIEWS)[number];

export interface ViewToHost extends ChannelSpec {
  requests: Record<string, never>;
  events: {
    ready: { protocol: number };
    setMethod: { method: MethodId };
    setComposite: { composite: string };
    /** rule '' removes the override. */
    setRule: { layer: string; rule: string };
    setParams: { params: RuleParamValues };
    setMethodParams: { methodParams: MethodParamValues };
    setTarget: { targetClass: number | 'top' };
    setDisplay: { display: DisplayOptions };
    /** perMapScale: each channel map on its own colour scale instead of a shared one */
    selectLayer: { layer: string; perMapScale?: boolean };
    compare: { methods: MethodId[] };
    export: { kind: ExportKind };
    pickImage: Record<string, never>;
    cancel: Record<string, never>;
    /** The webview drew a heatmap; carries the pixels it drew (tests compare them with the engine). */
    rendered: RenderReport;
  };
}

//#endregion
// ---------------------------------------------------------------------------------------------
//#region guards for webview input (the host trusts nothing that comes from the page)

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function isMethodId(v: unknown): v is MethodId {
  return isStr(v) && (METHOD_NAMES as readonly string[]).includes(v);
}

export function isDisplayOptions(v: unknown): v is DisplayOptions {
  return isObj(v) && (COLORMAPS as readonly unknown[]).includes(v.colormap) && (v.scale === 'max' || v.scale === 'percentile')
    && isNum(v.percentile) && (POLARITIES as readonly unknown[]).includes(v.polarity) && isNum(v.opacity)
    && problem(() => checkDisplay(v as { percentile: number; opacity: number })) === undefined;
}

function isParams(v: unknown): v is RuleParamValues {
  return isObj(v) && Object.entries(v).every(([k, x]) => ['epsilon', 'gamma', 'alpha', 'beta', 'low', 'high'].includes(k) && (x === undefined || isNum(x)))
    && problem(() => checkRuleParams(v)) === undefined;
}

function isMethodParams(v: unknown): v is MethodParamValues {
  if (!isObj(v)) return false;
  const pos = (x: unknown) => x === undefined || (isNum(x) && x > 0);
  return Object.keys(v).every((k) => ['samples', 'sigma', 'steps', 'baseline', 'root', 'patternType'].includes(k))
    && pos(v.samples) && (v.sigma === undefined || isNum(v.sigma)) && pos(v.steps)
    && problem(() => checkMethodParams(v as MethodParamValues)) === undefined
    && [undefined, 'zeros', 'blur'].includes(v.baseline as string) && [undefined, 'nearest', 'origin', 'lrp'].includes(v.root as string)
    && [undefined, 'relu', 'linear'].includes(v.patternType as string);
}

const VIEW_EVENT_GUARDS: { [K in keyof ViewToHost['events']]: (d: unknown) => boolean } = {
  ready: (d) => isObj(d) && isNum(d.protocol),
  setMethod: (d) => isObj(d) && isMethodId(d.method),
  setComposite: (d) => isObj(d) && isStr(d.composite),
  setRule: (d) => isObj(d) && isStr(d.layer) && isStr(d.rule),
  setParams: (d) => isObj(d) && isParams(d.params),
  setMethodParams: (d) => isObj(d) && isMethodParams(d.methodParams),
  setTarget: (d) => isObj(d) && (d.targetClass === 'top' || (isNum(d.targetClass) && Number.isInteger(d.targetClass) && d.targetClass >= 0)),
  setDisplay: (d) => isObj(d) && isDisplayOptions(d.display),
  selectLayer: (d) => isObj(d) && isStr(d.layer) && (d.perMapScale === undefined || typeof d.perMapScale === 'boolean'),
  compare: (d) => isObj(d) && Array.isArray(d.methods) && d.methods.length <= METHOD_NAMES.length && d.methods.every(isMethodId),
  export: (d) => isObj(d) && (d.kind === 'png' || d.kind === 'heatmap-png' || d.kind === 'npy' || d.kind === 'json'),
  pickImage: (d) => isObj(d),
  cancel: (d) => isObj(d),
  rendered: (d) => isObj(d) && isNum(d.runId) && isNum(d.width) && isNum(d.height) && Array.isArray(d.rgba) && Array.isArray(d.table)
    && (d.sinceInputMs === undefined || isNum(d.sinceInputMs)) && (d.figures === undefined || (Array.isArray(d.figures) && d.figures.every(isStr)))
    && (d.view === undefined || (HEATMAP_VIEWS as readonly unknown[]).includes(d.view))
    && (d.tokenFigures === undefined || (Array.isArray(d.tokenFigures) && d.tokenFigures.every(isStr))),
};

export function isValidViewMessage(kind: 'request' | 'event', name: string, data: unknown): boolean {
  if (kind !== 'event' || !Object.prototype.hasOwnProperty.call(VIEW_EVENT_GUARDS, name)) return false;
  return VIEW_EVENT_GUARDS[name as keyof ViewToHost['events']](data);
}

//#endregion

/** Below this share of the logit at the input an LRP heatmap shows little but noise (the panel says so). */
export const LOW_KEPT = 0.1;

/**
 * The bias-free composite to offer when `composite` keeps < LOW_KEPT of the logit at the input: the
 * model's default when that is bias-free, else the composite's own NAME-nobias; undefined when it is one.
 */
export function biasFreeOffer(composite: string | null, kept: number, modelDefault: string, composites: readonly string[]): string | undefined {
  if (!composite || !Number.isFinite(kept) || Math.abs(kept) >= LOW_KEPT || composite.endsWith('-nobias')) return undefined;
  const own = composites.includes(`${composite}-nobias`) ? `${composite}-nobias` : 'epsilon-gamma-box-nobias';
  const offer = modelDefault.endsWith('-nobias') && modelDefault !== composite ? modelDefault : own;
  return composites.includes(offer) ? offer : undefined;
}

/** A row is out of balance when its input and output sums differ by more than `tolerance` (relative). */
export function isUnbalanced(row: ConservationRow, tolerance = 0.05): boolean {
  if (!Number.isFinite(row.ratio)) return row.outputRelevanceSum !== 0;
  return Math.abs(row.ratio - 1) > tolerance;
}

/**
 * True when the rule's closed-form leak (bias + ε) accounts for the imbalance within `tolerance`:
 * the relevance went where the rule says it goes, as opposed to leaking unexplained.
 */
export function leakExplained(row: ConservationRow, tolerance = 0.05): boolean {
  if (row.biasLeak === undefined && row.stabilizerLeak === undefined) return false;
  return Math.abs(rowResidual(row)) <= tolerance * Math.abs(row.outputRelevanceSum);
}

/** out − in − bias share − ε share: zero in exact arithmetic for every rule with a closed form. */
export function rowResidual(row: ConservationRow): number {
  return row.outputRelevanceSum - row.inputRelevanceSum - (row.biasLeak ?? 0) - (row.stabilizerLeak ?? 0);
}

/**
 * How many float32 roundings (unit u = 2⁻²⁴) of the row's terms its floor allows. The row's identity holds
 * exactly for the float32 values a rule starts from; what the table shows misses it by the roundings on the
 * way, each at most u times the terms it touches: (1) storing R_in and R_out, u · (Σ|R_in| + Σ|R_out|); (2) the
 * rule's chain R_in = x ⊙ Wᵀ(R / z): the division, the products and the accumulation of Wᵀs (roundings of
 * random sign: they add in quadrature, ~u times the terms of a unit that dominates), and the forward's own
 * float32 z, which s · z hands back to the out side, about u · Σ|R_in| more; (3) the two sums of terms that
 * cancel (partial sums a random walk: ~u · Σ|x| whatever their number) and the shares' own, u · (|b| + |ε|).
 * Four per term. Measured (README "Float32 floor of a row"): the rows past 1e-4 of AlexNet's bias-free
 * composites reach 2.4 of them on wasm, 0.95 on onnx. Rows whose terms do not cancel can miss by more
 * units (a float32 sum of n same-sign values: ~√n · u) but close to 1e-4 anyway.
 */
export const ROUNDINGS_PER_TERM = 4;

/**
 * The row's float32 floor: ROUNDINGS_PER_TERM · 2⁻²⁴ · (Σ|R_in| + Σ|R_out| + |bias share| + |ε share|), the
 * imbalance float32 leaves however the row is computed (even the exact result stored in float32 misses by
 * up to 2⁻²⁴ · Σ|R_in|); undefined without the absolute sums.
 */
export function roundingFloor(row: ConservationRow): number | undefined {
  if (row.inputAbsSum === undefined || row.outputAbsSum === undefined) return undefined;
  return ROUNDINGS_PER_TERM * 2 ** -24
    * (row.inputAbsSum + row.outputAbsSum + Math.abs(row.biasLeak ?? 0) + Math.abs(row.stabilizerLeak ?? 0));
}

export type RowClosure = 'closes' | 'rounding' | 'open';

/** Issue 9's bar for a row: out − in − shares within 1e-4 of its largest term (the CLI's marks, the zoo's check). */
export const ROW_TOLERANCE = 1e-4;

/**
 * Whether a row closes: |out − in − shares| within `tolerance` of its largest term (or of `minScale`,
 * for tiny rows), else within its float32 floor ('rounding': nothing is missing that float32 could show),
 * else 'open' (a term the table does not account for).
 */
export function rowClosure(row: ConservationRow, tolerance: number, minScale = 0): RowClosure {
  const gap = Math.abs(rowResidual(row));
  const scale = Math.max(Math.abs(row.outputRelevanceSum), Math.abs(row.inputRelevanceSum),
    Math.abs(row.biasLeak ?? 0), Math.abs(row.stabilizerLeak ?? 0), minScale);
  if (gap <= tolerance * scale) return 'closes';
  const floor = roundingFloor(row);
  return floor !== undefined && gap <= floor ? 'rounding' : 'open';
}

/** A row as the JSON results give it (CLI --json, the panel's JSON export): with its float32 floor and closure at ROW_TOLERANCE. */
export function rowWithFloor(row: ConservationRow): ConservationRow & { float32Floor?: number; closure?: RowClosure } {
  const floor = roundingFloor(row);
  return floor === undefined ? row : { ...row, float32Floor: floor, closure: rowClosure(row, ROW_TOLERANCE) };
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
