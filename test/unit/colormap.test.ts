import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  COLORMAP_NAMES,
  colormapAt,
  heatmapFromRelevance,
  overlayHeatmap,
  percentile,
  type ColormapName,
} from '../../src/core/image/colormap';

const CENTRE: Record<ColormapName, number[]> = {
  seismic: [255, 255, 255],
  bwr: [255, 255, 255],
  coldnhot: [0, 0, 0],
  gray: [128, 128, 128],
  'gray-abs': [0, 0, 0],
};
const ENDS: Record<ColormapName, [number[], number[]]> = {
  seismic: [[0, 0, 77], [128, 0, 0]],
  bwr: [[0, 0, 255], [255, 0, 0]],
  coldnhot: [[0, 255, 255], [255, 255, 0]],
  gray: [[0, 0, 0], [255, 255, 255]],
  'gray-abs': [[255, 255, 255], [255, 255, 255]],
};

function px(rgba: Uint8ClampedArray, i: number): number[] {
  return Array.from(rgba.subarray(i * 4, i * 4 + 4));
}

describe('colormapAt', () => {
  for (const name of COLORMAP_NAMES) {
    it(`${name}: 0 is the centre colour, -1 and +1 the ends, clipped beyond`, () => {
      assert.deepEqual(colormapAt(name, 0), CENTRE[name]);
      assert.deepEqual(colormapAt(name, -1), ENDS[name][0]);
      assert.deepEqual(colormapAt(name, 1), ENDS[name][1]);
      assert.deepEqual(colormapAt(name, 7), ENDS[name][1]);
      assert.deepEqual(colormapAt(name, -7), ENDS[name][0]);
      assert.deepEqual(colormapAt(name, NaN), CENTRE[name]);
    });
  }

  it('bwr is mirror-symmetric: colour(-t) is colour(t) with red and blue swapped', () => {
    for (const t of [0.1, 0.33, 0.5, 0.9]) {
      const [r, g, b] = colormapAt('bwr', t);
      assert.deepEqual(colormapAt('bwr', -t), [b, g, r]);
    }
  });

  it('seismic: positive is red-dominant, negative blue-dominant, white fades in between', () => {
    assert.deepEqual(colormapAt('seismic', 0.5), [255, 0, 0]);
    assert.deepEqual(colormapAt('seismic', -0.5), [0, 0, 255]);
    assert.deepEqual(colormapAt('seismic', 0.25), [255, 128, 128]);
  });

  it('gray-abs depends on |t| only', () => {
    assert.deepEqual(colormapAt('gray-abs', 0.4), colormapAt('gray-abs', -0.4));
  });
});

describe('percentile', () => {
  it('interpolates linearly like numpy', () => {
    assert.equal(percentile([4, 1, 3, 2], 50), 2.5);
    assert.ok(Math.abs(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) - 9.1) < 1e-12);
    assert.equal(percentile([5, 1], 100), 5);
    assert.throws(() => percentile([1], 0), RangeError);
    assert.throws(() => percentile([1], 101), RangeError);
  });
});

describe('heatmapFromRelevance', () => {
  it('maps +max and -max to the ends and 0 to the centre, scaled symmetrically', () => {
    const rel = Float32Array.from([2, -2, 0, 1]);
    const h = heatmapFromRelevance(rel, [2, 2, 1], { colormap: 'bwr' });
    assert.equal(h.width, 2);
    assert.equal(h.height, 2);
    assert.equal(h.vmax, 2);
    assert.deepEqual(px(h.rgba, 0), [255, 0, 0, 255]);
    assert.deepEqual(px(h.rgba, 1), [0, 0, 255, 255]);
    assert.deepEqual(px(h.rgba, 2), [255, 255, 255, 255]);
    assert.deepEqual(px(h.rgba, 3), [255, 128, 128, 255]);
  });

  it('uses one v for both signs: a lone small negative value is not stretched to the end', () => {
    const h = heatmapFromRelevance(Float32Array.from([4, -1]), [1, 2, 1], { colormap: 'bwr' });
    assert.deepEqual(px(h.rgba, 1), colormapAt('bwr', -0.25).concat(255));
  });

  it('sums over channels first', () => {
    // pixel 0: 1 - 1 + 1 = 1; pixel 1: -0.5 * 3 = -1.5
    const rel = Float32Array.from([1, -1, 1, -0.5, -0.5, -0.5]);
    const h = heatmapFromRelevance(rel, [1, 2, 3], { colormap: 'coldnhot' });
    assert.equal(h.vmax, 1.5);
    assert.deepEqual(px(h.rgba, 1), [0, 255, 255, 255]);
    assert.deepEqual(px(h.rgba, 0), colormapAt('coldnhot', 1 / 1.5).concat(255));
  });

  it('an all-zero map gives the centre colour everywhere and no NaN', () => {
    for (const colormap of COLORMAP_NAMES) {
      const h = heatmapFromRelevance(new Float32Array(12), [2, 2, 3], { colormap, scale: { percentile: 99 } });
      assert.equal(h.vmax, 0);
      for (let i = 0; i < 4; i++) assert.deepEqual(px(h.rgba, i), [...CENTRE[colormap], 255]);
    }
  });

  it('percentile scaling clips outliers to the ends', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1); // |R| = 1..100
    values[99] = 10000; // one outlier
    const rel = Float32Array.from(values);
    const h = heatmapFromRelevance(rel, [10, 10, 1], { colormap: 'bwr', scale: { percentile: 50 } });
    assert.equal(h.vmax, 50.5);
    assert.deepEqual(px(h.rgba, 99), [255, 0, 0, 255]); // outlier clipped
    assert.deepEqual(px(h.rgba, 80), [255, 0, 0, 255]); // above v, clipped too
    assert.deepEqual(px(h.rgba, 49), colormapAt('bwr', 50 / 50.5).concat(255));
    // with max scaling the same value is nearly white
    const hm = heatmapFromRelevance(rel, [10, 10, 1], { colormap: 'bwr' });
    assert.equal(hm.vmax, 10000);
    assert.deepEqual(px(hm.rgba, 49), [255, 254, 254, 255]);
  });

  it('polarity drops the other sign (shown as centre) and scales by the kept sign', () => {
    const rel = Float32Array.from([1, -4]);
    const pos = heatmapFromRelevance(rel, [1, 2, 1], { colormap: 'bwr', polarity: 'positive' });
    assert.equal(pos.vmax, 1);
    assert.deepEqual(px(pos.rgba, 0), [255, 0, 0, 255]);
    assert.deepEqual(px(pos.rgba, 1), [255, 255, 255, 255]);
    const neg = heatmapFromRelevance(rel, [1, 2, 1], { colormap: 'bwr', polarity: 'negative' });
    assert.equal(neg.vmax, 4);
    assert.deepEqual(px(neg.rgba, 0), [255, 255, 255, 255]);
    assert.deepEqual(px(neg.rgba, 1), [0, 0, 255, 255]);
  });

  it("polarity 'absolute' draws |Σ_c R| on the positive side, on the scale of max |R|", () => {
    // pixel 0: channels 1 and −3 sum to −2; pixel 1: 4
    const rel = Float32Array.from([1, -3, 4, 0]);
    const abs = heatmapFromRelevance(rel, [1, 2, 2], { colormap: 'bwr', polarity: 'absolute' });
    assert.equal(abs.vmax, 4);
    // bwr: half way from white to red at |R| = 2 of 4, full red at 4
    assert.deepEqual(px(abs.rgba, 0), [255, 128, 128, 255]);
    assert.deepEqual(px(abs.rgba, 1), [255, 0, 0, 255]);
    const both = heatmapFromRelevance(rel, [1, 2, 2], { colormap: 'bwr', polarity: 'both' });
    assert.deepEqual(px(both.rgba, 0), [128, 128, 255, 255], 'with its sign the same pixel is half blue');
  });

  it('treats NaN relevance as zero and rejects a shape mismatch', () => {
    const h = heatmapFromRelevance(Float32Array.from([NaN, 3]), [1, 2, 1], { colormap: 'seismic' });
    assert.equal(h.vmax, 3);
    assert.deepEqual(px(h.rgba, 0), [255, 255, 255, 255]);
    assert.throws(() => heatmapFromRelevance(new Float32Array(5), [2, 2, 1], { colormap: 'bwr' }), RangeError);
  });
});

describe('overlayHeatmap', () => {
  const base = { width: 2, height: 1, data: new Uint8Array([100, 100, 100, 255, 0, 50, 200, 0]) };
  const heat = { width: 2, height: 1, rgba: new Uint8ClampedArray([255, 0, 0, 255, 0, 0, 255, 255]) };

  it('blends by opacity and returns an opaque image', () => {
    assert.deepEqual(Array.from(overlayHeatmap(base, heat, 0).rgba), [100, 100, 100, 255, 0, 50, 200, 255]);
    assert.deepEqual(Array.from(overlayHeatmap(base, heat, 1).rgba), [255, 0, 0, 255, 0, 0, 255, 255]);
    assert.deepEqual(Array.from(overlayHeatmap(base, heat, 0.5).rgba), [178, 50, 50, 255, 0, 25, 228, 255]);
  });

  it('rejects different sizes', () => {
    assert.throws(() => overlayHeatmap({ width: 1, height: 2, data: base.data }, heat, 0.5), RangeError);
  });
});
