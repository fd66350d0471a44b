/**
 * The op table: one entry per IR op kind, each declared in its own file. Adding an op = its kind in
 * OpKind (graph/ir.ts), one file here, one line below. Built on first use, so that an op file may
 * import engine modules that themselves look ops up (no load-order dependence).
 */
import type { Graph, Node, OpKind } from '../graph/ir';
import type { RuleName } from '../../shared/ruleSpec';
import type { OpDef, Support } from './types';
import { input } from './input';
import { conv2d } from './conv2d';
import { depthwiseConv2d } from './depthwiseConv2d';
import { dense } from './dense';
import { batchNorm } from './batchNorm';
import { activation } from './activation';
import { maxPool } from './maxPool';
import { avgPool } from './avgPool';
import { globalAvgPool } from './globalAvgPool';
import { flatten } from './flatten';
import { reshape } from './reshape';
import { add } from './add';
import { concat } from './concat';
import { pad } from './pad';
import { identity } from './identity';
import { mul } from './mul';
import { transpose } from './transpose';
import { select } from './select';
import { constant } from './constant';
import { matmul } from './matmul';
import { layerNorm } from './layerNorm';
import { softmax } from './softmax';

let table: Readonly<Record<OpKind, OpDef>> | undefined;

function build(): Record<OpKind, OpDef> {
  const t: Record<OpKind, OpDef> = {
    input, conv2d, depthwiseConv2d, dense, batchNorm, activation, maxPool, avgPool, globalAvgPool,
    flatten, reshape, add, concat, pad, identity, mul, transpose, select, constant, matmul, layerNorm, softmax,
  };
  for (const [k, d] of Object.entries(t)) if (d.kind !== k) throw new Error(`op table: entry '${k}' declares kind '${d.kind}'`);
  return t;
}

export function opTable(): Readonly<Record<OpKind, OpDef>> {
  return (table ??= build());
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

/** Every op kind the engine implements. */
export function opKinds(): OpKind[] {
  return Object.keys(opTable()) as OpKind[];
}

/** Has a kernel (conv2d, depthwise, dense, and whatever the table adds). */
export function isWeighted(n: Pick<Node, 'op'>): boolean {
  return isKnownOp(n.op) && opDef(n.op).weighted === true;
}

/** Takes an LRP rule: weighted layers and stand-alone BatchNorm. */
export function takesRule(n: Pick<Node, 'op'>): boolean {
  return isKnownOp(n.op) && opDef(n.op).rules !== undefined;
}

/** The rules a layer of this op can take (the rule pickers' list); none for ops without a rule. */
export function rulesFor(op: string): readonly RuleName[] {
  return isKnownOp(op) ? opDef(op).rules ?? [] : [];
}

/** Whether the engine runs this node, with the note `info` shows. */
export function opSupport(g: Graph, n: Node): Support {
  if (!isKnownOp(n.op)) return { supported: false, note: `op '${n.op}' is not implemented by the engine` };
  return opDef(n.op).check?.(g, n) ?? { supported: true };
}
