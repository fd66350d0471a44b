/**
 * The data-set gallery: SpRAy clusters (average heatmap + members, most unusual first) and the most
 * changed images of compare-runs side by side. Draws the pixels the engine coloured; a click on an
 * image asks the host to open its explanation. All text comes from the host (localized).
 */
import { PROTOCOL_VERSION, RpcEndpoint } from '../../src/shared/protocol';
import type { GalleryContent, GalleryHostToView, GalleryTile, GalleryViewToHost, PngDataUrl } from '../../src/shared/datasetProtocol';
import { GALLERY_STRINGS, type GalleryStrings } from '../../src/shared/galleryStrings';
import { fmtNum, format, h } from '../dom';
import { transport, vscode } from '../vscodeApi';

function loadStrings(): GalleryStrings {
  try {
    const text = document.getElementById('rl-strings')?.textContent;
    return { ...GALLERY_STRINGS, ...(text ? (JSON.parse(text) as Partial<GalleryStrings>) : {}) };
  } catch {
    return { ...GALLERY_STRINGS };
  }
}

const baseName = (p: string): string => p.split(/[\\/]/).pop() ?? p;

export class GalleryView {
  private readonly rpc = new RpcEndpoint<GalleryViewToHost, GalleryHostToView>(transport);
  private readonly t = loadStrings();

  constructor(private readonly root: HTMLElement) {
    this.rpc.on('show', (c) => this.render(c));
    this.rpc.on('error', ({ message }) => this.root.replaceChildren(h('p', { class: 'error', role: 'alert' }, message)));
    this.root.replaceChildren(h('p', { class: 'muted' }, this.t.empty));
    this.rpc.emit('ready', { protocol: PROTOCOL_VERSION });
  }

  private image(png: PngDataUrl, cls: string, label: string): HTMLImageElement {
    // only the engine's PNG data URLs (the CSP allows img-src data:)
    return h('img', { class: cls, src: png.startsWith('data:image/png;base64,') ? png : '', alt: label });
  }

  private member(model: string, m: GalleryTile): HTMLElement {
    return h('button', {
      class: 'tile', title: m.rel, 'aria-label': format(this.t.open, m.rel), 'data-file': m.file,
      onclick: () => this.rpc.emit('openImage', { model, file: m.file }),
    }, this.image(m.png, 'heat small', m.rel));
  }

  private render(c: GalleryContent): void {
    const t = this.t;
    const parts: HTMLElement[] = [];
    let clusters = 0;
    let pairs = 0;
    if (c.spray) {
      const s = c.spray;
      clusters = s.clusters.length;
      parts.push(h('section', { class: 'spray', 'aria-label': t.sprayHeading },
        h('h2', {}, t.sprayHeading),
        h('p', { class: 'muted' }, format(t.sprayIntro, baseName(s.run), baseName(s.model.replace(/[\\/]model\.json$/, '')), s.clusters.length, s.classes.length)),
        ...s.clusters.map((k, rank) => h('article', { class: 'cluster', 'data-rank': rank + 1 },
          h('header', {},
            h('h3', {}, `${rank + 1}. ${format(t.clusterTitle, `${k.class}${k.label !== undefined ? ` (${k.label})` : ''}`, k.cluster)}`),
            h('span', { class: 'muted' }, format(t.clusterStats, k.size, (100 * k.fraction).toFixed(1), fmtNum(k.unusualness)))),
          h('div', { class: 'cluster-body' },
            h('figure', { class: 'average' }, this.image(k.mean, 'heat large', t.average), h('figcaption', {}, t.average)),
            h('div', { class: 'members' }, ...k.members.map((m) => this.member(s.model, m)),
              k.omitted > 0 ? h('span', { class: 'muted more' }, format(t.more, k.omitted)) : null))))));
    }
    if (c.compare) {
      const r = c.compare;
      pairs = r.pairs.length;
      parts.push(h('section', { class: 'compare', 'aria-label': t.compareHeading },
        h('h2', {}, t.compareHeading),
        h('p', { class: 'muted' }, format(t.compareIntro, baseName(r.runA), baseName(r.modelA.replace(/[\\/]model\.json$/, '')), baseName(r.runB),
          baseName(r.modelB.replace(/[\\/]model\.json$/, '')), r.compared, fmtNum(r.meanRho), fmtNum(r.medianRho), fmtNum(r.minRho), r.predictionChanges)),
        h('div', { class: 'pairs' }, ...r.pairs.map((p) => h('article', { class: `pair${p.predictionChanged ? ' changed' : ''}` },
          h('h3', {}, format(t.pairTitle, p.rel, fmtNum(p.rho), p.predictedA, p.predictedB)),
          h('div', { class: 'side-by-side' },
            h('figure', {}, this.member(r.modelA, p.a), h('figcaption', {}, t.runA)),
            h('figure', {}, this.member(r.modelB, p.b), h('figcaption', {}, t.runB))))))));
    }
    this.root.replaceChildren(...(parts.length ? parts : [h('p', { class: 'muted' }, t.empty)]));
    vscode.setState(null);
    this.rpc.emit('rendered', { clusters, pairs });
  }
}
