/**
 * A convolution kernel as an ONNX file lays it out, [O, I, kh, kw], standing in for the IR's
 * [kh, kw, I, O] until something reads `data`. The compiled path takes the file's layout as it is
 * (`oihw`): the CLI on onnxruntime then neither relays every kernel while loading nor transposes it
 * back in the graph (ResNet-50 CLI, CPU: load 0.36–0.39 → 0.19–0.21 s, explanation 1.35–1.45 → 1.22–1.34 s,
 * measured alternately at load 4–8; the transposes were ~17 % of the run's node time in its profile).
 *
 * `data` is an enumerable accessor: the first read (the wasm engine, canonization, a structured clone
 * to a worker) writes the IR layout once and drops the file's, so the kernel is held once either way.
 * `oihw` is not enumerable, so a clone carries the IR layout alone.
 */
import type { ParamArray } from './ir';

export function oihwKernel(oihw: Float32Array, kh: number, kw: number, ci: number, co: number): ParamArray {
  const k = { shape: [kh, kw, ci, co] } as ParamArray;
  const settle = (data: Float32Array): Float32Array => {
    Object.defineProperty(k, 'data', { value: data, writable: true, enumerable: true, configurable: true });
    Object.defineProperty(k, 'oihw', { value: undefined, writable: false, enumerable: false, configurable: true });
    return data;
  };
  Object.defineProperty(k, 'oihw', { value: oihw, writable: false, enumerable: false, configurable: true });
  Object.defineProperty(k, 'data', {
    get: () => settle(hwioOf(k.oihw!, kh, kw, ci, co)),
    set: (v: Float32Array) => settle(v),
    enumerable: true,
    configurable: true,
  });
  return k;
}

/**
 * [O, I, kh, kw] -> [kh, kw, I, O], written in order: for one input channel the O source rows stay in
 * cache across the kh·kw passes (the file's order made every write a cache miss: load 2× slower).
 */
export function hwioOf(src: Float32Array, kh: number, kw: number, ci: number, co: number): Float32Array {
  const out = new Float32Array(src.length);
  const K = kh * kw;
  for (let i = 0; i < ci; i++) {
    for (let yz = 0; yz < K; yz++) {
      const to = (yz * ci + i) * co;
      for (let o = 0, from = i * K + yz; o < co; o++, from += ci * K) out[to + o] = src[from];
    }
  }
  return out;
}
