/**
 * A model's fingerprint for patterns: the statistics depend on every weight up to the layer, so a
 * patterns file belongs to exactly one (canonized) model. Hashes names, ops, shapes and per-array
 * float64 sums, sums of squares and a strided sample of values — cheap even for VGG-sized models.
 */
import { createHash } from 'crypto';
import type { Graph, ParamArray } from '../graph/ir';

function digest(p: ParamArray): string {
  let s = 0;
  let s2 = 0;
  const d = p.data;
  for (let i = 0; i < d.length; i++) {
    s += d[i];
    s2 += d[i] * d[i];
  }
  const step = Math.max(1, Math.floor(d.length / 64));
  const sample: number[] = [];
  for (let i = 0; i < d.length; i += step) sample.push(d[i]);
  return `${p.shape.join('x')}:${s.toPrecision(12)}:${s2.toPrecision(12)}:${sample.map((v) => v.toPrecision(7)).join(',')}`;
}

const cache = new WeakMap<Graph, string>();

export function modelFingerprint(g: Graph): string {
  const hit = cache.get(g);
  if (hit) return hit;
  const h = createHash('sha256');
  for (const n of g.nodes) {
    h.update(`${n.name}|${n.op}|${n.inputs.join(',')}|${n.shape.join('x')}|${JSON.stringify(n.attrs)}\n`);
    for (const [k, p] of Object.entries(n.params)) if (p) h.update(`${k}=${digest(p)}\n`);
  }
  const fp = 'sha256:' + h.digest('hex').slice(0, 32);
  cache.set(g, fp);
  return fp;
}
