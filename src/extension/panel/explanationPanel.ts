/**
 * The explanation webview panel (one at a time, like extension-samples' createOrShow). The page only
 * renders; every action comes back here as a ViewToHost event, checked by the protocol's guards, and
 * turns into a state change plus a session call. A panel serializer restores it after a window reload;
 * the page then says `ready` and gets a snapshot and the explanation again.
 */
import * as vscode from 'vscode';
import {
  PROTOCOL_VERSION, RpcEndpoint, isValidViewMessage, type HostToView, type LayerMaps, type PanelSnapshot, type RenderReport,
  type Transport, type ViewToHost, type Wire,
} from '../../shared/protocol';
import { traceTo } from '../log';
import type { PanelDeps } from './panelDeps';
import { panelHtml } from './panelHtml';
import { PanelActions } from './panelActions';
import { readSettings } from '../config';
import { testHooksEnabled } from '../testHooksSwitch';

export const PANEL_VIEW_TYPE = 'relevanceLens.explanation';

export class ExplanationPanel implements vscode.Disposable {
  private static current?: ExplanationPanel;
  private static readonly renderedEmitter = new vscode.EventEmitter<RenderReport>();
  /** The webview drew a heatmap (tests read the pixels it reports). */
  static readonly onDidRender = ExplanationPanel.renderedEmitter.event;
  /** When set, the webview reports the pixels it draws (off by default: they are only for tests). */
  static reportPixels = false;
  /** Whether the page obeys `drive` (told in every snapshot): the test-hooks switch, never on in a user's VS Code. */
  static obeysDrive = testHooksEnabled();
  /** The last render the page reported, and when (Date.now()). */
  static lastRender?: { report: RenderReport; at: number };

  private readonly rpc: RpcEndpoint<HostToView, ViewToHost>;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private snapshotQueued = false;
  private lastRunId = 0;
  private readonly actions: PanelActions;

  static createOrShow(deps: PanelDeps): ExplanationPanel {
    if (ExplanationPanel.current) {
      ExplanationPanel.current.panel.reveal(undefined, true);
      return ExplanationPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, vscode.l10n.t('Relevance Lens'),
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, ExplanationPanel.options(deps.extensionUri));
    return (ExplanationPanel.current = new ExplanationPanel(panel, deps, false));
  }

  static get instance(): ExplanationPanel | undefined {
    return ExplanationPanel.current;
  }

  static registerSerializer(deps: PanelDeps): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel) => {
        panel.webview.options = ExplanationPanel.options(deps.extensionUri);
        ExplanationPanel.current?.panel.dispose();
        ExplanationPanel.current = new ExplanationPanel(panel, deps, true);
        deps.log.info('explanation panel restored');
      },
    });
  }

  private static options(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    // No retainContextWhenHidden: the page restores from setState and the snapshot instead (memory).
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    };
  }

  /** restored: revived by the serializer (window reload, reopened editor), not created by a command. */
  private constructor(readonly panel: vscode.WebviewPanel, private readonly deps: PanelDeps, readonly restored: boolean) {
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'lens.svg');
    const transport: Transport = {
      post: (m: Wire) => void panel.webview.postMessage(m),
      onMessage: (listener) => panel.webview.onDidReceiveMessage(listener),
    };
    this.rpc = new RpcEndpoint<HostToView, ViewToHost>(transport, {
      validate: isValidViewMessage,
      onBadMessage: (m) => deps.log.warn(`ignored a malformed message from the panel: ${JSON.stringify(m).slice(0, 200)}`),
      trace: traceTo(deps.log, 'panel'),
    });
    const actions = (this.actions = new PanelActions(deps, this));
    actions.bind(this.rpc);
    this.rpc.on('ready', ({ protocol }) => {
      if (protocol !== PROTOCOL_VERSION) deps.log.warn(`panel protocol ${protocol}, host ${PROTOCOL_VERSION}`);
      this.ready = true;
      this.snapshotQueued = true;
      this.flushSnapshot();
      actions.restore();
    });
    this.rpc.on('rendered', (r) => {
      ExplanationPanel.lastRender = { report: r, at: Date.now() };
      ExplanationPanel.renderedEmitter.fire(r);
    });
    const { session, state } = deps;
    this.disposables.push(
      this.rpc,
      session.onDidExplain(({ runId, explanation }) => {
        this.lastRunId = runId;
        // A page still loading gets the newest explanation from restore() on `ready`: posting it now
        // as well would queue a second copy (hundreds of KB for a 224² model) and draw it twice.
        if (!this.ready) return;
        const { relevance: _omit, ...shown } = explanation;
        this.flushSnapshot();
        this.rpc.emit('result', { runId, explanation: shown });
      }),
      session.onDidFail((e) => this.post('error', e)),
      session.onProgress((p) => this.post('progress', p)),
      session.onDidChangeModel(() => this.sendSnapshot()),
      session.onDidChangeBusy(() => this.sendSnapshot()),
      state.onDidChange(() => this.sendSnapshot()),
      panel.onDidDispose(() => this.dispose()),
    );
    panel.webview.html = panelHtml(panel.webview, deps.extensionUri);
  }

  get lastShownRunId(): number {
    return this.lastRunId;
  }

  snapshot(): PanelSnapshot {
    const { session, state } = this.deps;
    return {
      model: session.model,
      imagePath: state.imagePath,
      method: state.method,
      composite: state.composite,
      params: state.params,
      methodParams: state.methodParams,
      targetClass: state.targetClass,
      display: state.display,
      compareMethods: state.compareMethods,
      busy: session.busy,
      reportPixels: ExplanationPanel.reportPixels,
      testHooks: ExplanationPanel.obeysDrive,
      balanceTolerance: readSettings().balanceTolerance,
    };
  }

  /** Shows the relevance arriving at a layer, per channel. */
  showLayer(layer: string): Promise<LayerMaps | undefined> {
    this.panel.reveal(undefined, true);
    return this.actions.showLayer(layer);
  }

  /** Test hook: operates a control of the page as a user would. */
  drive(control: string, value: string): void {
    this.rpc.emit('drive', { control, value });
  }

  /**
   * Several state changes in a row (rule set, busy, model re-read) send one snapshot: each costs the
   * page a re-render. Anything else sent to the page flushes a queued snapshot first, so the page
   * never draws a result against stale state.
   */
  sendSnapshot(): void {
    if (!this.ready || this.snapshotQueued) return;
    this.snapshotQueued = true;
    setTimeout(() => this.flushSnapshot(), 0);
  }

  private flushSnapshot(): void {
    if (!this.snapshotQueued) return;
    this.snapshotQueued = false;
    this.rpc.emit('snapshot', this.snapshot());
  }

  post<K extends keyof HostToView['events'] & string>(name: K, data: HostToView['events'][K]): void {
    this.flushSnapshot();
    this.rpc.emit(name, data);
  }

  dispose(): void {
    if (ExplanationPanel.current === this) ExplanationPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
