/**
 * A graph's parameters as tensors on the active backend, plus per-node caches of derived kernels
 * (w⁺, w⁻, w + γw⁺, flipped kernels, …) so repeated explanations do not rebuild them.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExplicitPad, Graph, Node } from '../graph/ir';
import { batchNormAffine } from '../graph/batchNormAffine';
import { convPads } from './convOps';

export interface NodeTensors {
  kernel?: tf.Tensor;
  bias?: tf.Tensor1D;
  /** batchNorm as y = x * scale + shift */
  scale?: tf.Tensor1D;
  shift?: tf.Tensor1D;
  /** conv geometry with 'same' resolved against the input size */
  pads?: ExplicitPad;
}

/**
 * Bytes of derived tensors the cache keeps. ViT-B/16's dense weights are 344 MB; the γ rule derives four
 * copies (w+γw⁺, w+γw⁻ and their transposes) and the wasm heap failed past 2 GB ("memory access out of
 * bounds"). Past the budget a derived tensor is made per use and freed with the rule that asked for it.
 */
export const DERIVED_CACHE_BYTES = 512 * 2 ** 20;

/**
 * Dense kernels from this size on are used as matMul's first operand (engine/denseOps.ts): neither
 * packed by XNNPACK nor copied transposed. Smaller ones keep the faster packed product.
 */
export const LARGE_KERNEL_BYTES = 64 * 2 ** 20;

/**
 * A variant of a large kernel (w⁺, w + γw⁺, …) is derived and applied in blocks of rows of about this
 * size, each freed after use: whole variants of VGG16's 392 MB kernel, with the temporaries of their
 * derivation, took the wasm heap to 2.9 GB under γ.
 */
export const KERNEL_BLOCK_BYTES = 32 * 2 ** 20;

export class PreparedGraph {
  readonly tensors: NodeTensors[];
  private readonly cache = new Map<string, tf.Tensor>();
  /** slot -> the key it holds now (derived tensors whose key carries a value, e.g. z^B bounds) */
  private readonly slots = new Map<string, string>();
  /** over-budget derived tensors, owned by the tidy scope that made them: reused until that scope frees them */
  private readonly transient = new Map<string, tf.Tensor>();
  private cachedBytes = 0;
  private readonly cacheBytes: number;
  private readonly largeKernelBytes: number;
  /** bytes of a large kernel per block of rows (KERNEL_BLOCK_BYTES) */
  readonly blockBytes: number;
  private disposed = false;

  constructor(readonly graph: Graph, opts: { cacheBytes?: number; largeKernelBytes?: number; blockBytes?: number } = {}) {
    this.tensors = graph.nodes.map((n) => this.prepareNode(n));
    this.cacheBytes = opts.cacheBytes ?? DERIVED_CACHE_BYTES;
    this.largeKernelBytes = opts.largeKernelBytes ?? LARGE_KERNEL_BYTES;
    this.blockBytes = opts.blockBytes ?? KERNEL_BLOCK_BYTES;
  }

  /**
   * Rows [k0, k1) of a 2-D kernel [rows, cols] as a new tensor, copied from the graph's parameters: a
   * slice of the kernel tensor on wasm is ~50× slower than this copy.
   */
  kernelRows(nodeId: number, k0: number, k1: number): tf.Tensor2D {
    const k = this.graph.nodes[nodeId].params.kernel!;
    const cols = k.shape[1];
    return tf.tensor2d(k.data.subarray(k0 * cols, k1 * cols), [k1 - k0, cols], 'float32');
  }

  /** The node's kernel is large (LARGE_KERNEL_BYTES): its products avoid copies of it. */
  largeKernel(nodeId: number): boolean {
    const k = this.tensors[nodeId].kernel;
    return k !== undefined && k.size * 4 >= this.largeKernelBytes;
  }

  /** Bytes held by the derived-tensor cache now. */
  get derivedBytes(): number {
    return this.cachedBytes;
  }

  private prepareNode(n: Node): NodeTensors {
    const t: NodeTensors = {};
    const p = n.params;
    if (p.kernel) t.kernel = tf.keep(tf.tensor(p.kernel.data, p.kernel.shape, 'float32'));
    if (p.bias) t.bias = tf.keep(tf.tensor1d(p.bias.data, 'float32'));
    if (n.op === 'batchNorm') {
      const { scale, shift } = batchNormAffine(n);
      t.scale = tf.keep(tf.tensor1d(scale));
      t.shift = tf.keep(tf.tensor1d(shift));
    }
    if ((n.op === 'conv2d' || n.op === 'depthwiseConv2d') && n.attrs.conv) {
      const inShape = this.graph.nodes[n.inputs[0]].shape;
      const [kh, kw] = p.kernel!.shape;
      t.pads = convPads(n.attrs.conv, inShape[0], inShape[1], kh, kw);
    }
    return t;
  }

  /**
   * Memoised derived tensor for a node (kept until dispose). With a `slot`, only the latest key of that
   * slot is kept: tensors that depend on a value (the bounds of an input whose range differs per image)
   * would otherwise pile up over a long session, one set per value ever seen.
   */
  derived<T extends tf.Tensor>(nodeId: number, key: string, make: () => T, slot?: string): T {
    const k = `${nodeId}:${key}`;
    const v = this.cache.get(k);
    if (v) return v as T;
    const passing = this.transient.get(k);
    if (passing && !passing.isDisposed) return passing as T;
    if (slot !== undefined) {
      const s = `${nodeId}:${slot}`;
      const old = this.slots.get(s);
      if (old !== undefined && old !== k) this.drop(old);
      this.slots.set(s, k);
    }
    const made = tf.tidy(make);
    if (this.cachedBytes + made.size * 4 > this.cacheBytes) {
      // not kept: the enclosing tidy (the rule's) frees it; outside any scope it stays here until replaced
      this.transient.set(k, made);
      return made;
    }
    this.cache.set(k, tf.keep(made));
    this.cachedBytes += made.size * 4;
    return made;
  }

  private drop(k: string): void {
    const old = this.cache.get(k);
    if (old) {
      this.cachedBytes -= old.size * 4;
      old.dispose();
      this.cache.delete(k);
    }
    this.transient.get(k)?.dispose();
    this.transient.delete(k);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.tensors) for (const v of Object.values(t)) if (v instanceof tf.Tensor) v.dispose();
    for (const v of this.cache.values()) v.dispose();
    for (const v of this.transient.values()) v.dispose();
    this.cache.clear();
    this.transient.clear();
    this.slots.clear();
    this.cachedBytes = 0;
  }
}

/**
 * The cache slot of a variant that carries a value ('wg:0.25' -> 'wg'): only the latest value per slot
 * is kept, so a session that tries many γ values does not keep a kernel copy for each.
 */
export function valueSlot(key: string): string | undefined {
  const m = /^((?:flip:|T:)?(?:wg|wgn|bg|bgn)):/.exec(key);
  return m ? m[1] : undefined;
}
