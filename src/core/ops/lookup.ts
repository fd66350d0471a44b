/**
 * The op lookup, kept apart from the table itself: engine helpers that ops import (forward, shapes,
 * linearOps, the ONNX emitter...) dispatch on a node's op through here, so they need not import every
 * op file (which would import them back). registry.ts, the only module that imports every op, fills it
 * when it loads; every entry point (methods, loaders' summary, the ONNX compiler) imports registry.ts.
 */
import type { Node, OpKind } from '../graph/ir';
import type { OpDef } from './types';

let table: Readonly<Record<string, OpDef>> | undefined;

/** Called once by registry.ts with the full table. */
export function installOpTable(t: Readonly<Record<OpKind, OpDef>>): void {
  table = t;
}

export function opTable(): Readonly<Record<OpKind, OpDef>> {
  if (!table) throw new Error('op table not loaded: import core/ops/registry before looking an op up');
  return table as Readonly<Record<OpKind, OpDef>>;
}

/** The op's entry; a kind the table lacks is refused by name. */
export function opDef(kind: string): OpDef {
  const d = (opTable() as Record<string, OpDef | undefined>)[kind];
  if (!d) throw new Error(`op '${kind}' is not in the op table`);
  return d;
}

export function isKnownOp(kind: string): kind is OpKind {
  return Object.prototype.hasOwnProperty.call(opTable(), kind);
}

/** Has a kernel (conv2d, depthwise, dense, and whatever the table adds). */
export function isWeighted(n: Pick<Node, 'op'>): boolean {
  return isKnownOp(n.op) && opDef(n.op).weighted === true;
}
