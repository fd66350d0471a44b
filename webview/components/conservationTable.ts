/**
 * The per-layer conservation table, with the rule picker of every layer that takes a rule. A rule is
 * a name plus an optional parameter field (`0.25` for ε, `2,1` for α,β, `nobias` for z⁺, `-1,1` for z^B,
 * `origin` for Deep Taylor); the text is checked with the engine's own parser before it is sent.
 */
import { isUnbalanced, leakExplained, roundingFloor, rowClosure, rowResidual, type ConservationRow, type LayerInfo } from '../../src/shared/protocol';
import { parseRule } from '../../src/shared/ruleSpec';
import { fmtNum, format, h, option, replaceIfChanged, replaceKeepingFocus } from '../dom';
import { t } from '../strings';

export interface TableOptions {
  rows: ConservationRow[];
  layers: LayerInfo[];
  flagBalance: boolean;
  tolerance: number;
  selectedLayer?: string;
  /** show only the rows that leak (flagged or leaking by the rule's closed form) */
  onlyLeaking?: boolean;
  onRule(layer: string, rule: string): void;
  onSelect(layer: string): void;
  onOnlyLeaking?(only: boolean): void;
}

/** The row whose ratio is furthest from 1 (the worst leak), for "jump to worst row". */
export function worstRow(rows: ConservationRow[]): ConservationRow | undefined {
  let worst: ConservationRow | undefined;
  let d = -1;
  for (const r of rows) {
    const x = Number.isFinite(r.ratio) ? Math.abs(r.ratio - 1) : Infinity;
    if (x > d) [worst, d] = [r, x];
  }
  return worst;
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

/**
 * A picker's new state (the rule chosen, what "from composite" stands for) written into the one on the page
 * when it offers the same rules; false when it must be rebuilt. Rebuilding the picker the user just
 * operated meant moving focus to its successor, which has the page lay out all of a ResNet-50's table at
 * once, in the middle of the run (~0.1 s of the 2 cores at load 7, measured).
 */
function updatePicker(cell: Element, layer: LayerInfo): boolean {
  const select = cell.querySelector('select');
  const input = cell.querySelector<HTMLInputElement>('input.rule-param');
  const error = cell.querySelector('.rule-error');
  if (!select || !input || !error || select.options.length !== layer.rules.length + 1
    || layer.rules.some((r, i) => select.options[i + 1].value !== r)) return false;
  const [name, param = ''] = layer.overridden ? splitRule(layer.rule) : ['', ''];
  const composite = `${t.ruleFromComposite} ${layer.overridden ? '' : layer.rule}`.trim();
  // only what differs is written: the echo of the user's own choice changes nothing, so the table is not
  // laid out again while the run computes
  const hint = PARAM_HINT[name] ?? '';
  const label = `${t.rule} ${layer.name}: ${hint}`;
  if (select.options[0].textContent !== composite) select.options[0].textContent = composite;
  if (select.value !== name) select.value = name;
  if (input.value !== param) input.value = param;
  if (input.placeholder !== hint) input.placeholder = hint;
  if (input.disabled !== !hint) input.disabled = !hint;
  if (input.getAttribute('aria-label') !== label) input.setAttribute('aria-label', label);
  if (input.hasAttribute('aria-invalid')) input.removeAttribute('aria-invalid');
  if (error.textContent) error.textContent = '';
  return true;
}

function splitRule(text: string): [string, string] {
  const i = text.indexOf(':');
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)];
}

/**
 * The table with a bar above it: row counts, a filter for the leaking rows and a jump to the worst
 * row. The table scrolls in its own box (visible scrollbars, header kept in view).
 */
export function conservationView(o: TableOptions): HTMLElement {
  const shown = shownRows(o);
  const wrap = h('div', { class: 'table-wrap', tabindex: '-1' }, conservationTable({ ...o, rows: shown }));
  return h('div', { class: 'conservation-view' }, tableBar(o, wrap), wrap);
}

/**
 * A new result for the same rows (a rule change, a new image) updates a view in place: cell texts, badges,
 * and only the rule pickers whose content changed. Rebuilding ResNet-50's ~170 rows with a picker each took
 * the page ~150 ms per rule change (at load 9, measured); false when the rows differ (then rebuild).
 */
export function updateConservationView(view: Element | null, o: TableOptions): boolean {
  const wrap = view?.querySelector<HTMLElement>('.table-wrap');
  const table = wrap?.querySelector('table');
  if (!view || !wrap || !table) return false;
  const rows = shownRows(o);
  const trs = [...table.querySelectorAll<HTMLTableRowElement>('tbody tr')];
  const detail = hasDetail(o.rows);
  if (trs.length !== rows.length || rows.some((r, i) => trs[i].dataset.layer !== r.name)
    || table.querySelectorAll('thead th').length !== columns(detail).length) return false;
  const byName = new Map(o.layers.map((l) => [l.name, l]));
  rows.forEach((row, i) => {
    const tr = trs[i];
    const p = rowParts(row, o, byName, detail);
    if (tr.className !== p.cls) tr.className = p.cls;
    const cells = tr.children;
    if (tr.dataset.ruleKey !== p.ruleKey) {
      // the picker the user just operated is rebuilt under their hands (focus goes to its successor)
      // unless it offers the same rules: then it shows the new state in place
      if (!(p.picked && updatePicker(cells[2], p.picked))) replaceKeepingFocus(cells[2] as HTMLElement, p.rule());
      tr.dataset.ruleKey = p.ruleKey;
    }
    p.cells.forEach((c, j) => {
      const td = cells[3 + j];
      if (typeof c === 'string') {
        if (td.textContent !== c) td.textContent = c;
      } else if (td.childNodes.length !== 1 || (td.firstChild as Element).outerHTML !== (c as Element).outerHTML) td.replaceChildren(c);
    });
  });
  replaceIfChanged(view.querySelector('.table-bar'), tableBar(o, wrap));
  return true;
}

function shownRows(o: TableOptions): ConservationRow[] {
  return o.onlyLeaking && o.flagBalance ? o.rows.filter((r) => isUnbalanced(r, o.tolerance)) : o.rows;
}

function tableBar(o: TableOptions, wrap: HTMLElement): HTMLElement {
  const leaking = o.flagBalance ? o.rows.filter((r) => isUnbalanced(r, o.tolerance)) : [];
  const worst = o.flagBalance ? worstRow(o.rows) : undefined;
  const only = h('input', { type: 'checkbox', checked: !!o.onlyLeaking && o.flagBalance, disabled: !o.flagBalance, 'data-control': 'only-leaking', onchange: () => o.onOnlyLeaking?.(only.checked) });
  const jump = h('button', {
    class: 'secondary', 'data-control': 'jump-worst', disabled: !worst,
    onclick: () => {
      if (!worst) return;
      const row = wrap.querySelector<HTMLElement>(`tr[data-layer="${CSS.escape(worst.name)}"]`);
      row?.scrollIntoView({ block: 'center' });
      row?.querySelector<HTMLElement>('button.link')?.focus();
      row?.classList.add('flash');
    },
  }, t.jumpWorst);
  const counts = format(t.tableCounts, o.rows.length, leaking.length)
    + (worst ? ` · ${format(t.worstRow, worst.name, fmtNum(worst.ratio))}` : '');
  return h('div', { class: 'table-bar' }, h('span', { class: 'hint', 'data-testid': 'table-counts' }, counts),
    h('label', { class: 'check' }, only, t.onlyLeaking), jump);
}

function hasDetail(rows: ConservationRow[]): boolean {
  return rows.some((r) => r.biasLeak !== undefined || r.stabilizerLeak !== undefined);
}

function columns(detail: boolean): string[] {
  return [t.layer, t.op, t.rule, t.outputSum, t.inputSum, t.ratio, t.balance, t.absorbed, ...(detail ? [t.biasLeak, t.stabilizerLeak] : [])];
}

/** The classes of the cells after the rule: sums, ratio, flag, absorbed, the two leaks. */
const CELL_CLASSES = ['num', 'num', 'num', 'flag', 'num', 'num', 'num'];

/** One row: its class, what its rule cell shows (rebuilt only when that key changes) and its other cells. */
function rowParts(row: ConservationRow, o: TableOptions, byName: Map<string, LayerInfo>, detail: boolean) {
  const layer = byName.get(row.name);
  const off = o.flagBalance && isUnbalanced(row, o.tolerance);
  // An imbalance the rule's own closed form accounts for (bias, ε) is expected, and so is one within the
  // row's float32 floor (terms far larger than their sum); anything else is flagged.
  const explained = off && leakExplained(row, o.tolerance);
  const rounding = off && !explained && rowClosure(row, o.tolerance) === 'rounding';
  const flagged = off && !explained && !rounding;
  const badge = !o.flagBalance ? '–'
    : flagged ? h('span', { class: 'badge warn' }, `⚠ ${t.unbalanced}`)
      : rounding ? h('span', { class: 'badge rounding', title: format(t.withinRoundingTip, fmtNum(roundingFloor(row)!), fmtNum(rowResidual(row))) }, t.withinRounding)
        : explained ? h('span', { class: 'badge info' }, t.leakByRule) : h('span', { class: 'badge ok' }, t.balanced);
  const picked = layer?.ruleable ? { ...layer, rule: layer.overridden ? layer.rule : row.rule || layer.rule } : undefined;
  const leak = (v: number | undefined) => (v === undefined ? '' : fmtNum(v));
  return {
    cls: `${flagged ? 'unbalanced' : rounding ? 'rounding' : ''}${o.selectedLayer === row.name ? ' selected' : ''}`,
    picked,
    ruleKey: JSON.stringify(picked ? [picked.rule, picked.overridden, picked.rules] : row.rule),
    rule: (): Node | string => (picked ? rulePicker(picked, o.onRule) : row.rule),
    cells: [fmtNum(row.outputRelevanceSum), fmtNum(row.inputRelevanceSum), fmtNum(row.ratio), badge,
      fmtNum(row.outputRelevanceSum - row.inputRelevanceSum), ...(detail ? [leak(row.biasLeak), leak(row.stabilizerLeak)] : [])] as (Node | string)[],
  };
}

export function conservationTable(o: TableOptions): HTMLElement {
  const byName = new Map(o.layers.map((l) => [l.name, l]));
  const detail = hasDetail(o.rows);
  const head = h('tr', {}, columns(detail).map((c) => h('th', { scope: 'col' }, c)));
  const body = o.rows.map((row) => {
    const p = rowParts(row, o, byName, detail);
    return h('tr', { class: p.cls, 'data-layer': row.name, 'data-rule-key': p.ruleKey },
      h('th', { scope: 'row' }, h('button', {
        class: 'link', 'data-control': `select:${row.name}`, onclick: () => o.onSelect(row.name), title: t.layerMaps,
      }, row.name)),
      h('td', {}, row.op),
      h('td', { class: 'rule' }, p.rule()),
      p.cells.map((c, j) => h('td', { class: CELL_CLASSES[j] }, c)));
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
