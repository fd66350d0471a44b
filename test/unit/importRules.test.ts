/**
 * The lint rules that guard the module structure (scripts/lint/importRules.cjs), run through ESLint
 * on a fixture tree written here: a cycle (type-only ones too) must be reported at each import that closes it,
 * and each layer's forbidden import must be.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const repo = path.resolve(__dirname, '../../..');
const importRules = require(path.join(repo, 'scripts/lint/importRules.cjs'));
const { ESLint } = require('eslint');
const tseslint = require('typescript-eslint');

type Finding = { file: string; line: number; rule: string; message: string };

/**
 * Writes these files to a temp tree, lints it through ESLint with the two rules and removes it: the
 * findings (sorted by file), each as [file, line, rule], and the cycles the script-facing helper sees.
 */
async function lintTree(files: Record<string, string>): Promise<{ found: Finding[]; rows: [string, number, string][]; cycles: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-imports-'));
  try {
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    }
    const found = await lint(dir);
    const cycles = importRules.findCycles(dir, ['src']).map((c: { file: string }) => path.relative(dir, c.file));
    return { found, rows: found.map((f) => [f.file, f.line, f.rule]), cycles };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function lint(dir: string): Promise<Finding[]> {
  const eslint = new ESLint({
    cwd: dir,
    overrideConfigFile: true,
    overrideConfig: [{
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser },
      plugins: { local: importRules.plugin },
      rules: {
        'local/no-import-cycle': ['error', { roots: ['src', 'webview'] }],
        'local/layer-boundaries': ['error', [
          { from: 'src/core', forbid: ['src/extension', 'src/cli', 'webview', 'vscode'] },
          { from: 'webview', only: ['webview', 'src/shared'], forbid: ['vscode'] },
        ]],
      },
    }],
  });
  const results = await eslint.lintFiles(['src', 'webview'].filter((d) => fs.existsSync(path.join(dir, d))));
  return results.flatMap((r: { filePath: string; messages: { line: number; ruleId: string; message: string }[] }) =>
    r.messages.map((m) => ({ file: path.relative(dir, r.filePath), line: m.line, rule: m.ruleId, message: m.message })))
    .sort((a: { file: string }, b: { file: string }) => a.file.localeCompare(b.file));
}

test('a clean tree passes both rules', async () => {
  const { rows } = await lintTree({
    'src/core/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
    'src/core/b.ts': 'export const b = 1;\n',
    'src/shared/protocol.ts': 'export type Msg = { kind: string };\n',
    'webview/main.ts': "import type { Msg } from '../src/shared/protocol';\nexport const m: Msg = { kind: 'x' };\n",
    'src/extension/host.ts': "import * as vscode from 'vscode';\nimport { a } from '../core/a';\nexport const h = [vscode, a];\n",
  });
  assert.deepEqual(rows, []);
});

test('a new cycle fails lint at each import on it, a type-only one too', async () => {
  const { found, rows, cycles } = await lintTree({
    // a -> b -> c -> a by value; d <-> e by types only
    'src/core/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
    'src/core/b.ts': "import { c } from './c';\nexport const b = () => c;\n",
    'src/core/c.ts': "import { x } from './x';\nimport { a } from './a';\nexport const c = () => [a, x];\n",
    'src/core/x.ts': 'export const x = 1;\n',
    'src/core/d.ts': "import type { E } from './e';\nexport interface D { e?: E }\n",
    'src/core/e.ts': "import { type D } from './d';\nexport interface E { d?: D }\n",
  });
  assert.deepEqual(rows, [
    ['src/core/a.ts', 1, 'local/no-import-cycle'],
    ['src/core/b.ts', 1, 'local/no-import-cycle'],
    ['src/core/c.ts', 2, 'local/no-import-cycle'],
    ['src/core/d.ts', 1, 'local/no-import-cycle'],
    ['src/core/e.ts', 1, 'local/no-import-cycle'],
  ]);
  assert.equal(found[0].message, 'import cycle: src/core/a.ts → src/core/b.ts → src/core/c.ts → src/core/a.ts');
  // the same cycles seen by the script-facing helper
  assert.deepEqual(cycles, ['src/core/a.ts', 'src/core/b.ts', 'src/core/c.ts', 'src/core/d.ts', 'src/core/e.ts']);
});

test('layer boundaries: core must not reach the extension or vscode; the webview only src/shared', async () => {
  const { rows } = await lintTree({
    'src/core/engine.ts': "import { host } from '../extension/host';\nimport * as vscode from 'vscode';\nexport const e = [host, vscode];\n",
    'src/extension/host.ts': 'export const host = 1;\n',
    'src/shared/protocol.ts': 'export const kinds = [1];\n',
    'webview/app.ts': "import { kinds } from '../src/shared/protocol';\nimport { host } from '../src/extension/host';\nexport const w = [kinds, host];\n",
  });
  assert.deepEqual(rows, [
    ['src/core/engine.ts', 1, 'local/layer-boundaries'],
    ['src/core/engine.ts', 2, 'local/layer-boundaries'],
    ['webview/app.ts', 2, 'local/layer-boundaries'],
  ]);
});

test('the project tree itself has no import cycle, type-only ones included', () => {
  const found = importRules.findCycles(repo, ['src', 'webview', 'test', 'bench', 'scripts']);
  assert.deepEqual(found.map((c: { cycle: string[] }) => c.cycle.map((f) => path.relative(repo, f)).join(' → ')), []);
});
