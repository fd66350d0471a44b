/** Small pieces shared by the loaders: the input size of dynamic-size models, the gating product. */
import type { OpKind } from '../graph/ir';
import type { GraphBuilder } from '../graph/builder';
import { LensError } from '../errors';
import { findCardPath, readCard } from '../card/modelCard';
import type { LoadOptions } from './loader';

/**
 * Elementwise product of a signal and a gate (squeeze-excite channel gates, hard-swish x·hσ(x)):
 * inputs [signal, gate]; the gate has the signal's shape or broadcasts from [1, 1, C] (or [C] on a
 * flat signal). The op table's `mul` (ops/mul.ts) runs it: forward a·g; LRP gives all relevance to the
 * signal, none to the gate; the gradient is s·g and Σ s·a. Checked here too, to name the model file.
 */
export const MUL_OP: OpKind = 'mul';

export function addGatingMul(b: GraphBuilder, name: string, signal: number, gate: number, sourceClass: string, file: string): number {
  const s = b.nodes[signal].shape;
  const g = b.nodes[gate].shape;
  const c = s[s.length - 1];
  const ok = (g.length === s.length && g.every((d, i) => d === s[i]))
    || (s.length === 3 && g.length === 3 && g[0] === 1 && g[1] === 1 && g[2] === c)
    || (g.length === 1 && g[0] === c);
  if (!ok) {
    throw new LensError('unsupported-op', `node '${name}' (${sourceClass}): product of shapes [${s.join(', ')}] and [${g.join(', ')}] is not a per-channel or elementwise gate`, file);
  }
  return b.add({ name, op: MUL_OP, inputs: [signal, gate], sourceClass });
}

/**
 * Height and width of an image input whose dims may be dynamic (strings or -1 in the file): the file's
 * own fixed size, else the caller's option, else the model card next to the model.
 */
export function inputSizeFor(
  file: string, inputName: string, h: number | string | undefined, w: number | string | undefined, opts: LoadOptions,
): [number, number] {
  const fixed = (d: number | string | undefined): d is number => typeof d === 'number' && d > 0;
  if (fixed(h) && fixed(w)) return [h, w];
  let size = opts.inputSize;
  if (!size) {
    const cardPath = findCardPath(file);
    if (cardPath) {
      const card = readCard(cardPath);
      size = [card.input.height, card.input.width];
    }
  }
  if (!size) {
    throw new LensError('unsupported-op',
      `input '${inputName}' has no fixed height and width (${String(h)}×${String(w)}); state them in a model card (relevance-lens card init MODEL --size HxW)`, file);
  }
  return [fixed(h) ? h : size[0], fixed(w) ? w : size[1]];
}
