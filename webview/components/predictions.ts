/** Top-5 predictions as buttons (explain that class) and the class picker (any class, or the top one). */
import type { Prediction } from '../../src/shared/protocol';
import { h, option } from '../dom';
import { fmt, fmtProbability } from '../../src/shared/methodFigures';
import { t } from '../strings';

function bar(fraction: number): HTMLElement {
  const el = h('span', { class: 'bar' });
  // CSSOM, not a style attribute: the page's CSP allows no inline styles.
  el.style.setProperty('--frac', String(Math.max(0, Math.min(1, fraction))));
  return el;
}

/** Scores in the CLI's one format: probabilities as percentages, logits as numbers. */
export function predictionList(preds: Prediction[], explained: number, probabilities: boolean, onPick: (cls: number) => void): HTMLElement {
  const max = Math.max(...preds.map((p) => Math.abs(p.score)), 1e-12);
  return h('ol', { class: 'predictions', 'aria-label': t.predictions },
    preds.map((p) => h('li', {},
      h('button', {
        class: `prediction${p.class === explained ? ' explained' : ''}`, 'data-control': `prediction:${p.class}`,
        'aria-pressed': String(p.class === explained), onclick: () => onPick(p.class),
      },
      h('span', { class: 'label' }, p.label ? `${p.label} (${p.class})` : `#${p.class}`),
      bar(p.score / max),
      h('span', { class: 'score' }, probabilities ? fmtProbability(p.score) : fmt(p.score))))));
}

export function classPicker(numClasses: number, labels: string[] | undefined, target: number | 'top', onPick: (cls: number | 'top') => void): HTMLElement {
  const sel = h('select', { id: 'class', 'data-control': 'class', onchange: () => onPick(sel.value === 'top' ? 'top' : Number(sel.value)) },
    option('top', t.topClass, target === 'top'),
    Array.from({ length: numClasses }, (_, c) => option(String(c), labels?.[c] ? `${c}: ${labels[c]}` : String(c), target === c)));
  return h('label', { class: 'field' }, h('span', {}, t.targetClass), sel);
}
