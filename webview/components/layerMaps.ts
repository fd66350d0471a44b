/**
 * Relevance arriving at one layer's output, one small map per channel (strongest |sum| first), each
 * with its sum. One colour scale for all maps by default (its bar above the grid), so their strengths
 * compare; the checkbox scales each map on its own (then each gets its bar).
 */
import type { LayerMaps } from '../../src/shared/protocol';
import { fmtNum, format, h } from '../dom';
import { t } from '../strings';
import { colourBar, miniFigure } from './heatmapView';

export function layerMapsView(maps: LayerMaps | undefined, onScale?: (perMap: boolean) => void): HTMLElement {
  if (!maps) return h('p', { class: 'hint' }, t.layerMapsHint);
  const perMap = maps.scale === 'per-map';
  const toggle = h('input', {
    type: 'checkbox', checked: perMap, 'data-control': 'per-map-scale', onchange: () => onScale?.(toggle.checked),
  });
  return h('div', {},
    h('p', {}, `${maps.layer} [${maps.shape.join('×')}]`),
    h('div', { class: 'controls' },
      h('label', { class: 'check' }, toggle, t.perMapScale),
      perMap ? null : h('span', { class: 'field-inline' }, h('span', { class: 'hint' }, t.sharedScale), colourBar(maps.legend, maps.vmax, true))),
    h('div', { class: 'grid' }, maps.channels.map((c) => miniFigure(`${t.channel} ${c.index} · Σ ${fmtNum(c.sum)}`, c.picture, 1, undefined, undefined,
      perMap ? { legend: maps.legend, vmax: c.vmax } : undefined))),
    maps.omitted > 0 ? h('p', { class: 'hint' }, format(t.moreChannels, maps.omitted)) : null);
}
