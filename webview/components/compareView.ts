/** Several methods side by side on the same image. */
import { METHOD_NAMES, type CompareEntry, type MethodId, type RgbaPicture } from '../../src/shared/protocol';
import { fmtNum, h } from '../dom';
import { t } from '../strings';
import { miniFigure } from './heatmapView';

export function compareView(
  result: { image: RgbaPicture; entries: CompareEntry[] } | undefined,
  chosen: MethodId[],
  opacity: number,
  onRun: (methods: MethodId[]) => void,
): HTMLElement {
  const boxes = METHOD_NAMES.map((m) => h('input', { type: 'checkbox', value: m, checked: chosen.includes(m), 'data-control': `compare:${m}` }));
  const run = h('button', {
    'data-control': 'compare-run',
    onclick: () => onRun(boxes.filter((b) => b.checked).map((b) => b.value as MethodId)),
  }, t.compareRun);
  const picker = h('fieldset', { class: 'compare-picker' }, h('legend', {}, t.method),
    METHOD_NAMES.map((m, i) => h('label', { class: 'check' }, boxes[i], m)), run);
  const grid = result
    ? h('div', { class: 'grid' }, result.entries.map((e) => e.heatmap
      ? miniFigure(`${e.method}${e.sum !== undefined ? ` · Σ ${fmtNum(e.sum)}` : ''}${e.ms !== undefined ? ` · ${e.ms.toFixed(0)} ms` : ''}`,
        e.heatmap, opacity, result.image, undefined, { legend: e.heatmap.legend, vmax: e.heatmap.vmax })
      : h('figure', { class: 'mini-figure error' }, h('figcaption', {}, `${e.method}: ${e.error ?? ''}`))))
    : null;
  return h('div', {}, picker, grid);
}
