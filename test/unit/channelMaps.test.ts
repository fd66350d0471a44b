/**
 * Channel maps and compare thumbnails on a shared scale (issue 10): a weak channel looks weak next to a
 * strong one; zero relevance is transparent (no white squares on a dark theme); per-map is an option.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { channelMaps } from '../../src/core/image/channelMaps';
import { heatmapFromRelevance } from '../../src/core/image/colormap';
import { sharedScales } from '../../src/shared/methodFigures';

/** 4×4×2: channel 0 strong (up to 2.6), channel 1 weak (up to 0.009), one zero pixel each. */
function layer(): Float32Array {
  const d = new Float32Array(32);
  for (let i = 1; i < 16; i++) {
    d[i * 2] = (2.6 * i) / 15;
    d[i * 2 + 1] = (-0.009 * i) / 15;
  }
  return d;
}

test('shared scale by default: the weak channel is drawn faint, with the sums and the scale', () => {
  const m = channelMaps(layer(), [4, 4, 2], { colormap: 'seismic' }, 8);
  assert.equal(m.scale, 'shared');
  assert.ok(Math.abs(m.vmax - 2.6) < 1e-6);
  assert.deepEqual(m.channels.map((c) => c.index), [0, 1]);
  assert.ok(Math.abs(m.channels[0].sum - 20.8) < 1e-4 && Math.abs(m.channels[1].sum + 0.072) < 1e-6);
  // colours: exactly the heatmap of the channel on the shared scale; alpha = |R| / vmax
  const weak = m.channels[1].picture.rgba;
  const plane = new Float32Array(16).map((_, i) => layer()[i * 2 + 1]);
  const ref = heatmapFromRelevance(plane, [4, 4, 1], { colormap: 'seismic', vmax: 2.6 }).rgba;
  for (let i = 0; i < 16; i++) {
    assert.deepEqual(Array.from(weak.subarray(i * 4, i * 4 + 3)), Array.from(ref.subarray(i * 4, i * 4 + 3)));
    assert.equal(weak[i * 4 + 3], Math.round((255 * Math.abs(plane[i])) / 2.6));
  }
  assert.ok(Math.max(...Array.from({ length: 16 }, (_, i) => weak[i * 4 + 3])) <= 1, 'the weak channel is nearly invisible');
  assert.equal(m.channels[0].picture.rgba[3], 0, 'zero relevance is transparent, not white');
});

test('per-map scale on request: each map to its own max', () => {
  const m = channelMaps(layer(), [4, 4, 2], { colormap: 'seismic' }, 8, true);
  assert.equal(m.scale, 'per-map');
  assert.ok(Math.abs(m.channels[1].vmax - 0.009) < 1e-8);
  assert.equal(m.channels[1].picture.rgba[15 * 4 + 3], 255);
});

test('compare thumbnails: one scale per unit group (attributions / gradients)', () => {
  const s = sharedScales([
    { method: 'lrp', vmax: 0.5 }, { method: 'gradient', vmax: 3 }, { method: 'integrated-gradients', vmax: 0.8 }, { method: 'smoothgrad', vmax: 1 },
  ]);
  assert.deepEqual(s, [0.8, 3, 0.8, 3]);
});
