// The browser half of the integration run: opens VS Code (served by code-server's VS Code server) in
// Debian's chromium through playwright-core, with a payload URL that makes the workbench load the
// extension under development and run its extensionTestsPath suite. Resolves with the suite's exit code.
//
// The suite (inside the extension host) has no browser of its own. It asks this driver for what only a
// browser can do by logging one line, `[rl-driver] {"id", "reply", "op", ...}`; the driver carries it
// out and writes `{ok, result | error}` to the `reply` file (temp + rename); the suite polls for it.
//   op 'screenshot' {path}                 the whole window
//   op 'webview'   {steps}                 real input in the explanation panel's frame (see runSteps)
//   op 'workbench' {steps}                 the same in the workbench page (notifications, …)
// The page survives `workbench.action.reloadWindow`: exposed functions stay installed across reloads,
// so a suite that reloads the window runs again and reports its exit code here as usual.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

// Known noise of a closed network and of a web workbench (marketplace, telemetry, service worker;
// the workbench's own complaints while it shuts down for a window reload).
const NOISE = [/open-vsx\.org/, /ENOTFOUND/, /Service Worker/i, /vsda/, /^\s+at /, /Creating a socket/, /connection token/i, /ChatSessionStore/,
  /Updating additional builtin extensions cache/, /^\s*$/, /Long running operations during shutdown/, /reading 'extensionHost'/,
  /onBeforeUnload triggered/];

/** The explanation panel's document: the innermost webview frame that holds the panel's toolbar. */
async function webviewFrame(page, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    for (const f of page.frames()) {
      try {
        if (await f.evaluate(() => !!document.querySelector('#app > .toolbar'))) return f;
      } catch {
        // detached or cross-origin frame still loading
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no Relevance Lens webview frame');
}

/**
 * What the focused element looks like: its control, whether the focus ring is drawn (outline style,
 * width, colour, and the background it is drawn on), and whether a user can see it at all (inside
 * the viewport and not covered by another element, e.g. the sticky toolbar).
 */
function describeActive() {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return { control: null, tag: el ? el.tagName : null };
  const cs = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  const inViewport = r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
  const probe = (x, y) => {
    const top = document.elementFromPoint(x, y);
    return !!top && (top === el || el.contains(top) || top.contains(el));
  };
  const unobscured = inViewport && probe(r.left + r.width / 2, r.top + r.height / 2) && probe(r.left + 2, r.top + 2) && probe(r.right - 2, r.bottom - 2);
  let bg = 'rgba(0, 0, 0, 0)';
  for (let n = el.parentElement; n; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    if (c && c !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(c)) { bg = c; break; }
  }
  if (bg === 'rgba(0, 0, 0, 0)') bg = getComputedStyle(document.body).backgroundColor;
  return {
    control: el.dataset.control ?? null, tag: el.tagName, value: 'value' in el ? el.value : undefined,
    label: el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 40),
    focusVisible: el.matches(':focus-visible'),
    outline: { style: cs.outlineStyle, width: cs.outlineWidth, color: cs.outlineColor, offset: cs.outlineOffset },
    background: bg, rect: { top: r.top, left: r.left, bottom: r.bottom, right: r.right }, inViewport, unobscured,
  };
}

/**
 * Steps, each one object, run in order in `frame`; returns one result per step.
 *   {focus: sel} {click: sel, hasText?} {press: key, times?, delay?} {type: text}
 *   {tabUntil: sel, max?, key?}  presses Tab (or key) until the focused element matches sel; returns
 *                                the description of every element focused on the way
 *   {active: true}  describes the focused element     {eval: 'js expression'}  its JSON value
 *   {waitFor: sel, hasText?, timeout?}   {wait: ms}   {screenshot: file}
 */
async function runSteps(page, frame, steps) {
  const out = [];
  const locate = (s) => {
    let loc = frame.locator(s.click ?? s.focus ?? s.waitFor);
    if (s.hasText) loc = loc.filter({ hasText: s.hasText });
    return loc.first();
  };
  for (const s of steps) {
    if (s.focus) out.push(await locate(s).focus());
    else if (s.click) out.push(await locate(s).click({ timeout: s.timeout ?? 10_000 }));
    else if (s.waitFor) out.push(await locate(s).waitFor({ timeout: s.timeout ?? 10_000 }));
    else if (s.press) {
      for (let i = 0; i < (s.times ?? 1); i++) {
        await page.keyboard.press(s.press);
        if (s.delay) await new Promise((r) => setTimeout(r, s.delay));
      }
      out.push(await frame.evaluate(describeActive));
    } else if (s.type) out.push(await page.keyboard.type(s.type, { delay: 20 }));
    else if (s.tabUntil) {
      const seen = [];
      for (let i = 0; i < (s.max ?? 20); i++) {
        await page.keyboard.press(s.key ?? 'Tab');
        const d = await frame.evaluate(describeActive);
        seen.push(d);
        if (await frame.evaluate((sel) => !!document.activeElement?.matches(sel), s.tabUntil)) break;
      }
      out.push(seen);
    } else if (s.active) out.push(await frame.evaluate(describeActive));
    else if (s.eval) out.push(await frame.evaluate(s.eval));
    else if (s.wait) out.push(await new Promise((r) => setTimeout(r, s.wait)));
    else if (s.screenshot) out.push(await shoot(page, s.screenshot));
    else throw new Error(`unknown step ${JSON.stringify(s)}`);
  }
  return out;
}

async function shoot(page, target) {
  const tmp = `${target}.partial.png`;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  await page.screenshot({ path: tmp });
  fs.renameSync(tmp, target);
  return target;
}

function writeReply(file, body) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(body));
  fs.renameSync(tmp, file);
}

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
    let queue = Promise.resolve();
    const seen = new Set(); // the same log line can arrive by two routes (console and the host's log)
    const onLine = (line) => {
      const at = line.indexOf('[rl-driver] {');
      if (at < 0) return;
      let req;
      try {
        req = JSON.parse(line.slice(at + '[rl-driver] '.length));
      } catch {
        return; // a line cut by the logger: the suite times out and says which request
      }
      if (!req.id || seen.has(req.id)) return;
      seen.add(req.id);
      queue = queue.then(async () => {
        try {
          let result;
          if (req.op === 'screenshot') result = await shoot(page, req.path);
          else if (req.op === 'webview') result = await runSteps(page, await webviewFrame(page), req.steps);
          else if (req.op === 'workbench') result = await runSteps(page, page.mainFrame(), req.steps);
          else throw new Error(`unknown op ${req.op}`);
          writeReply(req.reply, { ok: true, result });
          if (verbose || req.op === 'screenshot') log(`[driver] ${req.op}${req.op === 'screenshot' ? ` -> ${req.path}` : ''}`);
        } catch (e) {
          log(`[driver] ${req.op} failed: ${e.message.split('\n')[0]}`);
          writeReply(req.reply, { ok: false, error: e.message });
        }
      });
    };
    page.on('console', (m) => {
      const t = m.text();
      if (verbose) log(`[browser:${m.type()} ${new Date().toISOString().slice(11, 23)}] ${t}`);
      onLine(t);
    });
    page.on('pageerror', (e) => verbose && log(`[pageerror] ${e.message}`));
    page.on('framenavigated', (f) => f === page.mainFrame() && log(`[driver] workbench (re)loaded`));
    const exitCode = new Promise((resolve) => {
      // The smoke-test driver hooks: the workbench forwards the extension host's log and its exit here.
      void page.exposeFunction('codeAutomationLog', (type, args) => {
        const text = util.format(...args).replace(/%c\s*\S+ color: #\w+\s*/g, '');
        onLine(text);
        if (text.includes('[rl-driver] {')) return;
        if (verbose || !NOISE.some((re) => re.test(text))) log(`[vscode ${type}] ${text}`);
      });
      void page.exposeFunction('codeAutomationExit', (code) => resolve(code));
    });
    await page.goto(url);
    const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), timeoutMs));
    const code = await Promise.race([exitCode, timeout]);
    await queue;
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
