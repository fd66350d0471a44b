// The browser half of the integration run: opens VS Code (served by code-server's VS Code server) in
// Debian's chromium through playwright-core, with a payload URL that makes the workbench load the
// extension under development and run its extensionTestsPath suite. Resolves with the suite's exit code.
//
// The suite can ask for a screenshot by logging `[rl-driver] screenshot /abs/file.png`; the driver
// writes the file (temp + rename) and the suite waits for it to appear.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

// Known noise of a closed network and of a web workbench (marketplace, telemetry, service worker).
const NOISE = [/open-vsx\.org/, /ENOTFOUND/, /Service Worker/i, /vsda/, /^\s+at /, /Creating a socket/, /connection token/i, /ChatSessionStore/,
  /Updating additional builtin extensions cache/, /^\s*$/];

export async function runSuiteInBrowser({ serverUrl, extensionDir, suitePath, workspace, timeoutMs, verbose, log }) {
  const host = new URL(serverUrl).host;
  const remote = (p) => `vscode-remote://${host}${p}`;
  const payload = JSON.stringify([
    ['extensionDevelopmentPath', remote(extensionDir)],
    ['extensionTestsPath', remote(suitePath)],
    ['skipWelcome', 'true'],
  ]);
  const url = `${serverUrl}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`;
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) throw new Error(`${executablePath} not found (apt-get install chromium)`);

  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 }, colorScheme: 'dark' });
    let shots = Promise.resolve();
    const requested = new Map(); // path -> time: the same log line can arrive by two routes
    const onLine = (line) => {
      const m = /\[rl-driver\] screenshot (\S+\.png)/.exec(line);
      if (m && !(Date.now() - (requested.get(m[1]) ?? 0) < 3000)) {
        const target = m[1];
        requested.set(target, Date.now());
        shots = shots.then(async () => {
          const tmp = `${target}.partial.png`;
          fs.mkdirSync(path.dirname(target), { recursive: true });
          await page.screenshot({ path: tmp });
          fs.renameSync(tmp, target);
          log(`[driver] screenshot -> ${target}`);
        }).catch((e) => log(`[driver] screenshot failed: ${e.message}`));
      }
    };
    page.on('console', (m) => {
      const t = m.text();
      if (verbose) log(`[browser:${m.type()}] ${t}`);
      onLine(t);
    });
    page.on('pageerror', (e) => verbose && log(`[pageerror] ${e.message}`));
    const exitCode = new Promise((resolve) => {
      // The smoke-test driver hooks: the workbench forwards the extension host's log and its exit here.
      void page.exposeFunction('codeAutomationLog', (type, args) => {
        const text = util.format(...args).replace(/%c\s*\S+ color: #\w+\s*/g, '');
        onLine(text);
        if (verbose || !NOISE.some((re) => re.test(text))) log(text.startsWith('[rl-driver]') ? text : `[vscode ${type}] ${text}`);
      });
      void page.exposeFunction('codeAutomationExit', (code) => resolve(code));
    });
    await page.goto(url);
    const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), timeoutMs));
    const code = await Promise.race([exitCode, timeout]);
    await shots;
    if (code === 'timeout') {
      const shot = path.join(path.dirname(suitePath), 'timeout.png');
      await page.screenshot({ path: shot }).catch(() => {});
      log(`[driver] suite did not finish in ${timeoutMs} ms (screenshot ${shot})`);
      return 1;
    }
    return code;
  } finally {
    await browser.close();
  }
}
