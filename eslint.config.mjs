// Lint keeps the architecture honest: no import cycles, and each layer imports only what it may
// (the rules live in scripts/lint/importRules.cjs; ARCHITECTURE.md draws the layers).
import tseslint from 'typescript-eslint';
import importRules from './scripts/lint/importRules.cjs';

const NO_HOST = 'the engine, the protocol and the CLI run without VS Code';

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.vscode-test/**', '.code-server/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.cjs'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['**/*.ts'],
    plugins: { local: importRules.plugin },
    rules: {
      'local/no-import-cycle': ['error', { roots: ['src', 'webview', 'test', 'bench', 'scripts'] }],
      'local/layer-boundaries': ['error', [
        { from: 'src/core', forbid: ['src/extension', 'src/cli', 'webview', 'vscode'], why: NO_HOST },
        { from: 'src/cli', forbid: ['src/extension', 'webview', 'vscode'], why: NO_HOST },
        { from: 'src/shared', only: ['src/shared'], forbid: ['vscode'], why: 'the protocol is shared by host and webview and depends on nothing else' },
        { from: 'webview', only: ['webview', 'src/shared'], forbid: ['vscode'], why: 'the webview only renders and talks the typed protocol (src/shared)' },
      ]],
    },
  },
);
