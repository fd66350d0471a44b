/**
 * ONNX files read without their large initializers' bytes (loaders/onnxSparse.ts): the weights reach the
 * graph exactly as written, each in its own aligned array, the walk reads little more than the file's
 * structure, and a file cut inside a skipped payload is refused with one line.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { OnnxGraph } from '../../src/core/onnx/onnxGraph';
import { loadOnnx } from '../../src/core/loaders/onnx';
import { SparseOnnx } from '../../src/core/loaders/onnxSparse';
import { LensError } from '../../src/core/errors';
import { Rand } from './helpers/methodNets';

const C = 64; // a [64, 64, 3, 3] kernel: 147 KB, over the 64 KB from which payloads are skipped

function writeModel(dir: string): { file: string; conv: Float32Array; fc: Float32Array; bias: Float32Array } {
  const r = new Rand(5);
  const conv = r.array(C * C * 9, 1, 0);
  const fc = r.array(10 * C, 1, 0);
  const bias = r.array(C, 1, 0);
  const g = new OnnxGraph();
  const x = g.input('x', [1, C, 8, 8]);
  // a 3-value initializer with an odd name first, so that the kernel's bytes sit at no particular alignment
  const odd = g.weight(new Float32Array([1, 2, 3]), [3], 'odd_name_');
  const y = g.op('Conv', [x, g.weight(conv, [C, C, 3, 3], 'conv_w'), g.weight(bias, [C], 'conv_b')], { pads: { ints: [1, 1, 1, 1] }, kernel_shape: { ints: [3, 3] } });
  const p = g.op('Flatten', [g.op('GlobalAveragePool', [g.op('Relu', [y])])]);
  const out = g.op('Gemm', [p, g.weight(fc, [10, C], 'fc_w')], { transB: { i: 1 } });
  g.output('logits', out, [1, 10]);
  void odd;
  const file = path.join(dir, 'net.onnx');
  fs.writeFileSync(file, g.serialize());
  return { file, conv, fc, bias };
}

test('weights read where they are kept equal the written ones; the walk skips the kernel', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-sparse-'));
  try {
    const { file, conv, fc, bias } = writeModel(dir);
    const g = loadOnnx(file);
    const cv = g.nodes.find((n) => n.op === 'conv2d')!;
    const k = cv.params.kernel!;
    // the kernel in the file's layout [O, I, kh, kw], as written, in an array of its own
    const oihw = k.oihw ?? k.data;
    assert.deepEqual(Array.from(k.oihw!), Array.from(conv));
    assert.equal(oihw.byteOffset, 0);
    assert.equal(oihw.buffer.byteLength, conv.byteLength);
    assert.deepEqual(Array.from(cv.params.bias!.data), Array.from(bias));
    const dense = g.nodes.find((n) => n.op === 'dense')!;
    const kd = dense.params.kernel!.data;
    for (let i = 0; i < C; i++) for (let j = 0; j < 10; j++) assert.equal(kd[i * 10 + j], fc[j * C + i]);

    const size = fs.statSync(file).size;
    const s = SparseOnnx.open(file);
    s.close();
    assert.ok(s.bytesRead <= size - conv.byteLength + 4096, `the walk read ${s.bytesRead} of ${size} bytes`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a file cut inside a skipped payload is refused as truncated', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-sparse-'));
  try {
    const { file, conv } = writeModel(dir);
    const bytes = fs.readFileSync(file);
    // the middle of the kernel's bytes: find its first values in the file
    const probe = Buffer.from(conv.buffer, conv.byteOffset, 16);
    const at = bytes.indexOf(probe);
    assert.ok(at > 0);
    const cut = path.join(dir, 'cut.onnx');
    fs.writeFileSync(cut, bytes.subarray(0, at + conv.byteLength / 2));
    assert.throws(() => loadOnnx(cut), (e: unknown) => e instanceof LensError && e.code === 'bad-model'
      && /truncated or corrupt/.test(e.message) && e.message.includes('cut.onnx'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
