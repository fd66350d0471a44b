/**
 * The input with the engine's heatmap on top. Two stacked canvases at the model's resolution, scaled
 * up by CSS with pixelated rendering; opacity is the heat canvas's CSS opacity, so the heatmap pixels
 * stay exactly what the engine computed (and can be read back for the tests). A vision transformer's
 * explanation also has a per-patch-token map (one pixel per patch, stretched over the same input):
 * a selector switches the heat canvas between the two.
 */
import type { HeatmapPicture, HeatmapViewKind, LegendPicture, RgbaPicture, TokenRelevance } from '../../src/shared/protocol';
import { drawPicture, fmtNum, format, h, option } from '../dom';
import { t } from '../strings';

export class HeatmapView {
  readonly el: HTMLElement;
  private readonly input = h('canvas', { class: 'layer-input', 'aria-hidden': 'true' });
  private readonly heat = h('canvas', { class: 'layer-heat', role: 'img', 'aria-label': t.heatmapAlt });
  private readonly legend = h('canvas', { class: 'legend-bar', 'aria-hidden': 'true' });
  private readonly vmin = h('span', { class: 'legend-min' });
  private readonly vmax = h('span', { class: 'legend-max' });

  private readonly viewBox = h('div', { class: 'view-picker', hidden: true });
  private readonly tokenFacts = h('dl', { class: 'token-facts', 'data-testid': 'token-facts', hidden: true });

  /** `onView`: the user picked the pixel or the token map (the page redraws and remembers it). */
  constructor(private readonly onView: (view: HeatmapViewKind) => void) {
    this.el = h('figure', { class: 'heatmap' },
      this.viewBox,
      h('div', { class: 'stack' }, this.input, this.heat),
      h('figcaption', { class: 'legend' }, this.vmin, this.legend, this.vmax),
      this.tokenFacts);
  }

  /**
   * Draws and returns the heatmap pixels as the canvas now holds them: the input relevance, or with
   * `view` 'tokens' (and tokens present) the per-patch map. Returns the view actually drawn.
   */
  show(input: RgbaPicture, pixels: HeatmapPicture, opacity: number, tokens?: TokenRelevance, view: HeatmapViewKind = 'pixels'): { rgba: Uint8ClampedArray; view: HeatmapViewKind; width: number; height: number } {
    const shown: HeatmapViewKind = tokens && view === 'tokens' ? 'tokens' : 'pixels';
    const heat = shown === 'tokens' ? tokens!.heatmap : pixels;
    this.showTokenControls(tokens, shown);
    drawPicture(this.input, input);
    const ctx = drawPicture(this.heat, heat);
    this.heat.setAttribute('aria-label', shown === 'tokens' ? t.tokenHeatmapAlt : t.heatmapAlt);
    this.heat.dataset.view = shown;
    this.setOpacity(opacity);
    if (heat.legend) drawPicture(this.legend, heat.legend);
    [this.vmin.textContent, this.vmax.textContent] = legendLabels(heat.legend, heat.vmax);
    this.legend.title = `${t.legendNegative} … ${t.legendPositive}`;
    // Side: the longer image side is shown at up to 320 CSS px, keeping the aspect ratio.
    const scale = Math.max(1, Math.floor(320 / Math.max(input.width, input.height)));
    (this.el.querySelector('.stack') as HTMLElement).style.setProperty('--w', `${input.width * scale}px`);
    (this.el.querySelector('.stack') as HTMLElement).style.setProperty('--h', `${input.height * scale}px`);
    return { rgba: ctx.getImageData(0, 0, heat.width, heat.height).data, view: shown, width: heat.width, height: heat.height };
  }

  /** The figures under the token view as drawn ('label: value'). */
  tokenFigures(): string[] {
    if (this.tokenFacts.hidden) return [];
    return [...this.tokenFacts.querySelectorAll('div')].map((d) => (d.textContent ?? '').trim());
  }

  private showTokenControls(tokens: TokenRelevance | undefined, shown: HeatmapViewKind): void {
    this.viewBox.hidden = !tokens;
    this.tokenFacts.hidden = !tokens || shown !== 'tokens';
    if (!tokens) {
      this.viewBox.replaceChildren();
      this.tokenFacts.replaceChildren();
      return;
    }
    const [rows, cols] = tokens.grid;
    const select = h('select', { 'data-control': 'heatmap-view', 'aria-label': t.heatmapView, onchange: () => this.onView(select.value as HeatmapViewKind) },
      option('pixels', t.viewPixels, shown === 'pixels'), option('tokens', format(t.viewTokens, rows, cols), shown === 'tokens'));
    const hadFocus = this.viewBox.contains(document.activeElement);
    this.viewBox.replaceChildren(h('label', {}, `${t.heatmapView} `, select));
    if (hadFocus) select.focus();
    let sum = 0;
    for (const v of tokens.values) sum += v;
    this.tokenFacts.replaceChildren(
      h('div', {}, h('dt', {}, `${t.patchTokensSum} Σ R:`), ' ', h('dd', {}, fmtNum(sum))),
      tokens.classToken !== undefined ? h('div', {}, h('dt', {}, `${t.classToken} R:`), ' ', h('dd', {}, fmtNum(tokens.classToken))) : '');
  }

  setOpacity(opacity: number): void {
    this.heat.style.opacity = String(opacity);
  }
}

/** A colour bar (the colormap from −vmax to +vmax) with its end values. */
/** The values at a colour bar's ends: ±vmax, or 0 at the end a one-sided polarity leaves out. */
function legendLabels(legend: LegendPicture | undefined, vmax: number): [string, string] {
  const end = (k: number) => (k === 0 ? '0' : `${k < 0 ? '−' : '+'}${fmtNum(vmax)}`);
  return [end(legend?.low ?? -1), end(legend?.high ?? 1)];
}

export function colourBar(legend: LegendPicture | undefined, vmax: number, wide = false): HTMLElement {
  const bar = h('canvas', { class: `legend-bar${wide ? '' : ' small'}`, 'aria-hidden': 'true' });
  if (legend) drawPicture(bar, legend);
  const [low, high] = legendLabels(legend, vmax);
  return h('span', { class: 'legend', 'data-testid': 'colour-bar' }, h('span', {}, low), bar, h('span', {}, high));
}

/** A small input+heatmap figure for the compare and layer views; `bar` adds its colour bar. */
export function miniFigure(
  caption: string, heat: RgbaPicture, opacity: number, input?: RgbaPicture, title?: string, bar?: { legend?: LegendPicture; vmax: number },
): HTMLElement {
  const heatCanvas = h('canvas', { class: 'layer-heat' });
  drawPicture(heatCanvas, heat);
  heatCanvas.style.opacity = input ? String(opacity) : '1';
  const stack = h('div', { class: 'stack mini' });
  if (input) {
    const inputCanvas = h('canvas', { class: 'layer-input' });
    drawPicture(inputCanvas, input);
    stack.append(inputCanvas);
  }
  stack.append(heatCanvas);
  const scale = Math.max(1, Math.floor(140 / Math.max(heat.width, heat.height)));
  stack.style.setProperty('--w', `${heat.width * scale}px`);
  stack.style.setProperty('--h', `${heat.height * scale}px`);
  return h('figure', { class: 'mini-figure', title }, stack, bar ? colourBar(bar.legend, bar.vmax) : null, h('figcaption', {}, caption));
}
