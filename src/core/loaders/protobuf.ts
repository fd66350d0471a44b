/**
 * A minimal protobuf wire-format reader: enough to decode the ONNX messages the loader needs without a
 * generated parser or a dependency. Fields are read lazily by number; unknown fields are skipped.
 */

export class ProtoError extends Error {}

export const enum Wire {
  Varint = 0,
  Fixed64 = 1,
  Bytes = 2,
  Fixed32 = 5,
}

export interface Field {
  no: number;
  wire: number;
  /** varint value (as a JS number; int64 beyond 2^53 loses precision) */
  num?: number;
  /** raw varint as bigint, for signed int64 */
  big?: bigint;
  /** payload of a length-delimited or fixed field */
  bytes?: Uint8Array;
}

/** Decodes one message into its fields (in order; repeated fields appear several times). */
export function decodeFields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let p = 0;
  const n = buf.length;
  const varint = (): bigint | number => {
    let result = 0;
    let shift = 0;
    let b: number;
    // fast path: up to 7 bytes fit into a double exactly
    for (let i = 0; i < 7; i++) {
      if (p >= n) throw new ProtoError(`message ends inside a varint at byte ${p}`);
      b = buf[p++];
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
    }
    let big = BigInt(result);
    let bshift = BigInt(shift);
    for (let i = 0; i < 4; i++) {
      if (p >= n) throw new ProtoError(`message ends inside a varint at byte ${p}`);
      b = buf[p++];
      big |= BigInt(b & 0x7f) << bshift;
      if (b < 0x80) return big;
      bshift += 7n;
    }
    throw new ProtoError(`malformed varint at byte ${p}`);
  };
  while (p < n) {
    const keyStart = p;
    const key = varint();
    const k = typeof key === 'bigint' ? Number(key) : key;
    const no = Math.floor(k / 8);
    const wire = k & 7;
    if (no === 0) throw new ProtoError(`invalid field number 0 at byte ${keyStart}`);
    switch (wire) {
      case Wire.Varint: {
        const v = varint();
        if (typeof v === 'bigint') out.push({ no, wire, big: v, num: Number(BigInt.asIntN(64, v)) });
        else out.push({ no, wire, num: v });
        break;
      }
      case Wire.Fixed64:
        if (p + 8 > n) throw new ProtoError(`message ends inside field ${no} at byte ${p}`);
        out.push({ no, wire, bytes: buf.subarray(p, p + 8) });
        p += 8;
        break;
      case Wire.Bytes: {
        const lenV = varint();
        const len = typeof lenV === 'bigint' ? Number(lenV) : lenV;
        if (p + len > n) throw new ProtoError(`message ends inside field ${no} (needs ${len} bytes at byte ${p}, ${n - p} left)`);
        out.push({ no, wire, bytes: buf.subarray(p, p + len) });
        p += len;
        break;
      }
      case Wire.Fixed32:
        if (p + 4 > n) throw new ProtoError(`message ends inside field ${no} at byte ${p}`);
        out.push({ no, wire, bytes: buf.subarray(p, p + 4) });
        p += 4;
        break;
      default:
        throw new ProtoError(`unsupported wire type ${wire} for field ${no} at byte ${keyStart}`);
    }
  }
  return out;
}

const utf8 = new TextDecoder('utf-8');

export function str(f: Field): string {
  return f.bytes ? utf8.decode(f.bytes) : '';
}

/** int64 of a varint field (two's complement). */
export function int(f: Field): number {
  if (f.big !== undefined) return Number(BigInt.asIntN(64, f.big));
  return f.num ?? 0;
}

export function float32(f: Field): number {
  const b = f.bytes!;
  return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
}

/** Repeated int64: packed (one Bytes field) or not (several Varint fields). */
export function ints(fields: Field[], no: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wire === Wire.Varint) out.push(int(f));
    else if (f.wire === Wire.Bytes) {
      for (const g of decodePackedVarints(f.bytes!)) out.push(g);
    }
  }
  return out;
}

function decodePackedVarints(b: Uint8Array): number[] {
  const out: number[] = [];
  let p = 0;
  while (p < b.length) {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (p >= b.length) throw new ProtoError('packed varints end inside a value');
      const c = b[p++];
      result |= BigInt(c & 0x7f) << shift;
      if (c < 0x80) break;
      shift += 7n;
    }
    out.push(Number(BigInt.asIntN(64, result)));
  }
  return out;
}

/** Repeated float: packed or not. */
export function floats(fields: Field[], no: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wire === Wire.Fixed32) out.push(float32(f));
    else if (f.wire === Wire.Bytes) {
      const b = f.bytes!;
      const v = new DataView(b.buffer, b.byteOffset, b.length);
      for (let i = 0; i + 4 <= b.length; i += 4) out.push(v.getFloat32(i, true));
    }
  }
  return out;
}

/** Repeated double: packed or not. */
export function doubles(fields: Field[], no: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    const b = f.bytes!;
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    for (let i = 0; i + 8 <= b.length; i += 8) out.push(v.getFloat64(i, true));
  }
  return out;
}

export function first(fields: Field[], no: number): Field | undefined {
  return fields.find((f) => f.no === no);
}

export function all(fields: Field[], no: number): Field[] {
  return fields.filter((f) => f.no === no);
}
