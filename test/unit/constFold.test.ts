/**
 * Load-time constant folding of shape arithmetic (loaders/constFold.ts) against hand-worked values, and
 * the fusion of exporters' decompositions (LayerNorm, GELU erf/tanh, SiLU) back into one operator,
 * including the cases that must not fuse (an inner value used elsewhere).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  erf, expandConst, matmulConst, padConst, rangeConst, reduceConst, scatterNDConst, tileConst, whereConst,
} from '../../src/core/loaders/constFold';
import { constOf } from '../../src/core/loaders/graphOps';
import { fuseOnnxPatterns } from '../../src/core/loaders/onnxFusion';
import type { OnnxAttr, OnnxNode } from '../../src/core/loaders/onnxProto';

const arr = (c: { data: ArrayLike<number> }): number[] => Array.from(c.data);

test('Range, Expand, Where, ScatterND, Pad, Tile, MatMul, ReduceMean on constants', () => {
  assert.deepEqual(arr(rangeConst(0, 5, 2, 'int')), [0, 2, 4]);
  assert.deepEqual(arr(rangeConst(5, 0, -2, 'int')), [5, 3, 1]);
  const e = expandConst(constOf([3, 1], [1, 2, 3]), [2, 3, 2]);
  assert.deepEqual(e.dims, [2, 3, 2]);
  assert.deepEqual(arr(e), [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
  const w = whereConst(constOf([2, 1], [1, 0], 'bool'), constOf([1, 3], [1, 2, 3]), constOf([], [-1]));
  assert.deepEqual(w.dims, [2, 3]);
  assert.deepEqual(arr(w), [1, 2, 3, -1, -1, -1]);
  const s = scatterNDConst(constOf([4, 2], [0, 0, 0, 0, 0, 0, 0, 0]), constOf([2, 1], [1, -1], 'int'), constOf([2, 2], [5, 6, 7, 8]));
  assert.deepEqual(arr(s), [0, 0, 5, 6, 0, 0, 7, 8]);
  const p = padConst(constOf([2, 2], [1, 2, 3, 4]), [1, 0, 0, 1], -1);
  assert.deepEqual(p.dims, [3, 3]);
  assert.deepEqual(arr(p), [-1, -1, -1, 1, 2, -1, 3, 4, -1]);
  assert.deepEqual(arr(tileConst(constOf([1, 2], [1, 2]), [2, 2])), [1, 2, 1, 2, 1, 2, 1, 2]);
  const m = matmulConst(constOf([2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), constOf([3, 1], [1, 0, -1]));
  assert.deepEqual(m.dims, [2, 2, 1]);
  assert.deepEqual(arr(m), [-2, -2, -2, -2]);
  const r = reduceConst(constOf([2, 3], [1, 2, 3, 4, 5, 6]), [-1], true, 'mean');
  assert.deepEqual(r.dims, [2, 1]);
  assert.deepEqual(arr(r), [2, 5]);
});

test('erf to 1e-9 at reference points (GELU folding)', () => {
  const ref: [number, number][] = [[0, 0], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [-2, -0.9953222650189527], [3, 0.9999779095030014], [4.5, 0.9999999998033839]];
  for (const [x, v] of ref) assert.ok(Math.abs(erf(x) - v) <= 1e-9, `erf(${x}) = ${erf(x)}, want ${v}`);
});

// ---- fusion
let k = 0;
function node(op: string, inputs: string[], attrs: [string, Partial<OnnxAttr>][] = []): OnnxNode {
  return { name: `${op}_${k}`, op, domain: '', inputs, outputs: [`${op}_${k++}_out`], attrs: new Map(attrs.map(([n, a]) => [n, { name: n, ...a }])) };
}
const CONSTS: Record<string, number> = { two: 2, eps: 1e-5, sqrt2: Math.SQRT2, one: 1, half: 0.5, c3: 3, k1: 0.044715, k2: Math.sqrt(2 / Math.PI) };
const consts = (name: string): number[] | undefined => (name in CONSTS ? [CONSTS[name]] : undefined);
const axes = (): [string, Partial<OnnxAttr>][] => [['axes', { ints: [-1] }]];

function layerNormNodes(x: string): OnnxNode[] {
  const mean = node('ReduceMean', [x], axes());
  const sub = node('Sub', [x, mean.outputs[0]]);
  const pow = node('Pow', [sub.outputs[0], 'two']);
  const vm = node('ReduceMean', [pow.outputs[0]], axes());
  const add = node('Add', [vm.outputs[0], 'eps']);
  const sqrt = node('Sqrt', [add.outputs[0]]);
  const div = node('Div', [sub.outputs[0], sqrt.outputs[0]]);
  return [mean, sub, pow, vm, add, sqrt, div];
}

test('fusion: LayerNorm, GELU (erf, both orders; tanh with x·x·x), SiLU; nothing else', () => {
  const ln = layerNormNodes('x');
  let out = fuseOnnxPatterns(ln, consts, [ln[6].outputs[0]]);
  assert.deepEqual(out.map((n) => n.op), ['LayerNormalization']);
  assert.equal(out[0].attrs.get('epsilon')!.f, 1e-5);
  assert.deepEqual(out[0].inputs, ['x']);
  assert.equal(out[0].outputs[0], ln[6].outputs[0]);

  // the mean used elsewhere: must stay as it is
  const ln2 = layerNormNodes('x');
  const spy = node('Relu', [ln2[0].outputs[0]]);
  out = fuseOnnxPatterns([...ln2, spy], consts, [ln2[6].outputs[0], spy.outputs[0]]);
  assert.equal(out.length, 8);

  const d = node('Div', ['x', 'sqrt2']);
  const e = node('Erf', [d.outputs[0]]);
  const a = node('Add', [e.outputs[0], 'one']);
  const m1 = node('Mul', ['x', a.outputs[0]]);
  const m2 = node('Mul', [m1.outputs[0], 'half']);
  out = fuseOnnxPatterns([d, e, a, m1, m2], consts, [m2.outputs[0]]);
  assert.deepEqual(out.map((n) => [n.op, n.inputs, n.outputs[0]]), [['Gelu', ['x'], m2.outputs[0]]]);

  const d2 = node('Div', ['x', 'sqrt2']);
  const e2 = node('Erf', [d2.outputs[0]]);
  const a2 = node('Add', ['one', e2.outputs[0]]);
  const h2 = node('Mul', ['x', 'half']);
  const m3 = node('Mul', [h2.outputs[0], a2.outputs[0]]);
  out = fuseOnnxPatterns([d2, e2, a2, h2, m3], consts, [m3.outputs[0]]);
  assert.deepEqual(out.map((n) => n.op), ['Gelu']);

  const sq = node('Mul', ['x', 'x']);
  const cube = node('Mul', ['x', sq.outputs[0]]);
  const kc = node('Mul', ['k1', cube.outputs[0]]);
  const inner = node('Add', ['x', kc.outputs[0]]);
  const sc = node('Mul', ['k2', inner.outputs[0]]);
  const th = node('Tanh', [sc.outputs[0]]);
  const one = node('Add', ['one', th.outputs[0]]);
  const mx = node('Mul', ['x', one.outputs[0]]);
  const mh = node('Mul', ['half', mx.outputs[0]]);
  out = fuseOnnxPatterns([sq, cube, kc, inner, sc, th, one, mx, mh], consts, [mh.outputs[0]]);
  assert.deepEqual(out.map((n) => [n.op, n.attrs.get('approximate')?.s]), [['Gelu', 'tanh']]);

  const sg = node('Sigmoid', ['x']);
  const sm = node('Mul', [sg.outputs[0], 'x']);
  out = fuseOnnxPatterns([sg, sm], consts, [sm.outputs[0]]);
  assert.deepEqual(out.map((n) => [n.op, n.inputs]), [['Silu', ['x']]]);

  // a sigmoid gate of another tensor is no SiLU; an erf with a different scale no GELU
  const g2 = node('Sigmoid', ['y']);
  const gm = node('Mul', [g2.outputs[0], 'x']);
  const d3 = node('Div', ['x', 'two']);
  const e3 = node('Erf', [d3.outputs[0]]);
  const a3 = node('Add', [e3.outputs[0], 'one']);
  const m4 = node('Mul', ['x', a3.outputs[0]]);
  const m5 = node('Mul', [m4.outputs[0], 'half']);
  out = fuseOnnxPatterns([g2, gm, d3, e3, a3, m4, m5], consts, [gm.outputs[0], m5.outputs[0]]);
  assert.equal(out.length, 7);
});
