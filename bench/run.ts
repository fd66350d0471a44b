/**
 * `npm run bench`: prints figures, asserts nothing about time (shared, noisy machines).
 * Forward pass vs LRP (epsilon-gamma-box, forward included) on the wasm backend, median of runs.
 */
import * as fs from 'fs';
import * as path from 'path';
import { initBackend, tf } from '../src/core/engine/backend';
import { Explainer } from '../src/core/methods/explain';
import type { Graph } from '../src/core/graph/ir';
import { sizeOf } from '../src/core/graph/ir';
import { openModel } from '../src/core/pipeline';
import { vgg16 } from './models';

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function randomInput(shape: number[], seed: number): Float32Array {
  const d = new Float32Array(sizeOf(shape));
  let s = seed;
  for (let i = 0; i < d.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s / 4294967296;
  }
  return d;
}

export async function benchForwardVsLrp(label: string, graph: Graph, runs: number, composite = 'epsilon-gamma-box'): Promise<void> {
  const e = new Explainer(graph);
  const shape = graph.nodes[graph.input].shape;
  const fwd: number[] = [];
  const lrp: number[] = [];
  const lrpRuleChange: number[] = [];
  const params = { low: 0, high: 1 };
  // warm-up: kernels compiled, derived weights cached
  e.explain({ shape, data: randomInput(shape, 99) }, { method: 'lrp', composite, params });
  for (let i = 0; i < runs; i++) {
    const a = { shape, data: randomInput(shape, 2 * i + 1) };
    let t0 = performance.now();
    e.predict(a);
    fwd.push(performance.now() - t0);
    const b = { shape, data: randomInput(shape, 2 * i + 2) };
    t0 = performance.now();
    e.explain(b, { method: 'lrp', composite, params });
    lrp.push(performance.now() - t0);
    t0 = performance.now();
    e.explain(b, { method: 'lrp', composite: 'epsilon-plus', params });
    lrpRuleChange.push(performance.now() - t0);
  }
  const f = median(fwd);
  const l = median(lrp);
  console.log(`${label.padEnd(28)} forward ${f.toFixed(1).padStart(8)} ms   LRP ${composite} ${l.toFixed(1).padStart(8)} ms   ratio ${(l / f).toFixed(2)}   `
    + `backward only (forward cached) ${median(lrpRuleChange).toFixed(1)} ms   [median of ${runs}]`);
  e.dispose();
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const backend = await initBackend((process.env.BENCH_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm');
  console.log(`relevance-lens bench — backend ${backend}, node ${process.version}, ${new Date().toISOString()}`);
  const root = path.join(__dirname, '..', '..');
  const lenet = path.join(root, 'demo', 'lenet', 'model.json');
  if ((!only || only === 'lenet') && fs.existsSync(lenet)) {
    const m = await openModel(lenet);
    await benchForwardVsLrp('demo LeNet-5 28×28', m.graph, 30);
  }
  if (!only || only === 'vgg16') {
    const t0 = performance.now();
    const g = vgg16(224);
    console.log(`VGG16 random weights built in ${(performance.now() - t0).toFixed(0)} ms; Zennit epsilon-gamma-box on PyTorch CPU ≈ 1500 ms on this kind of machine`);
    await benchForwardVsLrp('VGG16 224×224 (random)', g, 5);
  }
  const mem = tf.memory();
  console.log(`tensors alive at the end: ${mem.numTensors}, bytes ${mem.numBytes}`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
