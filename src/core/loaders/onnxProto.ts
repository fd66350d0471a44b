/**
 * ONNX protobuf messages (ModelProto's graph, nodes, attributes, tensors, value infos) decoded into
 * plain objects by the hand-written wire-format reader; tensor data from raw bytes, typed fields or
 * external data files next to the model (which must stay inside its folder).
 */
import * as fs from 'fs';
import * as path from 'path';
import { LensError } from '../errors';
import { float16ToFloat32, safeJoin } from './tfjsWeights';
import { LIMITS, openRegularFile, readBounded } from '../io/boundedRead';
import type { ConstTensor } from './graphOps';
import type { SparseOnnx } from './onnxSparse';
import {
  all, decodeFields, first, float32, floats, int, ints, str, doubles, type Field,
} from './protobuf';

export interface OnnxTensor {
  name: string;
  c: ConstTensor;
}

export interface OnnxAttr {
  name: string;
  f?: number;
  i?: number;
  s?: string;
  t?: Field[];
  floats?: number[];
  ints?: number[];
}

export interface OnnxNode {
  name: string;
  op: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, OnnxAttr>;
}

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  dims: (number | string)[];
}

export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13 };
export const DT_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DT).map(([k, v]) => [v, k.toLowerCase()]));


export class OnnxReader {
  /** `source`: the file as SparseOnnx read it; its skipped payloads are read when their tensor is */
  constructor(private readonly file: string, private readonly source?: SparseOnnx) {}

  fail(msg: string, code: 'bad-model' | 'missing-weights' = 'bad-model'): never {
    throw new LensError(code, msg, this.file);
  }

  tensor(fields: Field[]): OnnxTensor {
    const name = str(first(fields, 8) ?? ({} as Field));
    const dims = ints(fields, 1);
    const dtype = first(fields, 2)?.num ?? DT.FLOAT;
    const count = dims.reduce((a, b) => a * b, 1);
    // a declared shape is checked before it is allocated (a corrupt file may declare terabytes)
    if (!Number.isSafeInteger(count) || count < 0 || count * 8 > LIMITS.modelBytes) {
      this.fail(`tensor '${name}' declares an impossible shape [${dims.join(', ')}]`);
    }
    const location = first(fields, 14)?.num ?? 0;
    let raw = first(fields, 9)?.bytes;
    if (location === 1) raw = this.external(name, all(fields, 13));
    const kind: ConstTensor['dtype'] = dtype === DT.FLOAT || dtype === DT.DOUBLE || dtype === DT.FLOAT16 ? 'float' : dtype === DT.BOOL ? 'bool' : dtype === DT.STRING ? 'string' : 'int';
    if (dtype === DT.STRING) return { name, c: { dims, data: new Float64Array(count), dtype: kind } };
    if (raw && this.source) {
      const got = this.source.take(raw, dtype === DT.FLOAT && raw.length >= count * 4 ? count : undefined);
      if (got instanceof Float32Array) return { name, c: { dims, data: got, dtype: kind } };
      raw = got;
    }
    if (raw && dtype === DT.FLOAT && raw.length >= count * 4) {
      // weights: the bytes themselves (little-endian, as ONNX stores them) where aligned, else one copy;
      // the loader copies what the graph keeps (`ownParams`), so a view never holds the file's buffer
      const data = raw.byteOffset % 4 === 0
        ? new Float32Array(raw.buffer, raw.byteOffset, count)
        : new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + count * 4));
      return { name, c: { dims, data, dtype: kind } };
    }
    const data = new Float64Array(count);
    if (raw) {
      const v = new DataView(raw.buffer, raw.byteOffset, raw.length);
      const width: Record<number, number> = {
        [DT.FLOAT]: 4, [DT.DOUBLE]: 8, [DT.FLOAT16]: 2, [DT.INT64]: 8, [DT.UINT64]: 8, [DT.INT32]: 4, [DT.UINT32]: 4,
        [DT.INT16]: 2, [DT.UINT16]: 2, [DT.INT8]: 1, [DT.UINT8]: 1, [DT.BOOL]: 1,
      };
      const w = width[dtype];
      if (!w) this.fail(`tensor '${name}' has unsupported data type ${DT_NAMES[dtype] ?? dtype}`);
      if (raw.length < count * w) this.fail(`tensor '${name}' holds ${raw.length} bytes, needs ${count * w} (file truncated?)`, 'missing-weights');
      for (let i = 0; i < count; i++) {
        const o = i * w;
        switch (dtype) {
          case DT.FLOAT: data[i] = v.getFloat32(o, true); break;
          case DT.DOUBLE: data[i] = v.getFloat64(o, true); break;
          case DT.FLOAT16: data[i] = float16ToFloat32(v.getUint16(o, true)); break;
          case DT.INT64: data[i] = Number(v.getBigInt64(o, true)); break;
          case DT.UINT64: data[i] = Number(v.getBigUint64(o, true)); break;
          case DT.INT32: data[i] = v.getInt32(o, true); break;
          case DT.UINT32: data[i] = v.getUint32(o, true); break;
          case DT.INT16: data[i] = v.getInt16(o, true); break;
          case DT.UINT16: data[i] = v.getUint16(o, true); break;
          case DT.INT8: data[i] = v.getInt8(o); break;
          default: data[i] = v.getUint8(o);
        }
      }
    } else {
      let vals: number[];
      if (dtype === DT.FLOAT) vals = floats(fields, 4);
      else if (dtype === DT.DOUBLE) vals = doubles(fields, 10);
      else if (dtype === DT.INT64) vals = ints(fields, 7);
      else if (dtype === DT.UINT64) vals = ints(fields, 11);
      else if (dtype === DT.FLOAT16) vals = ints(fields, 5).map(float16ToFloat32);
      else vals = ints(fields, 5);
      if (vals.length !== count) {
        if (count > 0 && vals.length === 0) this.fail(`tensor '${name}' has no data`, 'missing-weights');
        this.fail(`tensor '${name}' has ${vals.length} values for shape [${dims.join(', ')}]`);
      }
      data.set(vals);
    }
    return { name, c: { dims, data, dtype: kind } };
  }

  private external(name: string, entries: Field[]): Uint8Array {
    const kv = new Map<string, string>();
    for (const e of entries) {
      const f = decodeFields(e.bytes!);
      kv.set(str(first(f, 1) ?? ({} as Field)), str(first(f, 2) ?? ({} as Field)));
    }
    const loc = kv.get('location');
    if (!loc) this.fail(`tensor '${name}' is external but names no file`);
    const p = safeJoin(path.dirname(this.file), loc, this.file);
    if (!fs.existsSync(p)) this.fail(`external weight file '${loc}' (tensor '${name}') not found next to the model`, 'missing-weights');
    // only the declared range is read, from a regular file inside the model's folder, within the model limit
    const offset = Number(kv.get('offset') ?? 0);
    const { fd, size } = openRegularFile(p, { what: 'external weight file', label: loc, reportAs: this.file, within: [path.dirname(this.file)] });
    fs.closeSync(fd);
    const length = kv.has('length') ? Number(kv.get('length')) : size - offset;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
      this.fail(`external weight file '${loc}' is too short for tensor '${name}'`, 'missing-weights');
    }
    return readBounded(p, {
      what: 'external weight file', label: loc, reportAs: this.file, within: [path.dirname(this.file)],
      maxBytes: LIMITS.modelBytes, limitName: 'RELEVANCE_LENS_MAX_MODEL_MB', range: { offset, length },
    });
  }

  attr(fields: Field[]): OnnxAttr {
    const a: OnnxAttr = { name: str(first(fields, 1) ?? ({} as Field)) };
    const f = first(fields, 2);
    if (f) a.f = float32(f);
    const i = first(fields, 3);
    if (i) a.i = int(i);
    const s = first(fields, 4);
    if (s) a.s = str(s);
    const t = first(fields, 5);
    if (t) a.t = decodeFields(t.bytes!);
    if (fields.some((x) => x.no === 7)) a.floats = floats(fields, 7);
    if (fields.some((x) => x.no === 8)) a.ints = ints(fields, 8);
    return a;
  }

  node(fields: Field[]): OnnxNode {
    return {
      inputs: all(fields, 1).map(str),
      outputs: all(fields, 2).map(str),
      name: str(first(fields, 3) ?? ({} as Field)),
      op: str(first(fields, 4) ?? ({} as Field)),
      attrs: new Map(all(fields, 5).map((f) => {
        const a = this.attr(decodeFields(f.bytes!));
        return [a.name, a];
      })),
      domain: str(first(fields, 7) ?? ({} as Field)),
    };
  }

  valueInfo(fields: Field[]): OnnxValueInfo {
    const name = str(first(fields, 1) ?? ({} as Field));
    const type = first(fields, 2);
    let elemType = 0;
    const dims: (number | string)[] = [];
    if (type) {
      const tt = first(decodeFields(type.bytes!), 1);
      if (tt) {
        const tf = decodeFields(tt.bytes!);
        elemType = first(tf, 1)?.num ?? 0;
        const shape = first(tf, 2);
        if (shape) {
          for (const d of all(decodeFields(shape.bytes!), 1)) {
            const df = decodeFields(d.bytes!);
            const v = first(df, 1);
            const p = first(df, 2);
            dims.push(v ? int(v) : p ? str(p) : '?');
          }
        }
      }
    }
    return { name, elemType, dims };
  }
}
