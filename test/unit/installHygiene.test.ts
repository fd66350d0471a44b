/**
 * A quiet, tidy install (issue 10): every installed package with an install script is covered by
 * package.json's allowScripts (npm 11 warns about the others on every `npm ci`), and the integration
 * tests keep downloads and caches under node_modules/.cache/relevance-lens, with CS_DIR still honoured.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { ROOT } from './helpers/cli';

const LIFECYCLE = ['preinstall', 'install', 'postinstall'];

/** Installed packages (name@version) that would run an install script: a lifecycle script or a binding.gyp. */
function packagesWithInstallScripts(): string[] {
  const out = new Set<string>();
  const visit = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory() || e.name === '.bin' || e.name === '.cache') continue;
      const d = path.join(dir, e.name);
      if (e.name.startsWith('@')) {
        visit(d);
        continue;
      }
      const pj = path.join(d, 'package.json');
      if (fs.existsSync(pj)) {
        const p = JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string; version?: string; scripts?: Record<string, string> };
        const scripted = LIFECYCLE.some((s) => p.scripts?.[s]) || fs.existsSync(path.join(d, 'binding.gyp'));
        if (scripted && p.name) out.add(`${p.name}@${p.version}`);
      }
      visit(path.join(d, 'node_modules'));
    }
  };
  visit(path.join(ROOT, 'node_modules'));
  return [...out].sort();
}

test("allowScripts covers every installed package with an install script (npm ci prints no warning)", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
  const allow = pkg.allowScripts ?? {};
  const scripted = packagesWithInstallScripts();
  assert.ok(scripted.length >= 3, `found ${scripted.join(', ')}`);
  const uncovered = scripted.filter((nv) => {
    const name = nv.slice(0, nv.lastIndexOf('@'));
    return !(name in allow) && !(nv in allow);
  });
  assert.deepEqual(uncovered, [], `add to allowScripts (npm install-scripts approve|deny): ${uncovered.join(', ')}`);
  // the ones that are allowed to run are needed; the others are denied on purpose (see README)
  assert.equal(allow.esbuild, true);
});

test('integration downloads and caches live under node_modules/.cache/relevance-lens; CS_DIR is honoured', async () => {
  const { codeServerDir, cacheDir } = await import(path.join(ROOT, 'scripts', 'integration', 'paths.mjs')) as {
    codeServerDir(repo: string, env?: Record<string, string | undefined>): string; cacheDir(repo: string, env?: Record<string, string | undefined>): string;
  };
  assert.equal(codeServerDir(ROOT, {}), path.join(ROOT, 'node_modules', '.cache', 'relevance-lens', 'code-server'));
  assert.equal(codeServerDir(ROOT, { CS_DIR: '/opt/cs' }), '/opt/cs');
  assert.equal(cacheDir(ROOT, { RL_CACHE_DIR: '/tmp/c' }), '/tmp/c');
  // the setup script agrees: with a finished install (its stamp) at the default or at CS_DIR it stops there
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-cs-'));
  const stampIn = (dir: string) => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '.ready-4.100.3'), '');
  };
  const script = path.join(ROOT, 'scripts', 'integration', 'setup-code-server.sh');
  stampIn(path.join(tmp, 'node_modules', '.cache', 'relevance-lens', 'code-server'));
  const env = { ...process.env };
  delete env.CS_DIR;
  delete env.RL_CACHE_DIR;
  const def = spawnSync('bash', [script], { cwd: tmp, env, encoding: 'utf8' });
  assert.equal(def.status, 0, def.stderr);
  assert.match(def.stdout, new RegExp(`already in ${tmp}/node_modules/\\.cache/relevance-lens/code-server`));
  stampIn(path.join(tmp, 'shared-cs'));
  const shared = spawnSync('bash', [script], { cwd: tmp, env: { ...env, CS_DIR: path.join(tmp, 'shared-cs') }, encoding: 'utf8' });
  assert.match(shared.stdout, new RegExp(`already in ${tmp}/shared-cs`));
  assert.ok(!fs.existsSync(path.join(tmp, '.code-server')), 'nothing at the top level');
});
