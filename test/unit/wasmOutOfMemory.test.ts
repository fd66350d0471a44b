/**
 * An explanation that runs the wasm heap out (VGG16 under alpha-beta) is one line naming the model with
 * the way out (exit 2 in the CLI), not an internal error; other errors are left alone.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { wasmOutOfMemory } from '../../src/core/onnx/engineBackend';
import { isLensError } from '../../src/core/errors';
import { reportError } from '../../src/cli/errors';

/** A wasm trap as V8 raises it: a real out-of-bounds store into a one-page memory. */
function wasmTrap(): unknown {
  // (module (memory 1) (func (export "f") i32.const 70000 i32.const 1 i32.store))
  const bytes = Uint8Array.from([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 5, 1, 1, 102, 0, 0,
    10, 13, 1, 11, 0, 65, 240, 162, 4, 65, 1, 54, 2, 0, 11,
  ]);
  const wa = (globalThis as unknown as { WebAssembly: { Instance: new (m: unknown) => { exports: { f(): void } }; Module: new (b: Uint8Array) => unknown } }).WebAssembly;
  try {
    new wa.Instance(new wa.Module(bytes)).exports.f();
  } catch (e) {
    return e;
  }
  throw new Error('the store did not trap');
}

test('wasm heap exhaustion is a one-line out-of-memory error naming the model; exit 2', () => {
  const trap = wasmTrap();
  assert.match((trap as Error).message, /memory access out of bounds/);
  const e = wasmOutOfMemory(trap, 'models/vgg16.onnx', 'lrp alpha-beta');
  assert.ok(e && isLensError(e) && e.code === 'out-of-memory');
  assert.match(e.message, /^models\/vgg16\.onnx: out of memory on the wasm backend .* lrp alpha-beta; /);
  assert.ok(!e.message.includes('\n'));
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => written.push(s) > 0) as typeof process.stderr.write;
  try {
    assert.equal(reportError(e), 2);
  } finally {
    process.stderr.write = write;
  }
  assert.equal(written.join('').trim().split('\n').length, 1);
  // a failed heap growth is the same condition; an ordinary error is not
  assert.ok(wasmOutOfMemory(new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded'), 'm.onnx', 'lrp'));
  assert.equal(wasmOutOfMemory(new Error('shapes do not match'), 'm.onnx', 'lrp'), undefined);
  assert.equal(wasmOutOfMemory(new TypeError('memory access out of bounds'), 'm.onnx', 'lrp'), undefined);
});
