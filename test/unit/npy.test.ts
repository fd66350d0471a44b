import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readNpy, writeNpy } from '../../src/core/io/npy';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/core/io/atomicWrite';
import { LensError } from '../../src/core/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-npy-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** An .npy with an arbitrary header dict and payload (version 1 or 2). */
function rawNpy(dict: string, payload: Buffer, major = 1): Buffer {
  const pre = major === 1 ? 10 : 12;
  let header = dict;
  header += ' '.repeat((64 - ((pre + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(pre);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]).copy(head);
  if (major === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), payload]);
}

function floats(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

function assertBadInput(fn: () => unknown, file: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LensError);
    assert.equal(e.code, 'bad-input');
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('writeNpy / readNpy', () => {
  it('round-trips shape and values, including NaN, Inf and -0', () => {
    const data = Float32Array.from([1.5, -2.25, NaN, Infinity, -0, 3e-39, 7, 8, 9, 10, 11, 12]);
    const back = readNpy(writeNpy([2, 3, 2], data), 'a.npy');
    assert.deepEqual(back.shape, [2, 3, 2]);
    assert.deepEqual(Array.from(back.data), Array.from(data));
    assert.ok(Object.is(back.data[4], -0));
  });

  it('handles 1-D and 0-D shapes', () => {
    assert.deepEqual(readNpy(writeNpy([3], Float32Array.from([1, 2, 3])), 'b.npy').shape, [3]);
    const scalar = readNpy(writeNpy([], Float32Array.from([42])), 'c.npy');
    assert.deepEqual(scalar.shape, []);
    assert.deepEqual(Array.from(scalar.data), [42]);
  });

  it('writes a v1.0 header numpy can read: 64-byte aligned, <f4, C order, tuple shape', () => {
    const buf = writeNpy([5], new Float32Array(5));
    assert.equal(buf[6], 1);
    assert.equal(buf[7], 0);
    const headerLen = buf.readUInt16LE(8);
    assert.equal((10 + headerLen) % 64, 0);
    const header = buf.subarray(10, 10 + headerLen).toString('latin1');
    assert.ok(header.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"), header);
    assert.ok(header.endsWith('\n'));
    assert.equal(buf.length, 10 + headerLen + 20);
  });

  it('rejects a shape that does not match the data', () => {
    assert.throws(() => writeNpy([2, 2], new Float32Array(3)), RangeError);
  });

  it('reads a v2.0 header', () => {
    const buf = rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", floats([0.5, -1]), 2);
    const arr = readNpy(buf, 'v2.npy');
    assert.deepEqual(arr.shape, [1, 2]);
    assert.deepEqual(Array.from(arr.data), [0.5, -1]);
  });

  it('reads from a Uint8Array view at an odd offset', () => {
    const npy = writeNpy([2], Float32Array.from([1.25, 2.5]));
    const padded = new Uint8Array(npy.length + 1);
    padded.set(npy, 1);
    assert.deepEqual(Array.from(readNpy(padded.subarray(1), 'odd.npy').data), [1.25, 2.5]);
  });
});

describe('readNpy errors', () => {
  it('rejects float64 naming the dtype and file', () => {
    const buf = rawNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", Buffer.alloc(16));
    assertBadInput(() => readNpy(buf, 'f8.npy'), 'f8.npy', /expected a float32 C-order \.npy, got dtype '<f8'/);
  });

  it('rejects big-endian float32 and structured dtypes', () => {
    const be = rawNpy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", Buffer.alloc(4));
    assertBadInput(() => readNpy(be, 'be.npy'), 'be.npy', /'>f4'/);
    const st = rawNpy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", Buffer.alloc(4));
    assertBadInput(() => readNpy(st, 'st.npy'), 'st.npy', /structured dtype/);
  });

  it('rejects Fortran order', () => {
    const buf = rawNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", Buffer.alloc(16));
    assertBadInput(() => readNpy(buf, 'f.npy'), 'f.npy', /expected a float32 C-order \.npy, got Fortran order/);
  });

  it('rejects data shorter or longer than the shape says', () => {
    const short = rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", floats([1, 2, 3, 4, 5]));
    assertBadInput(() => readNpy(short, 's.npy'), 's.npy', /data length 20 bytes does not match shape \(2, 3\) = 24 bytes/);
    const long = rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats([1, 2]));
    assertBadInput(() => readNpy(long, 'l.npy'), 'l.npy', /does not match shape/);
  });

  it('rejects bad magic, truncated headers and unknown versions', () => {
    assertBadInput(() => readNpy(Buffer.from('PK\x03\x04 zip file here'), 'z.npy'), 'z.npy', /bad magic/);
    const ok = writeNpy([4], new Float32Array(4));
    assertBadInput(() => readNpy(ok.subarray(0, 40), 't.npy'), 't.npy', /truncated/);
    const v9 = Buffer.from(ok);
    v9[6] = 9;
    assertBadInput(() => readNpy(v9, 'v.npy'), 'v.npy', /version 9/);
  });
});

describe('writeFileAtomic', () => {
  const leftovers = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));

  it('writes (and replaces) the file, leaving no temp file', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'ok-'));
    const target = path.join(dir, 'out.json');
    fs.writeFileSync(target, 'old');
    await writeFileAtomic(target, '{"a":1}');
    assert.equal(fs.readFileSync(target, 'utf8'), '{"a":1}');
    writeFileAtomicSync(target, new Uint8Array([65, 66]));
    assert.equal(fs.readFileSync(target, 'utf8'), 'AB');
    assert.deepEqual(fs.readdirSync(dir), ['out.json']);
  });

  it('on failure keeps the old file intact and cleans the temp file', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'fail-'));
    // renaming a file over a non-empty directory fails after the temp file was written
    const target = path.join(dir, 'busy');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'keep'), 'x');
    await assert.rejects(writeFileAtomic(target, 'data'), (e: unknown) => e instanceof LensError && e.message.startsWith(`${target}: cannot write file (`));
    assert.throws(() => writeFileAtomicSync(target, 'data'), LensError);
    assert.deepEqual(leftovers(dir), []);
    assert.equal(fs.readFileSync(path.join(target, 'keep'), 'utf8'), 'x');
  });

  it('reports a missing output folder as a one-line LensError', () => {
    const target = path.join(tmp, 'no-such-dir', 'out.npy');
    assert.throws(() => writeFileAtomicSync(target, 'x'), (e: unknown) => {
      assert.ok(e instanceof LensError);
      assert.equal(e.message, `${target}: cannot write file (ENOENT)`);
      return true;
    });
  });
});
