// A folder of photos on nsfwjs MobileNetV2: writes nsfwjs@4.3.0's model (MIT; an npm devDependency, shipped
// as JS modules) out as a TF.js layers folder with a model card (as the integration workspace does), collects
// the colour photos of scikit-image's sample data (Debian python3-skimage, mostly CC0; see its README.txt),
// and runs explain-set and SpRAy on them. Run: npm run photo-run [-- WORK_DIR] (default /tmp/relevance-lens-photos)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const repo = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(repo, 'package.json'));
const work = path.resolve(process.argv[2] ?? '/tmp/relevance-lens-photos');
const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';
const model = path.join(work, 'mobilenet');
const photos = path.join(work, 'photos');

if (!fs.existsSync(path.join(model, 'model.json'))) {
  const pkg = (require.resolve.paths('nsfwjs') ?? []).map((d) => path.join(d, 'nsfwjs')).find((d) => fs.existsSync(path.join(d, 'package.json')));
  if (!pkg) throw new Error('devDependency nsfwjs is not installed (npm ci)');
  const src = path.join(pkg, 'dist', 'models', 'mobilenet_v2');
  fs.mkdirSync(model, { recursive: true });
  const json = require(path.join(src, 'model.min.js'));
  for (const group of json.weightsManifest) {
    for (const p of group.paths) fs.writeFileSync(path.join(model, p), Buffer.from(require(path.join(src, `${p}.min.js`)), 'base64'));
  }
  fs.writeFileSync(path.join(model, 'model.json'), JSON.stringify(json));
  const classes = require(path.join(pkg, 'dist', 'cjs', 'nsfw_classes.js')).NSFW_CLASSES;
  const labels = Object.keys(classes).map(Number).sort((a, b) => a - b).map((k) => classes[k]);
  fs.writeFileSync(path.join(model, 'model.lens.json'), JSON.stringify({
    input: { height: 224, width: 224, channels: 3, channelOrder: 'rgb', resize: 'bilinear', scaling: '[0,1]' }, labels,
  }, null, 2));
}
if (!fs.existsSync(SKIMAGE)) throw new Error(`${SKIMAGE} not found: apt-get install python3-skimage`);
fs.mkdirSync(photos, { recursive: true });
for (const f of fs.readdirSync(SKIMAGE).filter((f) => /\.(png|jpe?g)$/i.test(f))) fs.copyFileSync(path.join(SKIMAGE, f), path.join(photos, f));
const cli = path.join(repo, 'dist', 'cli.js');
for (const args of [
  ['explain-set', path.join(model, 'model.json'), photos, '--out', path.join(work, 'run'), '--composite', 'epsilon-plus-flat', ...process.argv.slice(3)],
  ['spray', path.join(work, 'run'), '--neighbours', '4'],
]) {
  const t0 = Date.now();
  console.log(`$ relevance-lens ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  console.log(`(${((Date.now() - t0) / 1000).toFixed(1)} s wall, exit ${r.status})`);
  if (r.status !== 0) process.exit(r.status ?? 1);
}
