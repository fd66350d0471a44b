/**
 * The data-set gallery: its own webview panel (SpRAy clusters, compare-runs' most changed images),
 * one instance, CSP `default-src 'none'` with a nonce like the explanation panel. It shows what the
 * engine worker computed; a click on an image opens that image's explanation with its run's model
 * (only images and models this panel was sent are accepted).
 */
import * as vscode from 'vscode';
import { PROTOCOL_VERSION, RpcEndpoint, type Transport, type Wire } from '../../shared/protocol';
import { isValidGalleryMessage, type GalleryContent, type GalleryHostToView, type GalleryViewToHost } from '../../shared/datasetProtocol';
import { GALLERY_STRINGS } from '../../shared/galleryStrings';
import type { Services } from '../services';
import { COMMANDS } from '../commands/commandIds';
import { traceTo } from '../log';
import { galleryHtml } from './panelHtml';

export const GALLERY_VIEW_TYPE = 'relevanceLens.gallery';

export class GalleryPanel {
  private static current?: GalleryPanel;
  private static readonly renderedEmitter = new vscode.EventEmitter<{ clusters: number; pairs: number }>();
  static readonly onDidRender = GalleryPanel.renderedEmitter.event;
  private readonly rpc: RpcEndpoint<GalleryHostToView, GalleryViewToHost>;
  private ready = false;
  private content: GalleryContent = {};
  /** model -> image files this panel was sent (the page may only open those) */
  private allowed = new Map<string, Set<string>>();

  static get instance(): GalleryPanel | undefined {
    return GalleryPanel.current;
  }

  /** Shows `content` (merged with what the gallery shows: a spray result and a comparison side by side). */
  static show(s: Services, content: GalleryContent): GalleryPanel {
    if (!GalleryPanel.current) {
      const panel = vscode.window.createWebviewPanel(GALLERY_VIEW_TYPE, vscode.l10n.t(GALLERY_STRINGS.title), vscode.ViewColumn.Active, {
        enableScripts: true,
        localResourceRoots: [vscode.Uri.joinPath(s.extensionUri, 'dist'), vscode.Uri.joinPath(s.extensionUri, 'media')],
      });
      GalleryPanel.current = new GalleryPanel(panel, s);
    }
    const g = GalleryPanel.current;
    g.panel.reveal(undefined, false);
    g.setContent({ ...g.content, ...content });
    return g;
  }

  private constructor(readonly panel: vscode.WebviewPanel, private readonly s: Services) {
    panel.iconPath = vscode.Uri.joinPath(s.extensionUri, 'media', 'lens.svg');
    const transport: Transport = {
      post: (m: Wire) => void panel.webview.postMessage(m),
      onMessage: (listener) => panel.webview.onDidReceiveMessage(listener),
    };
    this.rpc = new RpcEndpoint<GalleryHostToView, GalleryViewToHost>(transport, {
      validate: isValidGalleryMessage,
      onBadMessage: (m) => s.log.warn(`ignored a malformed message from the gallery: ${JSON.stringify(m).slice(0, 200)}`),
      trace: traceTo(s.log, 'gallery'),
    });
    this.rpc.on('ready', ({ protocol }) => {
      if (protocol !== PROTOCOL_VERSION) s.log.warn(`gallery protocol ${protocol}, host ${PROTOCOL_VERSION}`);
      this.ready = true;
      s.log.info('gallery page ready');
      this.send();
    });
    this.rpc.on('rendered', (r) => {
      s.log.info(`gallery drew ${r.clusters} clusters, ${r.pairs} pairs`);
      GalleryPanel.renderedEmitter.fire(r);
    });
    this.rpc.on('openImage', ({ model, file }) => void s.errors.wrap('Open Image from Gallery', () => this.openImage(model, file))());
    // a page that was hidden may have missed a 'show' (a reloaded one asks again with 'ready')
    panel.onDidChangeViewState((e) => {
      if (e.webviewPanel.visible && this.ready) this.send();
    });
    panel.onDidDispose(() => {
      if (GalleryPanel.current === this) GalleryPanel.current = undefined;
      this.rpc.dispose();
    });
    panel.webview.html = galleryHtml(panel.webview, s.extensionUri);
  }

  private setContent(content: GalleryContent): void {
    this.content = content;
    this.allowed = new Map();
    const allow = (model: string, file: string): void => {
      if (!this.allowed.has(model)) this.allowed.set(model, new Set());
      this.allowed.get(model)!.add(file);
    };
    for (const c of content.spray?.clusters ?? []) for (const m of c.members) allow(content.spray!.model, m.file);
    for (const p of content.compare?.pairs ?? []) {
      allow(content.compare!.modelA, p.a.file);
      allow(content.compare!.modelB, p.b.file);
    }
    if (this.ready) this.send();
  }

  /** The whole content, again on every reload, reveal and merge (pictures are PNG data URLs: strings). */
  private send(): void {
    this.rpc.emit('show', this.content);
  }

  /** Opens a shown image's explanation with the model of its run. */
  async openImage(model: string, file: string): Promise<void> {
    if (!this.allowed.get(model)?.has(file)) {
      this.s.log.warn(`gallery asked to open ${file} with ${model}, which it was not shown`);
      return;
    }
    if (this.s.session.model?.path !== model) await this.s.session.openModel(model);
    await vscode.commands.executeCommand(COMMANDS.explainImage, vscode.Uri.file(file));
  }

  dispose(): void {
    this.panel.dispose();
  }
}
