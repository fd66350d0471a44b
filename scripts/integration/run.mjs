#!/usr/bin/env node
// `npm run test:integration`: runs test/integration in a real VS Code, with no download from Microsoft.
//   1. starts VS Code's server from code-server (installed by setup-code-server.sh) on a free loopback
//      port, in its own process group with its own HOME / user-data / extensions dirs;
//   2. lays out a test workspace (demo model + digits, broken fixtures);
//   3. runs the suite through driver.mjs (chromium + playwright-core);
//   4. stops the server's whole process group. Exit code = the suite's.
// Env: CS_DIR (default node_modules/.cache/relevance-lens/code-server, see paths.mjs), IT_OUT (default test-output), IT_TIMEOUT_MS, VERBOSE=1, KEEP_LOGS=1,
//      IT_GREP=pattern (run only the matching specs),
//      IT_VSIX=file.vsix: install that package into the server first and test the installed copy
//      (what a user gets) instead of the working tree.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSuiteInBrowser } from './driver.mjs';
import { prepareWorkspace } from './workspace.mjs';
import { codeServerDir } from './paths.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const csDir = codeServerDir(repo);
const serverMain = path.join(csDir, 'node_modules/code-server/lib/vscode/out/server-main.js');
const suitePath = path.join(repo, 'dist/test/suite.js');
const outDir = path.resolve(repo, process.env.IT_OUT || 'test-output');
const t0 = Date.now();
let summary;
const log = (s) => {
  const m = /(\d+) passed, (\d+) failed/.exec(s);
  if (m) summary = `${m[1]} passed, ${m[2]} failed`;
  console.log(s);
};

for (const [file, fix] of [[serverMain, 'scripts/integration/setup-code-server.sh'], [suitePath, 'node scripts/integration/build-suite.mjs'],
  [path.join(repo, 'dist/extension.js'), 'node esbuild.mjs']]) {
  if (!fs.existsSync(file)) {
    console.error(`integration: ${path.relative(repo, file)} missing (run ${fix})`);
    process.exit(2);
  }
}

// The suite explains the demo LeNet on the demo digits: without them every test would time out.
for (const f of ['demo/lenet/model.json', 'demo/lenet/model.lens.json', 'demo/digits/digit-3.png', 'demo/digits/digit-7.png']) {
  if (!fs.existsSync(path.join(repo, f))) {
    console.error(`integration: ${f} missing (the demo model and digits are built by npm run train-demo)`);
    process.exit(2);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForServer(url, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const r = await fetch(`${url}/version`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`VS Code server did not answer on ${url} within ${ms} ms`);
}

const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-it-'));
for (const d of ['home', 'ud/User', 'exts', 'sd']) fs.mkdirSync(path.join(runDir, d), { recursive: true });
fs.writeFileSync(path.join(runDir, 'ud/User/settings.json'), JSON.stringify({
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'security.workspace.trust.enabled': false,
  'chat.commandCenter.enabled': false,
  'window.commandCenter': false,
}, null, 2));
const workspace = prepareWorkspace(repo, path.join(runDir, 'ws'));
// Leftovers of an earlier run: screenshots, driver replies, and the phase file of a window reload
// (its presence tells the suite it runs after a reload).
for (const d of ['screenshots', 'driver', 'reload-phase.json']) fs.rmSync(path.join(outDir, d), { recursive: true, force: true });
fs.mkdirSync(path.join(outDir, 'screenshots'), { recursive: true });

// Under IT_VSIX the extension under test is the installed package, unpacked by VS Code's own installer.
let extensionDir = repo;
if (process.env.IT_VSIX) {
  const vsix = path.resolve(repo, process.env.IT_VSIX);
  const r = spawnSync(process.execPath, [serverMain, '--install-extension', vsix, '--force', '--extensions-dir', path.join(runDir, 'exts'),
    '--server-data-dir', path.join(runDir, 'sd'), '--user-data-dir', path.join(runDir, 'ud'), '--accept-server-license-terms'],
  { env: { ...process.env, HOME: path.join(runDir, 'home') }, encoding: 'utf8', timeout: 120_000 });
  const installed = fs.readdirSync(path.join(runDir, 'exts')).find((d) => d.startsWith('relevance-lens.relevance-lens-'));
  if (r.status !== 0 || !installed) {
    console.error(`[runner] installing ${vsix} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    process.exit(1);
  }
  extensionDir = path.join(runDir, 'exts', installed);
  log(`[runner] installed ${path.basename(vsix)} -> ${extensionDir}`);
}

const port = await freePort();
const serverUrl = `http://127.0.0.1:${port}`;
const serverLog = fs.openSync(path.join(runDir, 'server.log'), 'w');
const server = spawn(process.execPath, [serverMain, '--host', '127.0.0.1', '--port', String(port),
  '--without-connection-token', '--accept-server-license-terms', '--enable-smoke-test-driver', '--disable-telemetry',
  '--disable-workspace-trust', '--user-data-dir', path.join(runDir, 'ud'), '--server-data-dir', path.join(runDir, 'sd'),
  '--extensions-dir', path.join(runDir, 'exts')], {
  detached: true, // own process group: the extension host and its workers die with it
  stdio: ['ignore', serverLog, serverLog],
  env: {
    ...process.env,
    HOME: path.join(runDir, 'home'),
    // Read by the suite inside the extension host (inherited through the server).
    RELEVANCE_LENS_IT_REPO: repo,
    RELEVANCE_LENS_IT_OUT: outDir,
    RELEVANCE_LENS_IT_WORKSPACE: workspace,
    RELEVANCE_LENS_IT_DRIVER: 'playwright',
    RELEVANCE_LENS_IT_GREP: process.env.IT_GREP ?? '',
    // the extension's test hooks (src/extension/testHooks.ts): off in every other VS Code
    RELEVANCE_LENS_TEST_HOOKS: '1',
  },
});
const stopServer = () => {
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {
    // already gone
  }
};
process.on('exit', stopServer);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

let code = 1;
try {
  await waitForServer(serverUrl, 30_000);
  log(`[runner] VS Code server ${serverUrl} up after ${Date.now() - t0} ms (logs in ${runDir})`);
  code = await runSuiteInBrowser({
    serverUrl, extensionDir, suitePath, workspace,
    timeoutMs: Number(process.env.IT_TIMEOUT_MS || 300_000), verbose: !!process.env.VERBOSE, log,
  });
} catch (e) {
  console.error(`[runner] ${e.message}`);
  code = 1;
} finally {
  stopServer();
}
// The suite's summary again, alone on its line, as CI's log reader expects it.
console.log(`integration: ${summary ?? `0 passed, 1 failed`}`);
log(`[runner] suite exit code ${code}; wall ${((Date.now() - t0) / 1000).toFixed(1)} s incl. server start; screenshots in ${path.join(outDir, 'screenshots')}`);
// Logs stay for a failed run (the path is printed above); a passing run leaves nothing behind.
if (code === 0 && !process.env.KEEP_LOGS) {
  await new Promise((r) => setTimeout(r, 300)); // let the server's process group exit first
  fs.rmSync(runDir, { recursive: true, force: true });
}
process.exit(code === 0 ? 0 : 1);
