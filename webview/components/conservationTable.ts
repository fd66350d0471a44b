/**
 * The per-layer conservation table, with the rule picker of every layer that takes a rule. A rule is
 * a name plus an optional parameter field (`0.25` for ε, `2,1` for α,β, `nobias` for z⁺, `-1,1` for z^B,
 * `origin` for Deep Taylor); the text is checked with the engine's own parser before it is sent.
 */
import { isUnbalanced, leakExplained, type ConservationRow, type LayerInfo } from '../../src/shared/protocol';
import { parseRule } from '../../src/shared/ruleSpec';
import { fmtNum, h, option } from '../dom';
import { t } from '../strings';

export interface TableOptions {
  rows: ConservationRow[];
  layers: LayerInfo[];
  flagBalance: boolean;
  tolerance: number;
  selectedLayer?: string;
  onRule(layer: string, rule: string): void;
  onSelect(layer: string): void;
}

const PARAM_HINT: Record<string, string> = {
  epsilon: 'ε', gamma: 'γ', 'alpha-beta': 'α,β', 'z-plus': 'bias|nobias', 'z-box': 'low,high', 'deep-taylor': 'nearest|origin|lrp|bounded',
};

function rulePicker(layer: LayerInfo, onRule: (layer: string, rule: string) => void): HTMLElement {
  const [name, param = ''] = layer.overridden ? splitRule(layer.rule) : ['', ''];
  const input = h('input', {
    type: 'text', class: 'rule-param', value: param, size: 7, 'data-control': `rule-param:${layer.name}`,
    'aria-label': `${t.rule} ${layer.name}: ${PARAM_HINT[name] ?? ''}`, placeholder: PARAM_HINT[name] ?? '',
    disabled: !PARAM_HINT[name],
  });
  const select = h('select', { 'data-control': `rule:${layer.name}`, 'aria-label': `${t.rule} ${layer.name}` },
    option('', `${t.ruleFromComposite} ${layer.overridden ? '' : layer.rule}`.trim(), !layer.overridden),
    layer.rules.map((r) => option(r, r, layer.overridden && r === name)));
  const error = h('span', { class: 'rule-error', role: 'status' });
  const commit = (fromSelect: boolean) => {
    const rule = select.value;
    if (fromSelect) {
      input.value = '';
      input.placeholder = PARAM_HINT[rule] ?? '';
      input.disabled = !PARAM_HINT[rule];
    }
    const text = rule === '' ? '' : input.value.trim() ? `${rule}:${input.value.trim()}` : rule;
    try {
      if (text) parseRule(text);
      input.removeAttribute('aria-invalid');
      error.textContent = '';
      onRule(layer.name, text);
    } catch (e) {
      input.setAttribute('aria-invalid', 'true');
      error.textContent = (e as Error).message;
    }
  };
  select.addEventListener('change', () => commit(true));
  input.addEventListener('change', () => commit(false));
  return h('span', { class: 'rule-picker' }, select, input, error);
}

function splitRule(text: string): [string, string] {
  const i = text.indexOf(':');
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)];
}

export function conservationTable(o: TableOptions): HTMLElement {
  const byName = new Map(o.layers.map((l) => [l.name, l]));
  const detail = o.rows.some((r) => r.biasLeak !== undefined || r.stabilizerLeak !== undefined);
  const cols = [t.layer, t.op, t.rule, t.outputSum, t.inputSum, t.ratio, t.balance, t.absorbed, ...(detail ? [t.biasLeak, t.stabilizerLeak] : [])];
  const head = h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)));
  const leak = (v: number | undefined) => h('td', { class: 'num' }, v === undefined ? '' : fmtNum(v));
  const body = o.rows.map((row) => {
    const layer = byName.get(row.name);
    const off = o.flagBalance && isUnbalanced(row, o.tolerance);
    // An imbalance the rule's own closed form accounts for (bias, ε) is expected; anything else is flagged.
    const explained = off && leakExplained(row, o.tolerance);
    const flagged = off && !explained;
    const badge = !o.flagBalance ? '–'
      : flagged ? h('span', { class: 'badge warn' }, `⚠ ${t.unbalanced}`)
        : explained ? h('span', { class: 'badge info' }, t.leakByRule) : h('span', { class: 'badge ok' }, t.balanced);
    return h('tr', { class: `${flagged ? 'unbalanced' : ''}${o.selectedLayer === row.name ? ' selected' : ''}`, 'data-layer': row.name },
      h('th', { scope: 'row' }, h('button', {
        class: 'link', 'data-control': `select:${row.name}`, onclick: () => o.onSelect(row.name), title: t.layerMaps,
      }, row.name)),
      h('td', {}, row.op),
      h('td', { class: 'rule' }, layer?.ruleable ? rulePicker({ ...layer, rule: layer.overridden ? layer.rule : row.rule || layer.rule }, o.onRule) : row.rule),
      h('td', { class: 'num' }, fmtNum(row.outputRelevanceSum)),
      h('td', { class: 'num' }, fmtNum(row.inputRelevanceSum)),
      h('td', { class: 'num' }, fmtNum(row.ratio)),
      h('td', { class: 'flag' }, badge),
      h('td', { class: 'num' }, fmtNum(row.outputRelevanceSum - row.inputRelevanceSum)),
      ...(detail ? [leak(row.biasLeak), leak(row.stabilizerLeak)] : []));
  });
  return h('table', { class: 'conservation' }, h('thead', {}, head), h('tbody', {}, body));
}

/** The text of every cell, as drawn (reported back to the tests). */
export function tableText(table: HTMLElement | null): string[][] {
  if (!table) return [];
  return [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((c) => {
    const sel = c.querySelector('select');
    if (sel) {
      const param = (c.querySelector('input') as HTMLInputElement | null)?.value;
      return sel.value ? (param ? `${sel.value}:${param}` : sel.value) : (sel.selectedOptions[0]?.textContent ?? '');
    }
    return (c.textContent ?? '').trim();
  }));
}
