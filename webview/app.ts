/**
 * The panel page: renders what the host sends and turns user actions into ViewToHost events. It never
 * computes relevance or colours: heatmaps arrive as RGBA from the engine.
 */
import {
  biasFreeOffer, CONSERVATIVE_METHODS, PROTOCOL_VERSION, RpcEndpoint, type CompareEntry, type DisplayOptions, type Explanation,
  type HostToView, type LayerMaps, type PanelSnapshot, type RgbaPicture, type ViewToHost,
} from '../src/shared/protocol';
import { fmtNum, format, h, replaceIfChanged, replaceKeepingFocus } from './dom';
import { methodFigures } from '../src/shared/methodFigures';
import { SETTING_DEFAULTS } from '../src/shared/settings';
import { t } from './strings';
import { transport } from './vscodeApi';
import { loadUiState, saveUiState, type UiState } from './state';
import { HeatmapView } from './components/heatmapView';
import { classPicker, predictionList } from './components/predictions';
import { conservationView, tableText, updateConservationView, type TableOptions } from './components/conservationTable';
import { compositePicker, displayControls, methodParamControls, methodPicker, paramControls } from './components/controls';
import { layerMapsView } from './components/layerMaps';
import { compareView } from './components/compareView';

type ShownExplanation = Omit<Explanation, 'relevance'>;

export class App {
  private readonly rpc = new RpcEndpoint<ViewToHost, HostToView>(transport);
  private readonly ui: UiState = loadUiState();
  private snap?: PanelSnapshot;
  private result?: { runId: number; explanation: ShownExplanation };
  private layerMaps?: LayerMaps;
  private comparison?: { image: RgbaPicture; entries: CompareEntry[] };
  private readonly heatmap = new HeatmapView((view) => {
    this.ui.heatmapView = view;
    saveUiState(this.ui);
    // a new picture on the canvas: drawn and reported again
    this.reported = undefined;
    this.drawResult();
  });
  /** The result last reported as drawn: redraws caused by snapshots are not new renders. */
  private reported?: object;
  private readonly renderKeys = new Map<string, string>();
  /** When the user last asked for a new picture (for the input -> heatmap latency). */
  private inputAt?: number;
  /** when the shown result arrived (performance.now), for the render report's page time */
  private resultAt?: number;

  private readonly toolbar = h('header', { class: 'toolbar' });
  private readonly status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
  private readonly alert = h('div', { class: 'alert', role: 'alert', hidden: true });
  private readonly empty = h('p', { class: 'empty' });
  private readonly side = h('div', { class: 'side' });
  private readonly displayBox = h('div');
  private readonly paramsBox = h('div');
  private readonly tableBox = h('div');
  private readonly layerBox = h('div');
  private readonly compareBox = h('div');

  constructor(private readonly root: HTMLElement) {
    root.append(
      this.toolbar, this.status, this.alert, this.empty,
      h('section', { class: 'main' }, h('div', { class: 'figure-col' }, this.heatmap.el, this.section('display', t.colormap, this.displayBox)), this.side),
      this.section('parameters', t.parameters, this.paramsBox),
      this.section('conservation', t.conservation, this.tableBox),
      this.section('layer', t.layerMaps, this.layerBox),
      this.section('compare', t.compare, this.compareBox),
    );
    this.rpc.on('snapshot', (s) => this.onSnapshot(s));
    this.rpc.on('result', (r) => this.onResult(r.runId, r.explanation));
    this.rpc.on('heatmap', ({ runId, heatmap, display, tokens }) => {
      if (!this.result) return;
      const was = this.result.explanation;
      this.result = { runId, explanation: { ...was, heatmap, display, ...(was.tokens && tokens ? { tokens: { ...was.tokens, heatmap: tokens } } : {}) } };
      this.drawResult();
    });
    this.rpc.on('progress', ({ stage }) => this.setStatus(`${t.working} ${stage}`, true));
    this.rpc.on('error', ({ message }) => this.showError(message));
    this.rpc.on('layerMaps', (m) => {
      this.layerMaps = m;
      this.ui.selectedLayer = m.layer;
      this.openSection('layer');
      replaceKeepingFocus(this.layerBox, layerMapsView(m, (perMapScale) => this.rpc.emit('selectLayer', { layer: m.layer, perMapScale })));
      this.renderTable();
    });
    this.rpc.on('compare', (c) => {
      this.comparison = c;
      this.openSection('compare');
      this.renderCompare();
    });
    // a test hook: obeyed only when the host says its test-hooks switch is on (never in a user's VS Code)
    this.rpc.on('drive', ({ control, value }) => {
      if (this.snap?.testHooks) this.drive(control, value);
      else console.warn(format('[relevance-lens] drive ignored: test hooks are off ({0})', control));
    });
    // The sticky toolbar's height (it wraps on narrow panels) for the page's scroll-padding.
    new ResizeObserver(() => document.documentElement.style.setProperty('--rl-toolbar-h', `${this.toolbar.offsetHeight}px`)).observe(this.toolbar);
    this.render();
    console.log(`[relevance-lens] webview ready at ${performance.now().toFixed(0)}`);
    this.rpc.emit('ready', { protocol: PROTOCOL_VERSION });
  }

  private section(id: string, title: string, body: HTMLElement): HTMLElement {
    const d = h('details', { id, open: this.ui.open[id] ?? false }, h('summary', { 'data-control': `section:${id}` }, title), body);
    d.addEventListener('toggle', () => {
      this.ui.open[id] = d.open;
      saveUiState(this.ui);
    });
    return d;
  }

  private openSection(id: string): void {
    const d = this.root.querySelector<HTMLDetailsElement>(`details#${id}`);
    if (d && !d.open) d.open = true;
  }

  private onSnapshot(s: PanelSnapshot): void {
    this.snap = s;
    this.render();
    if (!s.busy) this.setStatus('', false);
  }

  private onResult(runId: number, ex: ShownExplanation): void {
    this.resultAt = performance.now();
    this.result = { runId, explanation: ex };
    this.hideError();
    this.setStatus('', false);
    this.render();
  }

  /**
   * True when a section's inputs differ from the last time it was rendered. Snapshots arrive often
   * (every state change); rebuilding unchanged sections costs the user latency and focus.
   */
  private changed(section: string, ...inputs: unknown[]): boolean {
    const key = JSON.stringify(inputs, (_k, v) => (v instanceof Uint8ClampedArray ? v.length : v));
    if (this.renderKeys.get(section) === key) return false;
    this.renderKeys.set(section, key);
    return true;
  }

  private render(): void {
    const s = this.snap;
    const ex = this.result?.explanation;
    if (this.changed('toolbar', s?.model?.name, s?.model?.composites, s?.model?.outputShape, s?.model?.labels, s?.imagePath, s?.method, s?.methodParams, s?.composite, s?.targetClass, !!ex)) {
      this.renderToolbar();
    }
    if (!s) return;
    this.empty.textContent = !s.model ? t.noModel : !this.result ? t.noImage : '';
    this.empty.hidden = !!this.result && !!s.model;
    if (this.changed('display', s.display)) {
      replaceKeepingFocus(this.displayBox, displayControls(s.display, (d, recolour) => this.onDisplay(d, recolour)));
    }
    if (this.changed('params', s.params)) {
      replaceKeepingFocus(this.paramsBox, paramControls(s.params, (params) => this.userAction('setParams', { params })));
    }
    if (this.changed('compare', s.compareMethods)) this.renderCompare();
    if (!this.layerMaps && this.changed('layer', 'empty')) replaceKeepingFocus(this.layerBox, layerMapsView(undefined));
    this.drawResult();
  }

  private renderToolbar(): void {
    const s = this.snap;
    const ex = this.result?.explanation;
    const model = s?.model;
    const numClasses = model?.outputShape[model.outputShape.length - 1] ?? 0;
    replaceKeepingFocus(this.toolbar,
      h('div', { class: 'title' },
        h('strong', {}, model?.name ?? '—'),
        h('span', { class: 'image-name' }, s?.imagePath ? s.imagePath.split(/[\\/]/).pop()! : ''),
        h('button', { class: 'secondary', 'data-control': 'pick-image', onclick: () => this.rpc.emit('pickImage', {}) }, t.pickImage)),
      h('div', { class: 'pickers' },
        methodPicker(s?.method ?? SETTING_DEFAULTS.defaultMethod, (method) => this.userAction('setMethod', { method })),
        s ? methodParamControls(s.method, s.methodParams, (methodParams) => this.userAction('setMethodParams', { methodParams })) : null,
        compositePicker(model?.composites ?? [s?.composite ?? ''], s?.composite ?? '', (s?.method ?? 'lrp') === 'lrp', (composite) => this.userAction('setComposite', { composite })),
        model ? classPicker(numClasses, model.labels, s?.targetClass ?? 'top', (targetClass) => this.userAction('setTarget', { targetClass })) : null),
      h('div', { class: 'exports' },
        (['png', 'heatmap-png', 'npy', 'json'] as const).map((kind) => h('button', {
          class: 'secondary', disabled: !ex, 'data-control': `export:${kind}`, onclick: () => this.rpc.emit('export', { kind }),
        }, { png: t.exportPng, 'heatmap-png': t.exportHeatmapPng, npy: t.exportNpy, json: t.exportJson }[kind]))));
  }

  private onDisplay(display: DisplayOptions, recolour: boolean): void {
    if (this.snap) this.snap = { ...this.snap, display };
    // The controls already show this; the echoing snapshot must not rebuild them mid-drag.
    this.changed('display', display);
    this.heatmap.setOpacity(display.opacity);
    for (const c of this.root.querySelectorAll<HTMLCanvasElement>('.mini .layer-heat')) {
      if (c.previousElementSibling) c.style.opacity = String(display.opacity);
    }
    if (recolour) {
      const p = this.root.querySelector<HTMLInputElement>('[data-control="percentile"]');
      if (p) p.disabled = display.scale !== 'percentile';
    }
    if (recolour) this.userAction('setDisplay', { display });
    else this.rpc.emit('setDisplay', { display }); // opacity: applied above, nothing to wait for
  }

  private drawResult(): void {
    const r = this.result;
    const s = this.snap;
    this.heatmap.el.hidden = !r;
    if (!r || !s) {
      this.side.replaceChildren();
      this.tableBox.replaceChildren();
      return;
    }
    const ex = r.explanation;
    const fresh = this.reported !== r;
    const t0 = performance.now();
    const drawn = fresh ? this.heatmap.show(ex.input, ex.heatmap, s.display.opacity, ex.tokens, this.ui.heatmapView) : undefined;
    const t1 = performance.now();
    if (this.changed('side', r.runId, ex.prediction, ex.target, ex.inputRelevanceSum, ex.timings, s.busy, s.model?.defaultComposite)) {
      const kept = ex.inputRelevanceSum / (ex.target.logit || 1);
      const def = s.model?.defaultComposite;
      const offer = def ? biasFreeOffer(ex.composite, kept, def.name, s.model?.composites ?? []) : undefined;
      replaceKeepingFocus(this.side,
      offer ? h('p', { class: 'notice', role: 'status', 'data-testid': 'low-kept' },
        h('span', {}, format(t.lowKept, `${(100 * kept).toPrecision(2)} %`)), ' ',
        h('button', { 'data-control': 'use-bias-free', onclick: () => this.userAction('setComposite', { composite: offer }) }, format(t.useBiasFree, offer))) : '',
      h('h2', {}, t.predictions),
      predictionList(ex.prediction, ex.target.class, ex.scoresAreProbabilities, (cls) => this.userAction('setTarget', { targetClass: cls })),
      h('dl', { class: 'facts' },
        h('dt', {}, t.targetClass), h('dd', {}, `${ex.target.label ?? ex.target.class} (${t.logit} ${fmtNum(ex.target.logit)})`),
        ex.composite ? [h('dt', {}, t.compositeUsed), h('dd', { 'data-testid': 'composite-used', class: 'wrap' },
          ex.composite, ex.spec.composite === 'auto' && def ? h('span', { class: 'hint' }, ` (${t.compositeAuto}: ${def.reason})`) : '')] : '',
        h('dt', {}, t.inputRelevance), h('dd', { 'data-testid': 'input-sum' }, `${fmtNum(ex.inputRelevanceSum)} (${fmtNum(ex.inputRelevanceSum / (ex.target.logit || 1))} × ${t.logit})`),
        h('dt', {}, t.timings), h('dd', {}, `${fmtNum(ex.timings.totalMs ?? 0)} ms · ${t.backend} ${ex.backend}`)),
      s.busy ? h('button', { 'data-control': 'cancel', onclick: () => this.rpc.emit('cancel', {}) }, t.cancel) : '');
    }
    const t2 = performance.now();
    this.renderTable();
    const t3 = performance.now();
    if (!fresh || !drawn) return;
    this.reported = r;
    const sinceInputMs = this.inputAt !== undefined ? performance.now() - this.inputAt : undefined;
    this.inputAt = undefined;
    this.rpc.emit('rendered', {
      sinceInputMs,
      runId: r.runId, width: drawn.width, height: drawn.height, view: drawn.view, tokenFigures: this.heatmap.tokenFigures(),
      rgba: s.reportPixels ? Array.from(drawn.rgba) : [], table: tableText(this.tableBox.querySelector('table')),
      figures: [...this.tableBox.querySelectorAll('.method-figures div')].map((d) => (d.textContent ?? '').trim()),
      method: ex.spec.method, targetClass: ex.target.class,
      pageMs: { sinceResult: performance.now() - (this.resultAt ?? t0), heatmap: t1 - t0, table: t3 - t2 },
    });
    console.log(`[relevance-lens] webview rendered run ${r.runId} at ${performance.now().toFixed(0)}`);
  }

  private renderTable(): void {
    const ex = this.result?.explanation;
    const s = this.snap;
    if (!ex || !s) return;
    if (!this.changed('table', this.result?.runId, ex.layers, ex.spec.method, s.model?.layers, s.balanceTolerance, this.ui.selectedLayer, this.ui.onlyLeaking)) return;
    const mf = methodFigures({ method: ex.spec.method, inputRelevanceSum: ex.inputRelevanceSum, logit: ex.target.logit, extra: ex.extra, layers: ex.layers });
    const figures = h('dl', { class: 'method-figures', 'data-testid': 'method-figures' },
      mf.figures.map((f) => h('div', {}, h('dt', {}, `${f.label}:`), ' ', h('dd', {}, f.value))));
    const note = h('p', { class: 'hint' }, mf.note);
    // the per-layer table only where relevance is conserved: other methods show their own figures
    if (!mf.conservation) {
      replaceKeepingFocus(this.tableBox, h('div', {}, figures, note));
      return;
    }
    const options: TableOptions = {
      rows: ex.layers, layers: s.model?.layers ?? [], flagBalance: CONSERVATIVE_METHODS.includes(ex.spec.method),
      tolerance: s.balanceTolerance, selectedLayer: this.ui.selectedLayer, onlyLeaking: this.ui.onlyLeaking,
      onOnlyLeaking: (only) => {
        this.ui.onlyLeaking = only;
        saveUiState(this.ui);
        this.renderTable();
      },
      onRule: (layer, rule) => this.userAction('setRule', { layer, rule }),
      onSelect: (layer) => {
        this.ui.selectedLayer = layer;
        saveUiState(this.ui);
        this.rpc.emit('selectLayer', { layer });
      },
    };
    const view = this.tableBox.querySelector('.conservation-view');
    if (view && updateConservationView(view, options)) {
      // the figures and their note above the table: replaced when they change
      replaceIfChanged(this.tableBox.querySelector('.method-figures'), figures);
      replaceIfChanged(this.tableBox.querySelector(':scope > p.hint'), note);
      return;
    }
    replaceKeepingFocus(this.tableBox, figures, note, conservationView(options));
  }

  private renderCompare(): void {
    const s = this.snap;
    if (!s) return;
    replaceKeepingFocus(this.compareBox, compareView(this.comparison, s.compareMethods, s.display.opacity, (methods) => this.rpc.emit('compare', { methods })));
  }

  private setStatus(text: string, busy: boolean): void {
    this.status.textContent = text;
    this.status.classList.toggle('busy', busy);
  }

  private showError(message: string): void {
    this.setStatus('', false);
    this.alert.replaceChildren(h('span', {}, message), h('button', { class: 'secondary', 'aria-label': 'Dismiss', onclick: () => this.hideError() }, '×'));
    this.alert.hidden = false;
  }

  private hideError(): void {
    this.alert.hidden = true;
  }

  /** A user action that leads to a new picture: starts the input -> heatmap latency clock. */
  private userAction<K extends 'setMethod' | 'setMethodParams' | 'setComposite' | 'setRule' | 'setParams' | 'setTarget' | 'setDisplay'>(name: K, data: ViewToHost['events'][K]): void {
    this.inputAt = performance.now();
    this.rpc.emit(name, data);
  }

  /** Test hook: set a control's value and fire the events a user's input would. */
  private drive(control: string, value: string): void {
    if (control === 'page' && value === 'top') {
      window.scrollTo(0, 0);
      return;
    }
    const el = this.root.querySelector<HTMLElement>(`[data-control="${CSS.escape(control)}"]`);
    if (!el) {
      console.warn(format('[relevance-lens] drive: no control {0}', control));
      return;
    }
    el.focus();
    if (value === 'scroll') {
      el.scrollIntoView({ block: 'start' });
      return;
    }
    if (el instanceof HTMLButtonElement) {
      el.click();
      return;
    }
    if (el instanceof HTMLInputElement && el.type === 'checkbox') el.checked = value === 'true';
    else (el as HTMLInputElement | HTMLSelectElement).value = value;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }
}
