/** The oracle's random transformer block (oracle/transformer.ts) as an engine graph: the engine's view of the same weights. */
import { GraphBuilder } from '../../../src/core/graph/builder';
import type { Graph } from '../../../src/core/graph/ir';
import type { BlockWeights, Mat } from './transformer';

export function f32(m: Mat | number[]): Float32Array {
  return Float32Array.from((m as (number | number[])[]).flat() as number[]);
}

/** max |a − b| and max |b|: the engine's values against the oracle's */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale };
}

export function blockGraph(w: BlockWeights): Graph {
  const b = new GraphBuilder('oracle-block');
  const { T, D, H, F, K } = w;
  const dh = D / H;
  const x = b.add({ name: 'input', op: 'input', inputs: [], shape: [1, T, D] });
  const tok = b.add({ name: 'tokens', op: 'reshape', inputs: [x], attrs: { targetShape: [T, D] } });
  const cls = b.add({ name: 'cls', op: 'constant', inputs: [x], params: { value: { shape: [1, D], data: f32(w.cls) } } });
  const cat = b.add({ name: 'concat', op: 'concat', inputs: [cls, tok], attrs: { axis: 1 } });
  const pos = b.add({ name: 'pos', op: 'constant', inputs: [x], params: { value: { shape: [T + 1, D], data: f32(w.pos) } } });
  const x1 = b.add({ name: 'embed', op: 'add', inputs: [cat, pos] });
  const ln = (name: string, i: number, p: { g: number[]; b: number[] }) => b.add({
    name, op: 'layerNorm', inputs: [i], attrs: { epsilon: w.lnEps },
    params: { gamma: { shape: [D], data: f32(p.g) }, beta: { shape: [D], data: f32(p.b) } },
  });
  const dense = (name: string, i: number, k: Mat, bias: number[]) => b.add({
    name, op: 'dense', inputs: [i], params: { kernel: { shape: [k.length, k[0].length], data: f32(k) }, bias: { shape: [bias.length], data: f32(bias) } },
  });
  const l1 = ln('ln1', x1, w.ln1);
  const heads = (name: string, i: number, perm: number[]) => b.add({
    name: `${name}/t`, op: 'transpose', inputs: [b.add({ name: `${name}/r`, op: 'reshape', inputs: [i], attrs: { targetShape: [T + 1, H, dh] } })], attrs: { perm },
  });
  const q = heads('q', dense('wq', l1, w.wq, w.bq), [1, 0, 2]);
  const k = heads('k', dense('wk', l1, w.wk, w.bk), [1, 2, 0]);
  const v = heads('v', dense('wv', l1, w.wv, w.bv), [1, 0, 2]);
  const s = b.add({ name: 'qk', op: 'matmul', inputs: [q, k] });
  const a = b.add({ name: 'softmax', op: 'softmax', inputs: [s] });
  const o = b.add({ name: 'av', op: 'matmul', inputs: [a, v] });
  const merged = b.add({ name: 'merge/r', op: 'reshape', inputs: [b.add({ name: 'merge/t', op: 'transpose', inputs: [o], attrs: { perm: [1, 0, 2] } })], attrs: { targetShape: [T + 1, D] } });
  const x2 = b.add({ name: 'res1', op: 'add', inputs: [x1, dense('wo', merged, w.wo, w.bo)] });
  const g = b.add({ name: 'gelu', op: 'activation', inputs: [dense('w1', ln('ln2', x2, w.ln2), w.w1, w.b1)], attrs: { activation: 'gelu' } });
  const x3 = b.add({ name: 'res2', op: 'add', inputs: [x2, dense('w2', g, w.w2, w.b2)] });
  const c = b.add({ name: 'cls-token', op: 'select', inputs: [ln('ln3', x3, w.ln3)], params: { index: { shape: [D], data: Float32Array.from({ length: D }, (_, i) => i) } } });
  const out = dense('head', c, w.wh, w.bh);
  void F; void K;
  return b.build('oracle-block', 'test', out);
}
