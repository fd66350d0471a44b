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
import { SETTING_CHOICES, SETTING_DEFAULTS, SETTING_RANGES } from '../../src/shared/settings';
import { DEFAULT_DISPLAY } from '../../src/shared/protocol';
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
