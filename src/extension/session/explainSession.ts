/**
 * Runs explanations for the current state and tells the panel, the tree and the tests what happened.
 * Runs are serialized and coalesced: while one is in flight, further requests collapse into one run
 * with the newest state (a user dragging through rule options sees the last one, not a queue).
 * An image or model given as an override is committed to the state only when its run succeeds, so a
 * broken file leaves the panel on its last good explanation.
 *
 * Cancelling a run (the notification's Cancel, the panel's Cancel) stops the engine at its next layer.
 * A result that arrives anyway (the run finished as Cancel was pressed) is dropped: a cancelled run
 * never reaches the panel. The choices that started it (method, rule, class…) go back to those of the
 * explanation on screen, so the pickers show what the heatmap shows and the next change does not
 * start the slow run again; unless the user has asked for something newer meanwhile.
 */
import { sharedScales } from '../../shared/methodFigures';
import * as vscode from 'vscode';
import type {
  CompareEntry, DisplayOptions, Explanation, HeatmapPicture, ExplainSpec, ExportKind, LayerMaps, MethodId, ModelSummary, RgbaPicture,
} from '../../shared/protocol';
import type { EngineHost } from '../worker/engineHost';
import type { LensState } from '../state/lensState';
import type { Log } from '../log';
import { confirmUntrustedModel } from '../trust';
import { isCancellation, type ErrorReporter } from '../errors';
import { runWithProgress } from './progress';

const PROGRESS_AFTER_MS = 250;

export interface RunEvent {
  runId: number;
  explanation: Explanation;
  /** command (or request) to result on the host, ms */
  elapsedMs: number;
}

export interface CancelEvent {
  runId: number;
  /** How the engine ended the run (see EngineHost.cancel). */
  how: 'stopped' | 'terminated' | 'finished';
  /** Cancel request -> run settled, ms. */
  stoppedMs: number;
  /** The state went back to the explanation on screen. */
  reverted: boolean;
}

export class ExplainSession implements vscode.Disposable {
  private readonly explainedEmitter = new vscode.EventEmitter<RunEvent>();
  private readonly failedEmitter = new vscode.EventEmitter<{ runId?: number; message: string }>();
  private readonly progressEmitter = new vscode.EventEmitter<{ runId: number; stage: string; fraction?: number }>();
  private readonly modelEmitter = new vscode.EventEmitter<ModelSummary | undefined>();
  private readonly busyEmitter = new vscode.EventEmitter<boolean>();
  private readonly cancelEmitter = new vscode.EventEmitter<CancelEvent>();
  readonly onDidExplain = this.explainedEmitter.event;
  readonly onDidFail = this.failedEmitter.event;
  readonly onProgress = this.progressEmitter.event;
  readonly onDidChangeModel = this.modelEmitter.event;
  readonly onDidChangeBusy = this.busyEmitter.event;
  /** A run was cancelled and has stopped. */
  readonly onDidCancel = this.cancelEmitter.event;

  private requested = 0;
  private running?: Promise<unknown>;
  private currentRun?: { runId: number; promise: Promise<unknown> };
  /** Runs asked to stop: runId -> how the engine ended them (settles when the run has). */
  private readonly cancelled = new Map<number, { t0: number; outcome: Promise<CancelEvent['how']> }>();
  current?: Explanation;
  model?: ModelSummary;
  /** The last comparison, re-sent to a reloaded panel. */
  lastComparison?: { image: RgbaPicture; entries: CompareEntry[] };

  constructor(
    private readonly engine: EngineHost,
    private readonly state: LensState,
    private readonly errors: ErrorReporter,
    private readonly log: Log,
  ) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Loads a model and makes it active; a model that fails to load leaves the active one as it was. */
  async openModel(modelPath: string): Promise<ModelSummary> {
    await confirmUntrustedModel(modelPath);
    const rules = modelPath === this.state.modelPath ? this.state.rules : {};
    const summary = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Relevance Lens: loading model') },
      () => this.engine.request('describeModel', { modelPath, composite: this.state.composite, rules, params: this.state.params }),
    );
    if (modelPath !== this.state.modelPath) this.current = undefined;
    this.state.setModel(modelPath);
    this.setModel(summary);
    return summary;
  }

  /** Re-reads layer rules after a composite / rule / parameter change. */
  async refreshModel(): Promise<ModelSummary | undefined> {
    const modelPath = this.state.modelPath;
    if (!modelPath) return undefined;
    try {
      const summary = await this.engine.request('describeModel', {
        modelPath, composite: this.state.composite, rules: this.state.rules, params: this.state.params,
      });
      this.setModel(summary);
      return summary;
    } catch (e) {
      this.errors.report(e, 'reading the model');
      return undefined;
    }
  }

  private setModel(summary: ModelSummary | undefined): void {
    this.model = summary;
    this.modelEmitter.fire(summary);
  }

  spec(overrides: Partial<ExplainSpec> = {}): ExplainSpec | undefined {
    const modelPath = overrides.modelPath ?? this.state.modelPath;
    const imagePath = overrides.imagePath ?? this.state.imagePath;
    if (!modelPath || !imagePath) return undefined;
    return {
      modelPath,
      imagePath,
      method: this.state.method,
      composite: this.state.composite,
      rules: modelPath === this.state.modelPath ? this.state.rules : {},
      params: this.state.params,
      methodParams: this.state.methodParams,
      targetClass: this.state.targetClass,
      ...overrides,
    };
  }

  /**
   * Explains with the current state (plus overrides). Resolves with the explanation, or undefined when
   * a newer request superseded this one, the run was cancelled, or it failed (the error was shown).
   */
  async explain(overrides: Partial<ExplainSpec> = {}): Promise<Explanation | undefined> {
    const t0 = performance.now();
    const generation = ++this.requested;
    while (this.running) await this.running.catch(() => undefined);
    if (generation !== this.requested) return undefined;
    const spec = this.spec(overrides);
    if (!spec) return undefined;
    const runId = this.engine.newRunId();
    const display = this.state.display;
    // Progress only for runs that take a while: a status line flashing for a 10 ms run is noise.
    const work = this.engine.request('explain', { runId, spec, display }, (stage, fraction) => {
      if (performance.now() - t0 > PROGRESS_AFTER_MS) this.progressEmitter.fire({ runId, stage, fraction });
    });
    this.setRunning(work, runId);
    try {
      const explanation = await runWithProgress(vscode.l10n.t('Relevance Lens: explaining {0}', baseName(spec.imagePath)), work,
        () => this.cancelRun(runId));
      if (this.cancelled.has(runId)) {
        this.log.info(`run ${runId} finished as it was cancelled; its result is dropped`);
        await this.afterCancel(runId, generation);
        return undefined;
      }
      if (overrides.imagePath && overrides.imagePath !== this.state.imagePath) this.state.setImage(overrides.imagePath);
      this.current = explanation;
      const elapsedMs = performance.now() - t0;
      this.log.info(`explained ${baseName(spec.imagePath)} (${spec.method}${spec.method === 'lrp' ? ' ' + spec.composite : ''}) in ${elapsedMs.toFixed(1)} ms; engine ${fmtTimings(explanation.timings)}`);
      this.explainedEmitter.fire({ runId, explanation, elapsedMs });
      return explanation;
    } catch (e) {
      if (this.cancelled.has(runId) || isCancellation(e)) {
        // Not an error to show: the user asked for it (afterCancel logs how the run ended).
        await this.afterCancel(runId, generation);
        return undefined;
      }
      const message = this.errors.report(e, `explaining ${baseName(spec.imagePath)}`);
      this.failedEmitter.fire({ runId, message: message ?? String(e) });
      return undefined;
    } finally {
      this.cancelled.delete(runId);
      this.setRunning(undefined);
    }
  }

  /** Asks the running explanation `runId` to stop (no-op when it is not the one running). */
  cancelRun(runId: number): void {
    const run = this.currentRun;
    if (!run || run.runId !== runId || this.cancelled.has(runId)) return;
    this.cancelled.set(runId, { t0: performance.now(), outcome: this.engine.cancel(runId, run.promise) });
  }

  /** Stops the running explanation, if any (the panel's Cancel). */
  cancel(): void {
    if (this.currentRun) this.cancelRun(this.currentRun.runId);
  }

  private async afterCancel(runId: number, generation: number): Promise<void> {
    const c = this.cancelled.get(runId);
    const how = c ? await c.outcome : 'stopped';
    const stoppedMs = c ? performance.now() - c.t0 : 0;
    // Newer requests are waiting: they carry the user's latest choices, which must not be undone.
    let reverted = false;
    if (generation === this.requested && this.current && this.current.spec.modelPath === this.state.modelPath) {
      const changed = this.state.restoreFrom(this.current.spec);
      reverted = changed !== undefined;
      if (changed === 'rules') void this.refreshModel();
    }
    this.log.info(`run ${runId} cancelled (${how} after ${stoppedMs.toFixed(0)} ms)${reverted ? '; choices back to the explanation on screen' : ''}`);
    this.cancelEmitter.fire({ runId, how, stoppedMs, reverted });
  }

  private setRunning(work: Promise<unknown> | undefined, runId?: number): void {
    this.running = work;
    this.currentRun = work && runId !== undefined ? { runId, promise: work } : undefined;
    this.busyEmitter.fire(work !== undefined);
  }

  /** New colours for the current relevance (colormap / scaling / polarity); no re-explanation. */
  async recolor(display: DisplayOptions): Promise<{ heatmap: HeatmapPicture; tokens?: HeatmapPicture } | undefined> {
    const ex = this.current;
    if (!ex) return undefined;
    const heatmap = await this.engine.request('renderHeatmap', { relevance: ex.relevance, display });
    const t = ex.tokens;
    // the token map (one pixel per patch) recoloured by the same request on its grid
    const tokens = t ? await this.engine.request('renderHeatmap', { relevance: { shape: [t.grid[0], t.grid[1], 1], data: t.values }, display }) : undefined;
    if (this.current === ex) {
      this.current = { ...ex, heatmap, display, ...(t && tokens ? { tokens: { ...t, heatmap: tokens } } : {}) };
    }
    return { heatmap, ...(tokens ? { tokens } : {}) };
  }

  /** Relevance at one layer, per channel: a full backward pass, so on a big model it gets progress and Cancel. */
  async layerMaps(layer: string, maxChannels = 32, perMapScale = false): Promise<LayerMaps | undefined> {
    const spec = this.current?.spec ?? this.spec();
    if (!spec) return undefined;
    const runId = this.engine.newRunId();
    const work = this.engine.request('layerMaps', { runId, spec, layer, display: this.state.display, maxChannels, perMapScale });
    return runWithProgress(vscode.l10n.t('Relevance Lens: relevance at layer {0}', layer), work, () => void this.engine.cancel(runId, work));
  }

  /** Several methods on the current image, one after another, with a cancellable notification. */
  async compare(methods: MethodId[]): Promise<{ image: RgbaPicture; entries: CompareEntry[] } | undefined> {
    const base = this.current?.spec ?? this.spec();
    if (!base) return undefined;
    const entries: CompareEntry[] = [];
    const relevances: Explanation['relevance'][] = [];
    let image: RgbaPicture | undefined;
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Relevance Lens: comparing methods'), cancellable: true },
      async (progress, token) => {
        for (const [i, method] of methods.entries()) {
          if (token.isCancellationRequested) break;
          progress.report({ message: method, increment: i === 0 ? 0 : 100 / methods.length });
          const runId = this.engine.newRunId();
          const t0 = performance.now();
          const work = this.engine.request('explain', { runId, spec: { ...base, method }, display: this.state.display });
          const sub = token.onCancellationRequested(() => void this.engine.cancel(runId, work));
          try {
            const ex = await work;
            image ??= ex.input;
            relevances.push(ex.relevance);
            entries.push({ method, heatmap: ex.heatmap, sum: ex.inputRelevanceSum, ms: performance.now() - t0 });
          } catch (e) {
            if (isCancellation(e)) break;
            entries.push({ method, error: this.errors.report(e, `comparing (${method})`) });
          } finally {
            sub.dispose();
          }
        }
      },
    );
    // one colour scale per unit group (attributions of the logit / gradient-type maps), not per map
    const scales = sharedScales(entries.filter((e) => e.heatmap).map((e) => ({ method: e.method, vmax: e.heatmap!.vmax })));
    for (const [k, e] of entries.filter((x) => x.heatmap).entries()) {
      if (scales[k] !== undefined && scales[k] !== e.heatmap!.vmax) {
        e.heatmap = await this.engine.request('renderHeatmap', { relevance: relevances[k], display: this.state.display, vmax: scales[k] });
      }
    }
    this.lastComparison = image ? { image, entries } : undefined;
    return this.lastComparison;
  }

  async export(kind: ExportKind, outPath: string): Promise<{ outPath: string; bytes: number }> {
    const ex = this.current;
    if (!ex) throw new Error('no explanation to export');
    return this.engine.request('writeExport', { kind, outPath, explanation: ex, display: this.state.display });
  }

  dispose(): void {
    for (const e of [this.explainedEmitter, this.failedEmitter, this.progressEmitter, this.modelEmitter, this.busyEmitter, this.cancelEmitter]) e.dispose();
  }
}

function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

function fmtTimings(t: Record<string, number>): string {
  return Object.entries(t).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(1)}`).join(' ');
}
