/**
 * Where the wasm heap goes during one explanation (issue 9: VGG16 ran out of it under αβ and the bias-free γ
 * composites). In a fresh process: the heap's size and tf.memory() after the forward and at every derived
 * kernel of 4 MB or more when it is made (node, variant, size, whether the cache keeps it), then the peak, the time and the
 * tensor count back at its start after dispose. An out-of-memory failure prints the same line where it happened.
 *
 *   node out/scripts/heapProbe.js MODEL.onnx INPUT.npy [--composite NAME] [--method M]
 */
import * as fs from 'fs';
import { parseArgs } from 'util';
import { initBackend, tf } from '../src/core/engine/backend';
import { loadModel } from '../src/core/loaders/registry';
import { canonize } from '../src/core/graph/canonize';
import { Explainer } from '../src/core/methods/explain';
import { PreparedGraph } from '../src/core/engine/prepared';
import { readNpy } from '../src/core/io/npy';
import type { MethodName } from '../src/core/methods/types';

const MB = 2 ** 20;

function heapMB(): number {
  return (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength / MB;
}

function state(): string {
  const m = tf.memory();
  return `heap ${heapMB().toFixed(0)} MB, tensors ${m.numTensors} / ${(m.numBytes / MB).toFixed(0)} MB`;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { composite: { type: 'string' }, method: { type: 'string' } } });
  if (positionals.length !== 2) {
    process.stderr.write('usage: node out/scripts/heapProbe.js MODEL.onnx INPUT.npy [--composite NAME] [--method M]\n');
    process.exit(2);
  }
  await initBackend('wasm');
  const g = canonize(await loadModel(positionals[0]));
  const x = readNpy(fs.readFileSync(positionals[1]), positionals[1]);
  const input = { shape: x.shape.length === 4 ? x.shape.slice(1) : x.shape, data: x.data };
  const derived = PreparedGraph.prototype.derived;
  const seen = new WeakSet<tf.Tensor>();
  PreparedGraph.prototype.derived = function probe<T extends tf.Tensor>(this: PreparedGraph, id: number, key: string, make: () => T, slot?: string): T {
    const before = this.derivedBytes;
    const t = derived.call(this, id, key, make, slot) as T;
    if (t.size * 4 >= 4 * MB && !seen.has(t)) {
      seen.add(t);
      const kept = this.derivedBytes > before ? 'cached' : 'per use';
      process.stdout.write(`  ${this.graph.nodes[id].name} ${key}: ${(t.size * 4 / MB).toFixed(0)} MB ${kept}; ${state()}\n`);
    }
    return t;
  };
  const start = tf.memory().numTensors;
  const ex = new Explainer(g);
  let t = Date.now();
  try {
    ex.predict(input);
    process.stdout.write(`forward ${Date.now() - t} ms; ${state()}\n`);
    t = Date.now();
    const method = (values.method ?? 'lrp') as MethodName;
    ex.explain(input, { method, composite: values.composite, conservationDetail: method === 'lrp' });
    process.stdout.write(`explained in ${Date.now() - t} ms; ${state()} (the heap never shrinks: its peak)\n`);
  } catch (e) {
    process.stdout.write(`failed after ${Date.now() - t} ms (${(e as Error).message}); ${state()}\n`);
    process.exitCode = 1;
  } finally {
    ex.dispose();
  }
  process.stdout.write(`disposed: ${tf.memory().numTensors - start} tensors left\n`);
}

void main();
