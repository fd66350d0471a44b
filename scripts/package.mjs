#!/usr/bin/env node
// `npm run package`: the universal .vsix (wasm only: relevance-lens.vsix) and one per platform
// (relevance-lens-<target>.vsix) that also carries onnxruntime-node with only that platform's binary,
// in dist/node_modules where the bundles' require('onnxruntime-node') finds it. Prints the sizes.
// `node scripts/package.mjs --universal` builds the universal one only (the integration suite's).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = path.join(root, 'dist');
const staged = path.join(dist, 'node_modules');
// vsce target -> onnxruntime-node's bin/napi-v6/<platform>/<arch>
const TARGETS = {
  'linux-x64': 'linux/x64', 'linux-arm64': 'linux/arm64', 'darwin-arm64': 'darwin/arm64',
  'win32-x64': 'win32/x64', 'win32-arm64': 'win32/arm64',
};

function run(cmd, args) {
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
}

function vsce(out, target) {
  run('npx', ['vsce', 'package', '--no-dependencies', '--allow-missing-repository', ...(target ? ['--target', target] : []), '-o', out]);
  return fs.statSync(path.join(root, out)).size;
}

function copy(from, to, filter = () => true) {
  fs.cpSync(from, to, { recursive: true, filter: (src) => filter(path.relative(from, src)) });
}

/** onnxruntime-node (js + one platform's binary) and onnxruntime-common, staged under dist/node_modules. */
function stage(bin) {
  fs.rmSync(staged, { recursive: true, force: true });
  const ortSrc = path.join(root, 'node_modules', 'onnxruntime-node');
  const ort = path.join(staged, 'onnxruntime-node');
  copy(path.join(ortSrc, 'package.json'), path.join(ort, 'package.json'));
  copy(path.join(ortSrc, 'dist'), path.join(ort, 'dist'), (f) => !f.endsWith('.map') && !f.endsWith('.d.ts'));
  copy(path.join(ortSrc, 'bin', 'napi-v6', bin), path.join(ort, 'bin', 'napi-v6', bin));
  const common = path.join(root, 'node_modules', 'onnxruntime-common');
  copy(common, path.join(staged, 'onnxruntime-common'), (f) => f === '' || f === 'package.json' || f.startsWith('dist'));
}

const universalOnly = process.argv.includes('--universal');
run(process.execPath, ['esbuild.mjs', '--production']);
fs.rmSync(staged, { recursive: true, force: true });
const sizes = [['universal (wasm only)', 'relevance-lens.vsix', vsce('relevance-lens.vsix')]];
if (!universalOnly) {
  try {
    for (const [target, bin] of Object.entries(TARGETS)) {
      stage(bin);
      const out = `relevance-lens-${target}.vsix`;
      sizes.push([target, out, vsce(out, target)]);
    }
  } finally {
    fs.rmSync(staged, { recursive: true, force: true });
  }
}
for (const [what, file, size] of sizes) console.log(`${file.padEnd(34)} ${(size / 2 ** 20).toFixed(1).padStart(6)} MB  ${what}`);
