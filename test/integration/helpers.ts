/** Shared by the integration specs: the extension's API, the test workspace, waiting, measuring, screenshots. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { LensTestHooks, RelevanceLensApi } from '../../src/extension/api';
import { DEFAULT_DISPLAY, type Explanation, type RenderReport } from '../../src/shared/protocol';
import { SETTING_DEFAULTS } from '../../src/shared/settings';
import { readImageFile } from '../../src/core/image/decode';

export const EXTENSION_ID = 'relevance-lens.relevance-lens';

export async function lensApi(): Promise<RelevanceLensApi> {
  const ext = vscode.extensions.getExtension<RelevanceLensApi>(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not installed`);
  return ext.isActive ? ext.exports : ext.activate();
}

/** The extension's test hooks; the integration runners switch them on (RELEVANCE_LENS_TEST_HOOKS=1). */
export function hooks(api: RelevanceLensApi): LensTestHooks {
  if (!api.testHooks) throw new Error('the extension exposes no test hooks: run the suite through scripts/integration/run.mjs (it sets RELEVANCE_LENS_TEST_HOOKS=1)');
  return api.testHooks;
}

export function workspaceDir(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  if (!f) throw new Error('the integration suite needs a workspace folder (see scripts/integration/workspace.mjs)');
  return f.uri.fsPath;
}

export function wsFile(...parts: string[]): vscode.Uri {
  return vscode.Uri.file(path.join(workspaceDir(), ...parts));
}

export const DEMO_MODEL = ['lenet', 'model.json'];
export const MOBILENET = ['mobilenet', 'model.json'];
export const PHOTO = ['images', 'chelsea.png'];
export const digit = (n: number) => ['digits', `digit-${n}.png`];

/**
 * Makes `model` the active model and `image` the explanation on screen (only what is missing), so a
 * spec can run on its own (mocha --grep) as well as after the others. Resolves once it is drawn.
 */
export async function showExplanation(model: string[], image: string[]): Promise<void> {
  const api = await lensApi();
  const modelPath = wsFile(...model).fsPath;
  const imagePath = wsFile(...image).fsPath;
  if (api.current().model?.path !== modelPath) await vscode.commands.executeCommand('relevanceLens.openModel', wsFile(...model));
  const ex = api.current().explanation;
  if (ex?.spec.imagePath === imagePath && ex.spec.modelPath === modelPath && api.current().panelOpen) return;
  const rendered = nextRender(api, () => api.current().explanation?.spec.imagePath === imagePath, 60_000);
  await vscode.commands.executeCommand('relevanceLens.explainImage', wsFile(...image));
  await rendered;
}

/** True when `ex` explains `image` with `model` under the settings' defaults (no choice changed). */
function atDefaults(ex: Explanation | undefined, modelPath: string, imagePath: string): boolean {
  return !!ex && ex.spec.modelPath === modelPath && ex.spec.imagePath === imagePath && ex.spec.method === SETTING_DEFAULTS.defaultMethod
    && ex.spec.composite === SETTING_DEFAULTS.defaultComposite && Object.keys(ex.spec.rules).length === 0
    && Object.keys(ex.spec.params).length === 0 && Object.keys(ex.spec.methodParams ?? {}).length === 0 && ex.spec.targetClass === 'top'
    && (Object.keys(DEFAULT_DISPLAY) as (keyof typeof DEFAULT_DISPLAY)[]).every((k) => ex.display[k] === DEFAULT_DISPLAY[k]);
}

/**
 * A spec's starting point, whatever ran before it: `model` active, `image` explained on screen with
 * every choice at its default (method, composite, parameters, rules, class, display), the panel open.
 * Does nothing when that is already so.
 */
export async function startAtDefaults(model: string[], image: string[]): Promise<void> {
  const api = await lensApi();
  const modelPath = wsFile(...model).fsPath;
  const imagePath = wsFile(...image).fsPath;
  if (api.current().panelOpen && !api.current().busy && atDefaults(api.current().explanation, modelPath, imagePath)) return;
  if (api.current().model?.path !== modelPath) await vscode.commands.executeCommand('relevanceLens.openModel', wsFile(...model));
  await hooks(api).resetChoices();
  await nextRender(api, () => atDefaults(api.current().explanation, modelPath, imagePath), 90_000,
    () => vscode.commands.executeCommand('relevanceLens.explainImage', wsFile(...image)));
  for (let i = 0; i < 1200 && api.current().busy; i++) await sleep(50);
}

/** Switches the colour theme and gives the workbench and the webview time to re-read its variables. */
export async function setTheme(theme: string | undefined): Promise<void> {
  await vscode.workspace.getConfiguration('workbench').update('colorTheme', theme, vscode.ConfigurationTarget.Global);
  await sleep(800);
}

/** The themes the panel is checked in: 'Default Dark+' rather than the default (setting the default changes nothing). */
export const THEMES: [string, string][] = [['dark', 'Default Dark+'], ['light', 'Default Light Modern'], ['high-contrast', 'Default High Contrast']];

export function outDir(): string {
  return process.env.RELEVANCE_LENS_IT_OUT ?? path.join(workspaceDir(), '.test-output');
}

/** Resolves with the first event that satisfies `predicate`; rejects after `ms`. */
export function nextEvent<T>(event: vscode.Event<T>, predicate: (e: T) => boolean = () => true, ms = 30_000, what = 'event'): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const sub = event((e) => {
      if (!predicate(e)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(e);
    });
  });
}

/** The next heatmap the panel draws that satisfies `predicate`; `trigger` runs once the listener is on. */
export async function nextRender(api: RelevanceLensApi, predicate: (r: RenderReport) => boolean = () => true, ms = 20_000, trigger?: () => unknown): Promise<RenderReport> {
  const drawn = nextEvent(api.onDidRender, predicate, ms, 'the panel to draw a heatmap');
  if (trigger) await trigger();
  return drawn;
}

const measurements: Record<string, number> = {};

/** Prints a timing (never asserted: machines differ) and keeps it for test-output/measurements.json. */
export function measure(label: string, ms: number): void {
  measurements[label] = Math.round(ms * 10) / 10;
  console.log(`[measure] ${label}: ${ms.toFixed(1)} ms`);
}

export function allMeasurements(): Record<string, number> {
  return { ...measurements };
}

/** Measurements taken before a window reload (the suite's module state does not survive it). */
export function restoreMeasurements(m: Record<string, number>): void {
  Object.assign(measurements, m);
}

export function writeMeasurements(): void {
  try {
    fs.mkdirSync(outDir(), { recursive: true });
    fs.writeFileSync(path.join(outDir(), 'measurements.json'), JSON.stringify(measurements, null, 2) + '\n');
  } catch (e) {
    console.log(`could not write measurements: ${(e as Error).message}`);
  }
}

/** True when a browser driver (scripts/integration/driver.mjs) runs the window: real input and screenshots. */
export function hasDriver(): boolean {
  return process.env.RELEVANCE_LENS_IT_DRIVER === 'playwright';
}

let driverSeq = 0;

/**
 * Asks the browser driver to do something only a browser can (real key presses and clicks, reading the
 * webview's DOM, screenshots): one `[rl-driver] {json}` log line out, the answer back as a JSON file.
 * Throws under @vscode/test-electron (no driver): callers check hasDriver() first.
 */
export async function driver<T = unknown>(op: 'screenshot' | 'webview' | 'workbench', body: Record<string, unknown>, ms = 30_000): Promise<T> {
  if (!hasDriver()) throw new Error('no browser driver in this run');
  const id = `${process.pid}-${Date.now()}-${++driverSeq}`;
  const reply = path.join(outDir(), 'driver', `${id}.json`);
  console.log(`[rl-driver] ${JSON.stringify({ id, reply, op, ...body })}`);
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fs.existsSync(reply)) {
      const r = JSON.parse(fs.readFileSync(reply, 'utf8')) as { ok: boolean; result?: T; error?: string };
      fs.rmSync(reply, { force: true });
      if (!r.ok) throw new Error(`driver ${op}: ${r.error}`);
      return r.result as T;
    }
    await sleep(25);
  }
  throw new Error(`driver ${op} did not answer within ${ms} ms`);
}

/** Real input in the explanation panel's frame; one result per step (see runSteps in driver.mjs). */
export function webview<T extends unknown[] = unknown[]>(...steps: Record<string, unknown>[]): Promise<T> {
  return driver<T>('webview', { steps });
}

/** The same steps in the workbench page itself (notifications, editor tabs). */
export function workbench<T extends unknown[] = unknown[]>(...steps: Record<string, unknown>[]): Promise<T> {
  return driver<T>('workbench', { steps });
}

/** The focused element as the driver describes it (describeActive in driver.mjs). */
export interface ActiveElement {
  control: string | null;
  tag: string | null;
  value?: string;
  label?: string;
  focusVisible?: boolean;
  outline?: { style: string; width: string; color: string; offset: string };
  background?: string;
  inViewport?: boolean;
  unobscured?: boolean;
}

/**
 * Screenshot of the whole window; resolves with the PNG file once it is written. Only the code-server
 * run has a browser: without one this throws (specs that take screenshots check hasDriver() first).
 */
export async function screenshot(name: string): Promise<string> {
  const file = await driver<string>('screenshot', { path: path.join(outDir(), 'screenshots', `${name}.png`) });
  if (!fs.existsSync(file) || fs.statSync(file).size === 0) throw new Error(`screenshot ${name}: no picture at ${file}`);
  return file;
}

/** Mean of R, G and B over a PNG (0..255): a dark theme's screenshot is darker than a light one's. */
export function meanLevel(file: string): number {
  const img = readImageFile(file);
  let s = 0;
  for (let i = 0; i < img.width * img.height; i++) s += img.data[i * 4] + img.data[i * 4 + 1] + img.data[i * 4 + 2];
  return s / (3 * img.width * img.height);
}

/** Parses `rgb(…)` / `rgba(…)` as CSS computes it. */
export function parseRgb(css: string): [number, number, number, number] {
  const m = /rgba?\(([^)]+)\)/.exec(css);
  if (!m) throw new Error(`not an rgb colour: ${css}`);
  const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
  return [r, g, b, a];
}

/** WCAG contrast ratio of two opaque colours. */
export function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = parseRgb(c).slice(0, 3).map((v) => {
      const x = v / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Max absolute difference of two byte arrays of equal length, and how many entries differ. */
export function byteDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; count: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > 0) count++;
    if (d > max) max = d;
  }
  return { max, count };
}

/**
 * Fits patterns for the current model on a workspace folder (the command, as a user runs it), timed, then
 * switches the panel to PatternAttribution and checks it explained with that file, to a finite, non-zero map.
 */
export async function fitAndShowPatternAttribution(folder: string[], label: string): Promise<{ outPath: string; layers: number; ex: Explanation }> {
  const api = await lensApi();
  const t0 = performance.now();
  const r = (await vscode.commands.executeCommand('relevanceLens.fitPatterns', wsFile(...folder))) as { outPath: string; layers: number } | undefined;
  measure(`fit patterns on ${label}`, performance.now() - t0);
  assert.ok(r, 'fitting failed');
  const rendered = nextRender(api, (x) => x.method === 'pattern-attribution');
  hooks(api).drivePanel('method', 'pattern-attribution');
  await rendered;
  const ex = api.current().explanation!;
  assert.strictEqual(ex.spec.method, 'pattern-attribution');
  assert.strictEqual((ex.extra?.patterns as { file?: string } | undefined)?.file, r.outPath, JSON.stringify(ex.extra));
  assert.ok(ex.relevance.data.every(Number.isFinite) && ex.relevance.data.some((v) => v !== 0), 'no finite, non-zero relevance');
  return { ...r, ex };
}
