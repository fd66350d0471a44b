/**
 * A graph's parameters as tensors on the active backend, plus per-node caches of derived kernels
 * (w⁺, w⁻, w + γw⁺, flipped kernels, …) so repeated explanations do not rebuild them.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExplicitPad, Graph, Node } from '../graph/ir';
import { batchNormAffine } from '../graph/canonize';
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

export class PreparedGraph {
  readonly tensors: NodeTensors[];
  private readonly cache = new Map<string, tf.Tensor>();
  /** slot -> the key it holds now (derived tensors whose key carries a value, e.g. z^B bounds) */
  private readonly slots = new Map<string, string>();
  private disposed = false;

  constructor(readonly graph: Graph) {
    this.tensors = graph.nodes.map((n) => this.prepareNode(n));
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
    let v = this.cache.get(k);
    if (!v && slot !== undefined) {
      const s = `${nodeId}:${slot}`;
      const old = this.slots.get(s);
      if (old !== undefined && old !== k) {
        this.cache.get(old)?.dispose();
        this.cache.delete(old);
      }
      this.slots.set(s, k);
    }
    if (!v) {
      v = tf.keep(tf.tidy(make));
      this.cache.set(k, v);
    }
    return v as T;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.tensors) for (const v of Object.values(t)) if (v instanceof tf.Tensor) v.dispose();
    for (const v of this.cache.values()) v.dispose();
    this.cache.clear();
    this.slots.clear();
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
