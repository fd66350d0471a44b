/** Runs the built CLI (dist/cli.js) as a user would, capturing exit code and output. */
import { spawnSync } from 'child_process';
import * as path from 'path';

export const ROOT = path.join(__dirname, '..', '..', '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli.js');
export const DEMO_MODEL = path.join(ROOT, 'demo', 'lenet', 'model.json');
export const DEMO_DIGIT = (d: number): string => path.join(ROOT, 'demo', 'digits', `digit-${d}.png`);

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[]): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
