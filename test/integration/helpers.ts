/** Shared by the integration specs: the extension's API, the test workspace, waiting, measuring, screenshots. */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { RelevanceLensApi } from '../../src/extension/api';
import type { RenderReport } from '../../src/shared/protocol';

export const EXTENSION_ID = 'relevance-lens.relevance-lens';

export async function lensApi(): Promise<RelevanceLensApi> {
  const ext = vscode.extensions.getExtension<RelevanceLensApi>(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not installed`);
  return ext.isActive ? ext.exports : ext.activate();
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
export const digit = (n: number) => ['digits', `digit-${n}.png`];

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

export function nextRender(api: RelevanceLensApi, predicate: (r: RenderReport) => boolean = () => true, ms = 20_000): Promise<RenderReport> {
  return nextEvent(api.onDidRender, predicate, ms, 'the panel to draw a heatmap');
}

const measurements: Record<string, number> = {};

/** Prints a timing (never asserted: machines differ) and keeps it for test-output/measurements.json. */
export function measure(label: string, ms: number): void {
  measurements[label] = Math.round(ms * 10) / 10;
  console.log(`[measure] ${label}: ${ms.toFixed(1)} ms`);
}

export function writeMeasurements(): void {
  try {
    fs.mkdirSync(outDir(), { recursive: true });
    fs.writeFileSync(path.join(outDir(), 'measurements.json'), JSON.stringify(measurements, null, 2) + '\n');
  } catch (e) {
    console.log(`could not write measurements: ${(e as Error).message}`);
  }
}

/**
 * Asks the browser driver for a screenshot of the whole window (only the code-server run has one;
 * under @vscode/test-electron this is a no-op). Resolves with the file, or undefined.
 */
export async function screenshot(name: string): Promise<string | undefined> {
  if (process.env.RELEVANCE_LENS_IT_DRIVER !== 'playwright') return undefined;
  const file = path.join(outDir(), 'screenshots', `${name}.png`);
  fs.rmSync(file, { force: true });
  console.log(`[rl-driver] screenshot ${file}`);
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    if (fs.existsSync(file)) return file;
    await sleep(100);
  }
  throw new Error(`screenshot ${file} did not appear`);
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
