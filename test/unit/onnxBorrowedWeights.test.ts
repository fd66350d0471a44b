/**
 * Sessions read the weights handed to them as in-memory external data in place (runtime.ts): no copy
 * per session, and the arrays stay alive as long as the session does even when nothing else holds them.
 * The products are checked against a dense product computed here.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { OnnxGraph } from '../../src/core/onnx/onnxGraph';
import { createSession, ortModule } from '../../src/core/onnx/runtime';
import { collectGarbage } from '../../src/core/onnx/oneRun';
import { Rand } from './helpers/methodNets';

const N = 512; // a 1 MB kernel: external data (onnxGraph.ts EXTERNAL_BYTES), its own allocation

/** y = x · W as a model whose W is an in-memory external file. */
function matmulModel(w: Float32Array): { bytes: Uint8Array; external: { path: string; data: Uint8Array }[] } {
  const g = new OnnxGraph();
  g.externalWeights = true;
  const x = g.input('x', [1, N]);
  g.output('y', g.op('MatMul', [x, g.weight(w, [N, N])]), [1, N]);
  const bytes = g.serialize();
  assert.equal(g.external.length, 1, 'the kernel is external data');
  return { bytes, external: g.external };
}

function dense(x: Float32Array, w: Float32Array): Float64Array {
  const y = new Float64Array(N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) y[j] += x[i] * w[i * N + j];
  return y;
}

function maxRelDiff(got: Float32Array, want: Float64Array): number {
  const scale = Math.max(...want.map(Math.abs));
  assert.ok(scale > 0);
  let d = 0;
  for (let j = 0; j < N; j++) d = Math.max(d, Math.abs(got[j] - want[j]));
  return d / scale;
}

async function run(s: Awaited<ReturnType<typeof createSession>>, x: Float32Array): Promise<Float32Array> {
  const ort = ortModule();
  const out = await s.run({ x: new ort.Tensor('float32', x, [1, N]) });
  return out.y.data as Float32Array;
}

test('two sessions over one weight array read it in place (a change of it shows in both runs)', async () => {
  const r = new Rand(11);
  const w = r.array(N * N, 1, 0);
  const x = r.array(N, 1, 0);
  const { bytes, external } = matmulModel(w);
  const a = await createSession(bytes, external, 'full');
  const b = await createSession(bytes, external, 'oneRun');
  try {
    for (const s of [a, b]) assert.ok(maxRelDiff(await run(s, x), dense(x, w)) <= 1e-5);
    // a probe of the no-copy property only: the graph's kernels are never written in the engine
    for (let i = 0; i < w.length; i += 3) w[i] = -w[i];
    for (const s of [a, b]) assert.ok(maxRelDiff(await run(s, x), dense(x, w)) <= 1e-5, 'the session reads the array it was given');
  } finally {
    await a.release();
    await b.release();
  }
});

test('a session keeps the weights it reads alive when the caller drops them', async () => {
  const r = new Rand(12);
  const x = r.array(N, 1, 0);
  let want: Float64Array | undefined;
  // the kernel and the model's external list go out of scope here: only the session refers to them
  const s = await (async () => {
    const w = r.array(N * N, 1, 0);
    want = dense(x, w);
    const { bytes, external } = matmulModel(w);
    return createSession(bytes, external, 'full');
  })();
  try {
    collectGarbage();
    // memory freed by the collection would be handed out again here
    const churn = Array.from({ length: 16 }, (_, k) => new Float32Array(N * N).fill(1e6 * (k + 1)));
    assert.ok(maxRelDiff(await run(s, x), want!) <= 1e-5, `still the weights given (${churn.length} arrays allocated meanwhile)`);
  } finally {
    await s.release();
  }
});
