/**
 * Every name and default has one source (src/shared/methodParams.ts, compositeNames.ts, settings.ts);
 * what must repeat them literally — package.json's settings (VS Code reads only the manifest), the
 * method registry, the presets, the README's option table — is checked against it here, so a method,
 * composite or default added in one place only fails.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { METHOD_NAMES } from '../../src/shared/methodParams';
import { AUTO_COMPOSITE, BASE_COMPOSITES, COMPOSITE_NAMES, NO_BIAS } from '../../src/shared/compositeNames';
import { checkedSettings, SETTING_CHOICES, SETTING_DEFAULTS, SETTING_RANGES } from '../../src/shared/settings';
import { DEFAULT_DISPLAY } from '../../src/shared/protocol';
import { DEFAULT_RULE_PARAMS, DEFAULT_SIGN_MU, paramText } from '../../src/shared/ruleDefaults';
import { methodNames } from '../../src/core/methods/method';
import '../../src/core/methods/explain'; // registers every method
import { compositeRules } from '../../src/core/composites/presets';
import { COLORMAP_NAMES } from '../../src/core/image/colormap';
import { reluNet } from './helpers/methodNets';

const ROOT = path.join(__dirname, '..', '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const settings: Record<string, { default: unknown; enum?: string[]; minimum?: number; maximum?: number }> = pkg.contributes.configuration.properties;
const SECTION = 'relevanceLens.';

test('package.json settings: the same keys, defaults, choices and ranges as src/shared/settings.ts', () => {
  assert.deepEqual(Object.keys(settings).map((k) => k.slice(SECTION.length)).sort(), Object.keys(SETTING_DEFAULTS).sort());
  for (const [key, def] of Object.entries(SETTING_DEFAULTS)) {
    const s = settings[SECTION + key];
    assert.equal(s.default, def, `${key}: default`);
    const choices = (SETTING_CHOICES as Record<string, readonly string[]>)[key];
    assert.deepEqual(s.enum, choices ? [...choices] : undefined, `${key}: enum`);
    const r = (SETTING_RANGES as Record<string, { min?: number; max?: number }>)[key];
    assert.equal(s.minimum, r?.min, `${key}: minimum`);
    assert.equal(s.maximum, r?.max, `${key}: maximum`);
  }
  // the literal lists in the manifest hold every method and composite (and 'auto' first, the default)
  assert.deepEqual(settings[SECTION + 'defaultMethod'].enum, [...METHOD_NAMES]);
  assert.deepEqual(settings[SECTION + 'defaultComposite'].enum, [AUTO_COMPOSITE, ...COMPOSITE_NAMES]);
});

test('methods: the engine registers exactly the shared list', () => {
  assert.deepEqual([...methodNames()].sort(), [...METHOD_NAMES].sort());
});

test('composites: every shared name resolves to rules, a name outside the list does not', () => {
  const g = reluNet();
  for (const name of COMPOSITE_NAMES) assert.ok(compositeRules(g, name).size > 0, name);
  assert.ok(compositeRules(g, AUTO_COMPOSITE).size > 0);
  // the bias-free variants are exactly the listed ones: an unlisted variant is refused
  for (const base of BASE_COMPOSITES) {
    if (COMPOSITE_NAMES.includes(base + NO_BIAS)) continue;
    assert.throws(() => compositeRules(g, base + NO_BIAS), /unknown composite/, base);
  }
  assert.throws(() => compositeRules(g, 'no-such-composite'), /unknown composite/);
});

test('colormaps and display defaults: the engine colours exactly the shared list; the panel starts at the setting default', () => {
  assert.deepEqual([...COLORMAP_NAMES], [...SETTING_CHOICES.colormap]);
  assert.equal(DEFAULT_DISPLAY.colormap, SETTING_DEFAULTS.colormap);
});

const readmeRow = (start: string): string => {
  const row = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n').find((l) => l.startsWith(start));
  assert.ok(row, `no '${start}' row in README.md`);
  return row;
};
const namesIn = (row: string): string[] => [...row.split('|')[2].matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1]);

test("README: explain's --method row lists every method, the default marked", () => {
  const row = readmeRow('| `--method M` |');
  assert.deepEqual(namesIn(row), [...METHOD_NAMES]);
  assert.match(row, new RegExp(`\`${SETTING_DEFAULTS.defaultMethod}\` \\(default\\)`));
});

test("README: explain's --composite row names only composites", () => {
  const names = namesIn(readmeRow('| `--composite NAME` |'));
  assert.ok(names.length >= 10, names.join(', '));
  for (const n of names) assert.ok(n === AUTO_COMPOSITE || COMPOSITE_NAMES.includes(n), `'${n}' is not a composite`);
});

test('settings: each value checked like the CLI flags; a bad one falls back to its default with one line naming it', () => {
  const read = (v: Record<string, unknown>) => {
    const problems: string[] = [];
    return { s: checkedSettings((k) => v[k], 'relevanceLens', problems), problems };
  };
  assert.deepEqual(read({}), { s: SETTING_DEFAULTS, problems: [] });
  const good = read({ defaultComposite: 'epsilon-plus-nobias', defaultMethod: 'smoothgrad', backend: 'wasm', colormap: 'gray', maxImageSide: 1024, parallelWorkers: 4, balanceTolerance: 0 });
  assert.deepEqual(good.problems, []);
  assert.equal(good.s.defaultComposite, 'epsilon-plus-nobias');
  assert.equal(good.s.parallelWorkers, 4);
  const bad: [string, unknown, RegExp][] = [
    ['defaultComposite', 'lrp-0-nobias', /^relevanceLens\.defaultComposite expects one of auto, epsilon-gamma-box, .*, got 'lrp-0-nobias'; using auto$/],
    ['defaultComposite', 'epsilon-gama-box', /defaultComposite .*got 'epsilon-gama-box'; using auto$/],
    ['defaultMethod', 'occlusion', /^relevanceLens\.defaultMethod expects one of lrp, .*; using lrp$/],
    ['backend', 'gpu', /^relevanceLens\.backend expects one of auto, onnx, tensorflow, wasm, cpu, got 'gpu'; using auto$/],
    ['colormap', 'jet', /colormap .*got 'jet'; using seismic$/],
    ['maxImageSide', 8, /^relevanceLens\.maxImageSide expects an integer in 16\.\.16384, got '8'; using 4096$/],
    ['parallelWorkers', 2.5, /parallelWorkers expects an integer in 1\.\.16, got '2\.5'; using 2$/],
    ['balanceTolerance', -1, /balanceTolerance expects a number ≥ 0, got '-1'; using 0\.05$/],
  ];
  for (const [key, value, message] of bad) {
    const r = read({ [key]: value });
    assert.equal(r.s[key as keyof typeof SETTING_DEFAULTS], SETTING_DEFAULTS[key as keyof typeof SETTING_DEFAULTS], key);
    assert.equal(r.problems.length, 1, `${key}: ${r.problems.join(' | ')}`);
    assert.match(r.problems[0], message);
  }
});

/**
 * Rule-parameter defaults: one literal copy, in src/shared/ruleDefaults.ts. A default value written next
 * to a rule parameter's name anywhere else in src/ or webview/ (`gamma ?? 0.25`, `epsilon: 1e-6`,
 * `placeholder: '2'` for α …) is a second copy that would drift; so is a README row stating others.
 * Rule definitions that happen to use those numbers (z⁺ = α1β0, the α2β1 composites, the universal
 * graph's placeholders, activation attributes) say `kind:`, `rule:`, or read `attrs` and are not defaults.
 */
test('rule-parameter defaults: one source (ruleDefaults.ts); no literal copy in src/ or webview/, the README states them', () => {
  // each value as code may spell it: 1e-6 prints as 0.000001
  const values = [...Object.values(DEFAULT_RULE_PARAMS), DEFAULT_SIGN_MU].flatMap((v) => [String(v), v.toExponential()]);
  const num = values.map((v) => v.replace(/[.+-]/g, (c) => `\\${c}`)).join('|');
  const copy = new RegExp(`(?<![\\w.])(epsilon|gamma|alpha|beta|mu)\\b['"]?\\s*(\\?\\?|:|=)\\s*['"]?(${num})['"]?(?![\\w.])`
    + `|\\.(epsilon|gamma|alpha|beta|mu)\\s*\\?\\?\\s*(${num})(?![\\w.])|key: '(epsilon|gamma|alpha|beta)'.*placeholder: '(${num})'`);
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const f = path.join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else if (f.endsWith('.ts') && !f.endsWith(path.join('shared', 'ruleDefaults.ts'))) files.push(f);
    }
  };
  walk(path.join(ROOT, 'src'));
  walk(path.join(ROOT, 'webview'));
  const found: string[] = [];
  for (const f of files) {
    fs.readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      const code = line.replace(/\/\/.*$|^\s*\*.*$|`[^`]*`/g, '');
      if (copy.test(code) && !/\b(kind|rule):|attrs|\ba\.alpha/.test(code)) found.push(`${path.relative(ROOT, f)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, [], 'literal rule-parameter defaults outside src/shared/ruleDefaults.ts');
  // the detector itself finds the copies this test was written against
  for (const bad of ["params.gamma ?? 0.25)", "{ key: 'epsilon', label: 'epsilon', placeholder: '1e-6' },", 'defaults = { alpha: 2, beta: 1 }']) {
    assert.ok(copy.test(bad), bad);
  }
  const row = readmeRow('| `--epsilon --gamma --alpha --beta` |');
  const d = DEFAULT_RULE_PARAMS;
  assert.ok(row.includes(`(defaults ${[d.epsilon, d.gamma, d.alpha, d.beta].map(paramText).join(', ')})`), row);
});
