/** Relevance arriving at one layer's output, one small map per channel (strongest |sum| first). */
import type { LayerMaps } from '../../src/shared/protocol';
import { fmtNum, format, h } from '../dom';
import { t } from '../strings';
import { miniFigure } from './heatmapView';

export function layerMapsView(maps: LayerMaps | undefined): HTMLElement {
  if (!maps) return h('p', { class: 'hint' }, t.layerMapsHint);
  return h('div', {},
    h('p', {}, `${maps.layer} [${maps.shape.join('×')}]`),
    h('div', { class: 'grid' }, maps.channels.map((c) => miniFigure(`${t.channel} ${c.index} · Σ ${fmtNum(c.sum)}`, c.picture, 1))),
    maps.omitted > 0 ? h('p', { class: 'hint' }, format(t.moreChannels, maps.omitted)) : null);
}
