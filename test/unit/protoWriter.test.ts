/**
 * The ONNX writer's protobuf encoding (onnx/protoWriter.ts) against byte strings worked out by hand from
 * the protobuf wire format (varints of 7 bits, low group first; key = field·8 + wire type; length-delimited
 * payloads; fixed32 little-endian), and nested messages whose payloads straddle the size from which a
 * payload is kept by reference instead of copied.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ProtoWriter } from '../../src/core/onnx/protoWriter';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('varints: one byte, two, 2^31, 2^53 − 1, negative (ten bytes) and a BigInt beyond 2^53', () => {
  assert.equal(hex(new ProtoWriter().int(1, 1).finish()), '0801');
  assert.equal(hex(new ProtoWriter().int(1, 300).finish()), '08ac02');
  assert.equal(hex(new ProtoWriter().int(2, 2 ** 31).finish()), '108080808008');
  assert.equal(hex(new ProtoWriter().int(1, 2 ** 53 - 1).finish()), '08ffffffffffffff0f');
  assert.equal(hex(new ProtoWriter().int(1, -1).finish()), '08ffffffffffffffffff01');
  assert.equal(hex(new ProtoWriter().int(1, -2).finish()), '08feffffffffffffffff01');
  assert.equal(hex(new ProtoWriter().int(1, 2n ** 63n).finish()), '0880808080808080808001');
  // field 20 needs a two-byte key: 20·8 + 0 = 160
  assert.equal(hex(new ProtoWriter().int(20, 7).finish()), 'a00107');
});

test('floats as fixed32 little-endian, strings ASCII and not, packed ints', () => {
  assert.equal(hex(new ProtoWriter().float(2, 1).finish()), '150000803f');
  assert.equal(hex(new ProtoWriter().float(2, -0.5).finish()), '15000000bf');
  assert.equal(hex(new ProtoWriter().string(1, 'ab').finish()), '0a026162');
  assert.equal(hex(new ProtoWriter().string(1, '').finish()), '0a00');
  // é is two bytes in UTF-8: the length counts bytes, not characters
  assert.equal(hex(new ProtoWriter().string(1, 'é1').finish()), '0a03c3a931');
  assert.equal(hex(new ProtoWriter().packedInts(8, [1, 300, 0]).finish()), '420401ac0200');
});

test('nested messages and large payloads: every byte where the format puts it, whatever the chunking', () => {
  for (const size of [0, 5, 1024, 1025, 70000]) {
    const payload = new Uint8Array(size).map((_, i) => (i * 7 + 3) & 0xff);
    const inner = new ProtoWriter().string(1, 'w').bytesField(9, payload).int(2, 1);
    const outer = new ProtoWriter().int(1, 8).message(7, new ProtoWriter().message(5, inner).string(2, 'g')).int(3, 2);
    // the same message assembled by hand
    const varint = (v: number): number[] => {
      const o: number[] = [];
      for (; v >= 0x80; v = Math.floor(v / 0x80)) o.push((v % 0x80) | 0x80);
      return [...o, v];
    };
    const innerBytes = [0x0a, 1, 0x77, 0x4a, ...varint(size), ...payload, 0x10, 1];
    const graphBytes = [0x2a, ...varint(innerBytes.length), ...innerBytes, 0x12, 1, 0x67];
    const want = Uint8Array.from([0x08, 8, 0x3a, ...varint(graphBytes.length), ...graphBytes, 0x18, 2]);
    assert.equal(outer.length, want.length, `size ${size}`);
    const got = outer.finish();
    assert.equal(got.length, want.length);
    assert.ok(Buffer.from(got).equals(Buffer.from(want)), `payload of ${size} bytes`);
  }
});

test('a payload over the inline size is not copied: the finished message holds its bytes once, in order', () => {
  // a writer that grew its buffer several times around kept chunks still joins them in order
  const w = new ProtoWriter();
  const big = new Uint8Array(5000).fill(9);
  for (let k = 0; k < 50; k++) w.string(1, `name_${k}_${'x'.repeat(k)}`).bytesField(2, k % 10 === 0 ? big : new Uint8Array([k]));
  const bytes = w.finish();
  let p = 0;
  for (let k = 0; k < 50; k++) {
    const name = `name_${k}_${'x'.repeat(k)}`;
    assert.equal(bytes[p], 0x0a);
    assert.equal(bytes[p + 1], name.length);
    assert.equal(Buffer.from(bytes.subarray(p + 2, p + 2 + name.length)).toString(), name);
    p += 2 + name.length;
    assert.equal(bytes[p++], 0x12);
    if (k % 10 === 0) {
      assert.deepEqual([bytes[p], bytes[p + 1]], [0x88, 0x27]); // 5000
      p += 2;
      assert.ok(bytes.subarray(p, p + 5000).every((v) => v === 9));
      p += 5000;
    } else {
      assert.deepEqual([bytes[p], bytes[p + 1]], [1, k]);
      p += 2;
    }
  }
  assert.equal(p, bytes.length);
});
