/**
 * PNG exports at display size (issue 10): the heatmap is resampled onto the photo at the photo's own
 * resolution (or --size), as an overlay or alone; checked against the photo and the model-size heatmap.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { exportPicture, MIN_EXPORT_SIDE } from '../../src/core/image/export';
import { heatmapFromRelevance } from '../../src/core/image/colormap';
import { encodePng } from '../../src/core/image/png';
import { decodeImage } from '../../src/core/image/decode';
import { DEMO_MODEL, runCli } from './helpers/cli';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-export-'));

/** A w×h photo with a smooth gradient, opaque. */
function photo(w: number, h: number) {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data.set([(x * 255) / w, (y * 255) / h, 128, 255], (y * w + x) * 4);
  }
  return { width: w, height: h, data };
}

/** Relevance at the model's 8×8 input: +1 in the top-left quarter, −1 in the bottom-right one. */
function quarters() {
  const data = new Float32Array(64);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) data[y * 8 + x] = y < 4 && x < 4 ? 1 : y >= 4 && x >= 4 ? -1 : 0;
  return { shape: [8, 8, 1], data };
}

const px = (p: { width: number; rgba: Uint8ClampedArray }, x: number, y: number) => Array.from(p.rgba.subarray((y * p.width + x) * 4, (y * p.width + x) * 4 + 4));

test("overlay at the photo's own resolution: geometry and colours follow the model-size heatmap", () => {
  const img = photo(300, 200);
  const rel = quarters();
  const pic = exportPicture(rel, { image: img, resize: 'bilinear' }, { colormap: 'seismic', opacity: 1 });
  assert.deepEqual([pic.width, pic.height], [300, 200]);
  const model = heatmapFromRelevance(rel.data, [8, 8, 1], { colormap: 'seismic' });
  // opacity 1: the colours are the heatmap's; far inside each quarter they equal the model-size pixels
  assert.deepEqual(px(pic, 20, 20), px(model, 0, 0));
  assert.deepEqual(px(pic, 280, 180), px(model, 7, 7));
  assert.deepEqual(px(pic, 280, 20), px(model, 7, 0));
  // opacity 0: the photo itself, untouched
  const none = exportPicture(rel, { image: img, resize: 'bilinear' }, { colormap: 'seismic', opacity: 0 });
  assert.deepEqual(Array.from(none.rgba), Array.from(img.data));
});

test('center-crop: the heatmap covers the central crop only, the rest is the photo', () => {
  const img = photo(300, 200);
  const pic = exportPicture(quarters(), { image: img, resize: 'center-crop' }, { colormap: 'seismic', opacity: 1 });
  assert.deepEqual([pic.width, pic.height], [300, 200]);
  // the crop is the central 200×200 (x 50..249): left of it the photo, inside it the heatmap
  assert.deepEqual(px(pic, 10, 100), Array.from(img.data.subarray((100 * 300 + 10) * 4, (100 * 300 + 10) * 4 + 4)));
  const model = heatmapFromRelevance(quarters().data, [8, 8, 1], { colormap: 'seismic' });
  assert.deepEqual(px(pic, 60, 10), px(model, 0, 0));
  assert.deepEqual(px(pic, 240, 190), px(model, 7, 7));
});

test('--size and heatmap-only; small images are enlarged by an integer factor', () => {
  const img = photo(300, 200);
  const sized = exportPicture(quarters(), { image: img, resize: 'bilinear' }, { colormap: 'seismic', opacity: 0.5, size: { width: 150, height: 40 } });
  assert.deepEqual([sized.width, sized.height], [150, 40]);
  const only = exportPicture(quarters(), { image: img, resize: 'bilinear' }, { colormap: 'seismic', opacity: 0.5, heatmapOnly: true });
  const model = heatmapFromRelevance(quarters().data, [8, 8, 1], { colormap: 'seismic' });
  assert.deepEqual(px(only, 20, 20), px(model, 0, 0), 'heatmap-only ignores opacity and the photo');
  const small = exportPicture(quarters(), undefined, { colormap: 'seismic', opacity: 0.5 });
  assert.deepEqual([small.width, small.height], [8 * Math.ceil(MIN_EXPORT_SIDE / 8), 8 * Math.ceil(MIN_EXPORT_SIDE / 8)]);
});

test('explain --png: a 300×200 photo gives a 300×200 PNG; --size N keeps the aspect; --heatmap-only', () => {
  const file = path.join(tmp, 'photo.png');
  const img = photo(300, 200);
  fs.writeFileSync(file, encodePng(img.data, 300, 200));
  for (const [args, w, h] of [[[], 300, 200], [['--size', '150'], 150, 100], [['--size', '64x48', '--heatmap-only'], 64, 48]] as const) {
    const out = path.join(tmp, `o${w}.png`);
    const r = runCli(['explain', DEMO_MODEL, file, '--png', out, '--backend', 'cpu', '-q', ...args]);
    assert.equal(r.code, 0, r.stderr);
    const d = decodeImage(fs.readFileSync(out), out);
    assert.deepEqual([d.width, d.height], [w, h], args.join(' '));
  }
  const r = runCli(['explain', DEMO_MODEL, file, '--png', path.join(tmp, 'x.png'), '--size', '10', '--upscale', '2', '--backend', 'cpu', '-q']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--upscale and --size/);
});
