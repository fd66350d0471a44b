// Bundles the integration suite (test/integration/index.ts) into dist/test/suite.js, the module that
// VS Code loads as extensionTestsPath (code-server payload or @vscode/test-electron alike).
// vscode and mocha stay external: the first is the host's, the second loads from node_modules.
import * as esbuild from 'esbuild';

await esbuild.build({
  entryPoints: ['test/integration/index.ts'],
  outfile: 'dist/test/suite.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // module first: keeps tfjs-backend-cpu's side-effect registration (the suite runs the engine directly).
  mainFields: ['module', 'main'],
  sourcemap: true,
  external: ['vscode', 'mocha', '@tensorflow/tfjs-node'],
  logLevel: 'warning',
});
