/** Pickers for method and composite, the display options, and the composite's rule parameters. */
import {
  COLORMAPS, METHOD_NAMES, type DisplayOptions, type MethodId, type MethodParamValues, type RuleParamValues,
} from '../../src/shared/protocol';
import { DEFAULT_RULE_PARAMS } from '../../src/shared/ruleSpec';
import { h, option } from '../dom';
import { t } from '../strings';

function field(label: string, control: HTMLElement): HTMLElement {
  return h('label', { class: 'field' }, h('span', {}, label), control);
}

export function methodPicker(current: MethodId, onPick: (m: MethodId) => void): HTMLElement {
  const sel = h('select', { 'data-control': 'method', onchange: () => onPick(sel.value as MethodId) },
    METHOD_NAMES.map((m) => option(m, m, m === current)));
  return field(t.method, sel);
}

export function compositePicker(composites: string[], current: string, enabled: boolean, onPick: (c: string) => void): HTMLElement {
  const sel = h('select', { 'data-control': 'composite', disabled: !enabled, onchange: () => onPick(sel.value) },
    composites.map((c) => option(c, c, c === current)));
  return field(t.composite, sel);
}

/** Opacity applies at once in the page (no round trip); the other options ask the host to recolour. */
export function displayControls(d: DisplayOptions, onChange: (d: DisplayOptions, recolour: boolean) => void): HTMLElement {
  const opacity = h('input', {
    type: 'range', min: 0, max: 1, step: 0.05, value: d.opacity, 'data-control': 'opacity',
    oninput: () => onChange({ ...d, opacity: Number(opacity.value) }, false),
  });
  const colormap = h('select', { 'data-control': 'colormap', onchange: () => onChange({ ...d, colormap: colormap.value as DisplayOptions['colormap'] }, true) },
    COLORMAPS.map((c) => option(c, c, c === d.colormap)));
  const scale = h('select', { 'data-control': 'scale', onchange: () => onChange({ ...d, scale: scale.value as DisplayOptions['scale'] }, true) },
    option('max', t.scaleMax, d.scale === 'max'), option('percentile', t.scalePercentile, d.scale === 'percentile'));
  const percentile = h('input', {
    type: 'number', min: 50, max: 100, step: 0.5, value: d.percentile, disabled: d.scale !== 'percentile', 'data-control': 'percentile',
    onchange: () => {
      const p = Number(percentile.value);
      if (p > 0 && p <= 100) onChange({ ...d, percentile: p }, true);
    },
  });
  const polarity = h('select', { 'data-control': 'polarity', onchange: () => onChange({ ...d, polarity: polarity.value as DisplayOptions['polarity'] }, true) },
    option('both', t.polarityBoth, d.polarity === 'both'), option('positive', t.polarityPositive, d.polarity === 'positive'),
    option('negative', t.polarityNegative, d.polarity === 'negative'), option('absolute', t.polarityAbsolute, d.polarity === 'absolute'));
  return h('div', { class: 'controls' },
    field(t.opacity, opacity), field(t.colormap, colormap), field(t.scaling, scale), field(t.percentile, percentile), field(t.polarity, polarity));
}

const PARAM_FIELDS: { key: keyof RuleParamValues; label: keyof typeof t; placeholder: string }[] = [
  { key: 'epsilon', label: 'epsilon', placeholder: String(DEFAULT_RULE_PARAMS.epsilon) },
  { key: 'gamma', label: 'gamma', placeholder: String(DEFAULT_RULE_PARAMS.gamma) },
  { key: 'alpha', label: 'alpha', placeholder: String(DEFAULT_RULE_PARAMS.alpha) },
  { key: 'beta', label: 'beta', placeholder: String(DEFAULT_RULE_PARAMS.beta) },
  { key: 'low', label: 'low', placeholder: 'card' },
  { key: 'high', label: 'high', placeholder: 'card' },
];

/** Composite-wide parameters; an empty field means the default (or the model card's bound). */
export function paramControls(p: RuleParamValues, onChange: (p: RuleParamValues) => void): HTMLElement {
  const inputs = PARAM_FIELDS.map((f) => {
    const input = h('input', {
      type: 'text', inputmode: 'decimal', size: 6, placeholder: f.placeholder, value: p[f.key] ?? '', 'data-control': `param:${f.key}`,
    });
    input.addEventListener('change', () => {
      const next: RuleParamValues = {};
      for (const [g, el] of PARAM_FIELDS.map((x, i) => [x, inputs[i]] as const)) {
        const v = el.value.trim();
        if (v === '') continue;
        const n = Number(v);
        if (!Number.isFinite(n)) {
          el.setAttribute('aria-invalid', 'true');
          return;
        }
        el.removeAttribute('aria-invalid');
        next[g.key] = n;
      }
      if (next.alpha !== undefined && next.beta === undefined) next.beta = next.alpha - 1;
      onChange(next);
    });
    return input;
  });
  return h('div', { class: 'controls' }, PARAM_FIELDS.map((f, i) => field(t[f.label], inputs[i])));
}

/** The parameters of the chosen method, if it has any (empty = the engine's default). */
export function methodParamControls(method: MethodId, p: MethodParamValues, onChange: (p: MethodParamValues) => void): HTMLElement | null {
  const num = (key: 'samples' | 'sigma' | 'steps', placeholder: string) => {
    const input = h('input', { type: 'number', min: 0, step: key === 'sigma' ? 0.05 : 1, size: 5, placeholder, value: p[key] ?? '', 'data-control': `method-param:${key}` });
    input.addEventListener('change', () => {
      const v = input.value.trim() === '' ? undefined : Number(input.value);
      if (v !== undefined && !(v >= 0)) return input.setAttribute('aria-invalid', 'true');
      input.removeAttribute('aria-invalid');
      onChange({ ...p, [key]: v });
    });
    return field(t[key], input);
  };
  // the first value is the engine's default, shown as such while none is chosen
  const choice = <K extends 'baseline' | 'root' | 'patternType'>(key: K, values: NonNullable<MethodParamValues[K]>[]) => {
    const sel = h('select', { 'data-control': `method-param:${key}`, onchange: () => onChange({ ...p, [key]: sel.value || undefined }) },
      option('', `${values[0]} (default)`, p[key] === undefined), values.slice(1).map((v) => option(v, v, p[key] === v)));
    return field(t[key], sel);
  };
  switch (method) {
    case 'smoothgrad': case 'smoothgrad-squared': case 'vargrad': return h('div', { class: 'controls' }, num('samples', '32'), num('sigma', '0.15'));
    case 'integrated-gradients': return h('div', { class: 'controls' }, num('steps', '64'), choice('baseline', ['zeros', 'blur']));
    case 'deep-taylor': return h('div', { class: 'controls' }, choice('root', ['lrp', 'origin', 'nearest']));
    case 'pattern-net': case 'pattern-attribution': return h('div', { class: 'controls' }, choice('patternType', ['relu', 'linear']));
    default: return null;
  }
}
