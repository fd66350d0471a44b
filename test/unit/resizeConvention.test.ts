/**
 * Preprocessing as the model's own pipeline does it (issue 10): nsfwjs resizes with
 * tf.image.resizeBilinear(img, [224, 224], alignCorners = true) on a float tensor, then divides by 255.
 * The card's 'bilinear-align-corners' must reproduce that (tfjs-core's own op is the reference), and
 * the probabilities on a real photo are measured against the half-pixel convention.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend, tf } from '../../src/core/engine/backend';
import { readImageFile } from '../../src/core/image/decode';
import { preprocessImage } from '../../src/core/image/preprocess';
import { defaultCard, validateCard, type ModelCard } from '../../src/core/card/modelCard';
import { loadModel } from '../../src/core/loaders/registry';
import { canonize } from '../../src/core/graph/canonize';
import { Explainer } from '../../src/core/methods/explain';
import { chelseaPhoto, nsfwjsModel, seededUniform } from './helpers/realModels';
import { parseResizeAnswer, resizeQuestion } from '../../src/cli/commands/card';

before(async () => {
  await initBackend('cpu');
});

function card(resize: ModelCard['input']['resize']): ModelCard {
  const c = defaultCard([224, 224, 3]);
  c.input.resize = resize;
  return c;
}

/** tfjs's own resize (the op nsfwjs calls), on the image's RGB as float, /255. */
function tfReference(img: { width: number; height: number; data: Uint8Array }, alignCorners: boolean): Float32Array {
  return tf.tidy(() => {
    const rgba = tf.tensor3d(Float32Array.from(img.data), [img.height, img.width, 4]);
    const rgb = tf.slice(rgba, [0, 0, 0], [img.height, img.width, 3]);
    return tf.div(tf.image.resizeBilinear(rgb, [224, 224], alignCorners), 255).dataSync() as Float32Array;
  });
}

test("'bilinear-align-corners' equals tf.image.resizeBilinear(…, alignCorners = true) / 255", () => {
  // a random 173×97 image (odd sizes: both directions down- or upsampled at non-integer ratios)
  const w = 173;
  const h = 97;
  const data = new Uint8Array(w * h * 4);
  seededUniform(w * h * 4, 7, 0, 256).forEach((v, i) => { data[i] = Math.floor(v); });
  const img = { width: w, height: h, data };
  const ours = preprocessImage(img, card('bilinear-align-corners')).data;
  const ref = tfReference(img, true);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ours[i] - ref[i]));
  assert.ok(worst < 1e-5, `max |ours − tf| = ${worst}`);
  // and the half-pixel convention is a different picture (so the test can tell them apart)
  const half = preprocessImage(img, card('bilinear')).data;
  let d = 0;
  for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(half[i] - ref[i]));
  assert.ok(d > 0.05, `half-pixel vs align-corners differ by only ${d}`);
});

test('cards accept the resize conventions; card init asks with every one', () => {
  for (const r of ['bilinear', 'bilinear-align-corners', 'nearest', 'area', 'center-crop']) {
    const c = validateCard({ input: { height: 2, width: 2, channels: 3, resize: r, scaling: '[0,1]' } }, 'x.lens.json');
    assert.equal(c.input.resize, r);
  }
  assert.throws(() => validateCard({ input: { height: 2, width: 2, channels: 3, resize: 'bicubic', scaling: '[0,1]' } }, 'x.lens.json'), /input\.resize/);
  const q = resizeQuestion();
  for (const r of ['half-pixel', 'aligned corners', 'crop']) assert.match(q, new RegExp(r));
  assert.equal(parseResizeAnswer(''), 'bilinear');
  assert.equal(parseResizeAnswer('2'), 'bilinear-align-corners');
  assert.equal(parseResizeAnswer('center-crop'), 'center-crop');
  assert.equal(parseResizeAnswer('9'), undefined);
});

test('nsfwjs MobileNetV2 on chelsea.png: probabilities with its own (align-corners) resize vs half-pixel', async () => {
  const graph = canonize(await loadModel(nsfwjsModel('mobilenet_v2')));
  const img = readImageFile(await chelseaPhoto());
  const ex = new Explainer(graph);
  try {
    const probs = (x: Float32Array) => tf.tidy(() => tf.softmax(tf.tensor1d(ex.predict({ shape: [224, 224, 3], data: x }).logits)).dataSync() as Float32Array);
    const own = probs(preprocessImage(img, card('bilinear-align-corners')).data);
    const half = probs(preprocessImage(img, card('bilinear')).data);
    const ref = probs(tfReference(img, true));
    let dOwn = 0;
    let dHalf = 0;
    for (let i = 0; i < own.length; i++) {
      dOwn = Math.max(dOwn, Math.abs(own[i] - ref[i]));
      dHalf = Math.max(dHalf, Math.abs(half[i] - ref[i]));
    }
    console.log(`chelsea: max |Δp| vs nsfwjs's own preprocessing: align-corners card ${dOwn.toExponential(2)}, half-pixel card ${dHalf.toExponential(2)}`);
    assert.ok(dOwn < 1e-5, `align-corners card differs from nsfwjs's pipeline by ${dOwn}`);
    assert.ok(dHalf > 10 * dOwn, 'the half-pixel card should be measurably off');
  } finally {
    ex.dispose();
  }
});
