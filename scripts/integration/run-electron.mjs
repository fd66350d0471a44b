#!/usr/bin/env node
// `npm run test:electron`: the same suite (dist/test/suite.js) in a desktop VS Code downloaded by
// @vscode/test-electron. Needs internet access to update.code.visualstudio.com (not available in CI
// here, which uses run.mjs and code-server instead). VSCODE_EXECUTABLE points it at an installed build.
import path from 'node:path';
import os from 'node:os';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';
import { prepareWorkspace } from './workspace.mjs';
import { cacheDir } from './paths.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const workspace = prepareWorkspace(repo, fs.mkdtempSync(path.join(os.tmpdir(), 'rl-electron-ws-')));
const outDir = path.resolve(repo, process.env.IT_OUT || 'test-output');
fs.rmSync(path.join(outDir, 'reload-phase.json'), { force: true }); // see test/integration/reload.test.ts
try {
  await runTests({
    version: process.env.VSCODE_VERSION || '1.100.3',
    vscodeExecutablePath: process.env.VSCODE_EXECUTABLE || undefined,
    // the download goes to the test cache, not .vscode-test/ at the top of the work tree
    cachePath: path.join(cacheDir(repo), 'vscode-test'),
    extensionDevelopmentPath: repo,
    extensionTestsPath: path.join(repo, 'dist/test/suite.js'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
    extensionTestsEnv: {
      RELEVANCE_LENS_IT_OUT: outDir,
      RELEVANCE_LENS_IT_GREP: process.env.IT_GREP ?? '',
      RELEVANCE_LENS_IT_REPO: repo,
      RELEVANCE_LENS_TEST_HOOKS: '1', // src/extension/testHooks.ts
    },
  });
} catch (e) {
  console.error(`test:electron failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
