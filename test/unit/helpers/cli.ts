/** Runs the built CLI (dist/cli.js) as a user would, capturing exit code and output. */
import { spawnSync } from 'child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
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

/**
 * A usage or input error: exit 2, one stderr line naming `mentions`, no stack trace, none of `outputs`
 * written and no temp file left in `tmpDir`.
 */
export function assertExit2(args: string[], mentions: string, tmpDir: string, outputs: string[] = []): void {
  const r = runCli(args);
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.ok(lines[0].includes(mentions), `'${lines[0]}' should name ${mentions}`);
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  for (const o of outputs) assert.ok(!fs.existsSync(o), `${o} must not be written`);
  assert.deepEqual(fs.readdirSync(tmpDir).filter((f) => f.endsWith('.tmp')), [], 'no temp files left');
}
