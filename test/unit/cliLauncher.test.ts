/**
 * The binary's launcher (src/cli/launcher.ts): the bundle's V8 code cache is written per command after a
 * run, used by the next one with the same output, rejected and rewritten when corrupt, and never written
 * when turned off.
 */
import { spawnSync } from 'child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, it } from 'node:test';
import { CLI, DEMO_DIGIT, DEMO_MODEL } from './helpers/cli';

function run(cacheHome: string, args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8', timeout: 120_000, env: { ...process.env, XDG_CACHE_HOME: cacheHome, ...env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const cacheFiles = (home: string): string[] => {
  const dir = path.join(home, 'relevance-lens', 'v8');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
};

describe('CLI launcher: V8 code cache', () => {
  it('writes one cache per command, reuses it with the same output, survives a corrupt one', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-codecache-'));
    try {
      const explain = ['explain', DEMO_MODEL, DEMO_DIGIT(3), '--quiet', '--npy', path.join(home, 'r.npy')];
      const first = run(home, explain);
      assert.equal(first.code, 0, first.stderr);
      const files = cacheFiles(home);
      assert.equal(files.length, 1, `one cache file, got ${files.join(', ')}`);
      assert.match(files[0], /^cli-explain-[0-9a-f]{16}\.bin$/);
      const file = path.join(home, 'relevance-lens', 'v8', files[0]);
      const made = fs.statSync(file).size;
      assert.ok(made > 10_000, `cache of ${made} bytes`);
      const r1 = fs.readFileSync(path.join(home, 'r.npy'));

      // a second run reads it (V8 accepts it: the file is not rewritten) and writes the same relevance
      const before = fs.statSync(file).mtimeMs;
      const second = run(home, explain);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(fs.statSync(file).mtimeMs, before, 'an accepted cache is not written again');
      assert.deepEqual(fs.readFileSync(path.join(home, 'r.npy')), r1);

      // garbage in the cache file: V8 rejects it, the run is unchanged and the cache is made again
      fs.writeFileSync(file, Buffer.alloc(4096, 7));
      const third = run(home, explain);
      assert.equal(third.code, 0, third.stderr);
      assert.deepEqual(fs.readFileSync(path.join(home, 'r.npy')), r1);
      assert.notDeepEqual(fs.readFileSync(file).subarray(0, 64), Buffer.alloc(64, 7), 'the corrupt cache was replaced');

      // another command gets its own file; the usage output is the bundle's
      const info = run(home, ['info', DEMO_MODEL]);
      assert.equal(info.code, 0, info.stderr);
      assert.match(info.stdout, /conv|dense/i);
      assert.equal(cacheFiles(home).filter((f) => f.startsWith('cli-info-')).length, 1);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('writes nothing with RELEVANCE_LENS_CODE_CACHE=0, and the binary exits with the bundle\'s code', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-codecache-'));
    try {
      const r = run(home, ['info', DEMO_MODEL], { RELEVANCE_LENS_CODE_CACHE: '0' });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(cacheFiles(home), []);
      const bad = run(home, ['explain', path.join(home, 'missing.onnx'), DEMO_DIGIT(1)]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /missing\.onnx/);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
