// Bundles: CLI, extension host, engine worker, sample worker (node) and the webview (browser).
// --main-fields=module,main keeps tfjs-backend-cpu's side-effect registration in the bundle.
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as path from 'path';

const production = process.argv.includes('--production');
const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  mainFields: ['module', 'main'],
  sourcemap: !production,
  minify: production,
  external: ['vscode', '@tensorflow/tfjs-node', 'onnxruntime-node'],
  logLevel: 'warning',
};
const entries = [
  // the binary: a launcher that loads the CLI's bundle with V8's code cache (src/cli/launcher.ts)
  { entryPoints: ['src/cli/launcher.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' }, ...node },
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cliMain.js', ...node },
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', ...node },
  { entryPoints: ['src/extension/worker/engineWorker.ts'], outfile: 'dist/engineWorker.js', ...node },
  // the onnx backend's engine process in the extension (src/core/onnx/processExplainer.ts)
  { entryPoints: ['src/core/onnx/onnxProcess.ts'], outfile: 'dist/onnxProcess.js', ...node },
  // SampleWorkerPool's workers (src/core/parallel): loaded from next to the CLI and engine worker bundles
  { entryPoints: ['src/core/parallel/sampleWorker.ts'], outfile: 'dist/sampleWorker.js', ...node },
  {
    entryPoints: ['webview/gallery/main.ts'], outfile: 'dist/gallery.js', bundle: true, platform: 'browser',
    target: 'es2022', format: 'iife', sourcemap: !production, minify: production, logLevel: 'warning',
  },
  {
    entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js', bundle: true, platform: 'browser',
    target: 'es2022', format: 'iife', sourcemap: !production, minify: production, logLevel: 'warning',
  },
].filter((e) => fs.existsSync(e.entryPoints[0]));

fs.mkdirSync('dist', { recursive: true });
await Promise.all(entries.map((e) => esbuild.build(e)));
// The wasm backend loads its binaries from next to the bundle (setWasmPaths).
const wasmDir = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
for (const f of fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) {
  fs.copyFileSync(path.join(wasmDir, f), path.join('dist', f));
}
if (fs.existsSync('dist/cli.js')) fs.chmodSync('dist/cli.js', 0o755);
