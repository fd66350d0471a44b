/**
 * The numbers behind SpRAy and compare-runs against independent checks: the Jacobi eigen-solver by
 * residuals, orthonormality and known spectra; the mass-keeping resampling against a supersampled
 * oracle; Spearman against the closed form without ties and a hand-ranked case with ties; the
 * eigengap on graphs whose number of components is known.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { symmetricEigen } from '../../src/core/dataset/eigen';
import { resampleMass, relevanceGrid } from '../../src/core/dataset/grid';
import { ranks, spearman } from '../../src/core/dataset/compare';
import { eigengapK, knnAffinity, normalizedLaplacian, spectralCluster, squaredDistances } from '../../src/core/dataset/spectral';
import { seededRandom } from '../../src/core/seededRandom';

function randomSymmetric(n: number, rnd: () => number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rnd() * 2 - 1;
  return a;
}

test('Jacobi: A·v = λ·v, VᵀV = I, Σλ = trace, Σλ² = ‖A‖²_F on random symmetric matrices', () => {
  const rnd = seededRandom(3);
  for (const n of [1, 2, 5, 30, 80]) {
    const a = randomSymmetric(n, rnd);
    const { values, vectors, sweeps } = symmetricEigen(a, n);
    let worstRes = 0;
    let worstOrth = 0;
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += a[i * n + j] * vectors[j * n + k];
        worstRes = Math.max(worstRes, Math.abs(av - values[k] * vectors[i * n + k]));
      }
      for (let l = 0; l < n; l++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += vectors[i * n + k] * vectors[i * n + l];
        worstOrth = Math.max(worstOrth, Math.abs(d - (k === l ? 1 : 0)));
      }
    }
    let trace = 0;
    let frob = 0;
    for (let i = 0; i < n; i++) trace += a[i * n + i];
    for (const v of a) frob += v * v;
    const sum = values.reduce((s, v) => s + v, 0);
    const sum2 = values.reduce((s, v) => s + v * v, 0);
    for (let k = 1; k < n; k++) assert.ok(values[k] >= values[k - 1], 'ascending');
    console.log(`n = ${n}: ${sweeps} sweeps, max |Av − λv| ${worstRes.toExponential(1)}, max |VᵀV − I| ${worstOrth.toExponential(1)}`);
    assert.ok(worstRes < 1e-10 * Math.max(1, n), `residual ${worstRes}`);
    assert.ok(worstOrth < 1e-10, `orthonormality ${worstOrth}`);
    assert.ok(Math.abs(sum - trace) < 1e-9 * n);
    assert.ok(Math.abs(sum2 - frob) < 1e-9 * frob + 1e-12);
  }
});

test('Jacobi: known spectra (path graph Laplacian 2 − 2cos(πk/n), a diagonal matrix, a repeated eigenvalue)', () => {
  const n = 40;
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    l[i * n + i] = i === 0 || i === n - 1 ? 1 : 2;
    if (i + 1 < n) l[i * n + i + 1] = l[(i + 1) * n + i] = -1;
  }
  const { values } = symmetricEigen(l, n);
  const expected = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos((Math.PI * k) / n)).sort((x, y) => x - y);
  assert.ok(values.every((v, k) => Math.abs(v - expected[k]) < 1e-12), 'path graph');
  const d = new Float64Array(9);
  [3, -1, 2].forEach((v, i) => (d[i * 3 + i] = v));
  assert.deepEqual(Array.from(symmetricEigen(d, 3).values), [-1, 2, 3]);
  // J − I for the 4×4 all-ones J: eigenvalues 3 and −1 (three times)
  const j = Float64Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 0 : 1));
  const r = symmetricEigen(j, 4);
  assert.ok([-1, -1, -1, 3].every((v, k) => Math.abs(r.values[k] - v) < 1e-12), `${r.values}`);
});

test('resampleMass keeps the total and equals a supersampled oracle; the same size is the identity', () => {
  const rnd = seededRandom(5);
  for (const [h, w, sh, sw] of [[28, 28, 32, 32], [28, 28, 8, 8], [224, 224, 32, 32], [7, 5, 3, 4]]) {
    const m = Float64Array.from({ length: h * w }, () => rnd() * 2 - 1);
    const out = resampleMass(m, h, w, sh, sw);
    const total = m.reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(out.reduce((s, v) => s + v, 0) - total) < 1e-9, 'mass kept');
    // oracle: split every pixel into sh×sw sub-pixels, each carrying 1/(sh·sw) of it; output cell (oy, ox)
    // gathers the sub-pixels (y·sh + a, x·sw + b) with floor((y·sh + a)/h) = oy and floor((x·sw + b)/w) = ox
    const oracle = new Float64Array(sh * sw);
    for (let y = 0; y < h; y++) for (let a = 0; a < sh; a++) for (let x = 0; x < w; x++) for (let b = 0; b < sw; b++) {
      oracle[Math.floor((y * sh + a) / h) * sw + Math.floor((x * sw + b) / w)] += m[y * w + x] / (sh * sw);
    }
    const worst = Math.max(...out.map((v, i) => Math.abs(v - oracle[i])));
    assert.ok(worst < 1e-9, `${h}×${w} -> ${sh}×${sw}: ${worst}`);
  }
  const m = Float64Array.from({ length: 12 }, (_, i) => i - 5);
  assert.deepEqual(Array.from(resampleMass(m, 3, 4, 3, 4)), Array.from(m));
  // relevanceGrid sums channels first
  const hwc = Float32Array.from({ length: 2 * 2 * 3 }, (_, i) => i);
  assert.deepEqual(Array.from(relevanceGrid(hwc, [2, 2, 3], 1)), [hwc.reduce((s, v) => s + v, 0)]);
});

test('Spearman: 1 − 6Σd²/(n(n²−1)) without ties; averaged ranks with ties; ±1 for monotone maps', () => {
  const rnd = seededRandom(9);
  const n = 50;
  const x = Array.from({ length: n }, () => rnd());
  const y = Array.from({ length: n }, () => rnd());
  const rx = ranks(x);
  const ry = ranks(y);
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += (rx[i] - ry[i]) ** 2;
  assert.ok(Math.abs(spearman(x, y) - (1 - (6 * d2) / (n * (n * n - 1)))) < 1e-12);
  assert.deepEqual(Array.from(ranks([10, 20, 20, 5, 20])), [2, 4, 4, 1, 4]);
  // with ties: Pearson of [2,4,4,1,4] and [1,2,3,4,5] by hand: mean 3 each, Σ(dx·dy) = 1, Σdx² = 8, Σdy² = 10
  assert.ok(Math.abs(spearman([10, 20, 20, 5, 20], [1, 2, 3, 4, 5]) - 1 / Math.sqrt(80)) < 1e-12);
  assert.equal(spearman(x, x.map((v) => Math.exp(3 * v))), 1);
  assert.equal(spearman(x, x.map((v) => -v)), -1);
});

test('spectral clustering: three separated blobs -> eigengap k = 3 with the blobs as clusters; one blob -> k = 1', () => {
  const rnd = seededRandom(11);
  const centres = [[0, 0, 0], [5, 0, 0], [0, 5, 5]];
  const pts: Float64Array[] = [];
  const truth: number[] = [];
  centres.forEach((c, k) => {
    for (let i = 0; i < 15 + 5 * k; i++) {
      pts.push(Float64Array.from(c, (v) => v + (rnd() - 0.5) * 0.5));
      truth.push(k);
    }
  });
  const r = spectralCluster(pts, { neighbours: 8, maxClusters: 8, seed: 1 });
  assert.equal(r.k, 3);
  // three components: L has eigenvalue 0 three times, then a gap
  assert.ok(r.eigenvalues.slice(0, 3).every((v) => Math.abs(v) < 1e-10), `${r.eigenvalues}`);
  for (let i = 0; i < pts.length; i++) for (let j = 0; j < pts.length; j++) {
    assert.equal(r.assignment[i] === r.assignment[j], truth[i] === truth[j], `points ${i}, ${j}`);
  }
  const one = spectralCluster(pts.filter((_, i) => truth[i] === 0), { neighbours: 8, maxClusters: 8, seed: 1 });
  assert.equal(one.k, 1, `one blob: gaps ${one.gaps}`);
  // the Laplacian's rows sum as D^½·1 is its null vector: L·D^½1 = 0
  const a = knnAffinity(squaredDistances(pts), pts.length, 5);
  const { l, dInvSqrt } = normalizedLaplacian(a, pts.length);
  const nn = pts.length;
  for (let i = 0; i < nn; i++) {
    let s = 0;
    for (let j = 0; j < nn; j++) s += l[i * nn + j] / dInvSqrt[j];
    assert.ok(Math.abs(s) < 1e-12);
  }
  assert.deepEqual(eigengapK([0, 0, 0.9, 1, 1.1], 4).k, 2);
});
