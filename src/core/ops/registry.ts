/**
 * The op table: one entry per IR op kind, each declared in its own file. Adding an op = its kind in
 * OpKind (graph/ir.ts), one file here, one line below. The table is handed to lookup.ts when this
 * module loads; engine helpers look ops up there, so no op file's import leads back here.
 */
import type { Graph, Node, OpKind } from '../graph/ir';
import type { RuleName } from '../../shared/ruleSpec';
import type { OpDef, Support } from './types';
import { installOpTable, isKnownOp, isWeighted, opDef, opTable } from './lookup';
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
import { prelu } from './prelu';
import { transpose } from './transpose';
import { select } from './select';
import { constant } from './constant';
import { matmul } from './matmul';
import { layerNorm } from './layerNorm';
import { softmax } from './softmax';

function build(): Record<OpKind, OpDef> {
  const t: Record<OpKind, OpDef> = {
    input, conv2d, depthwiseConv2d, dense, batchNorm, activation, maxPool, avgPool, globalAvgPool,
    flatten, reshape, add, concat, pad, identity, mul, prelu, transpose, select, constant, matmul, layerNorm, softmax,
  };
  for (const [k, d] of Object.entries(t)) if (d.kind !== k) throw new Error(`op table: entry '${k}' declares kind '${d.kind}'`);
  return t;
}

installOpTable(build());

export { opTable, opDef, isKnownOp, isWeighted };

/** Every op kind the engine implements. */
export function opKinds(): OpKind[] {
  return Object.keys(opTable()) as OpKind[];
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
