/**
 * LRP's per-node backward, dispatched to the op table (src/core/ops): weighted layers apply their rule;
 * pooling, add and concat follow the DESIGN.md conventions (winner-take-all max pooling, proportional
 * z-rule for average pooling and add, split for concat); activations pass relevance unchanged.
 */
import type { Graph, Node } from '../graph/ir';
import { consumers } from '../graph/ir';
import type { NodeBackward } from '../engine/backward';
import { scalesByInput, type ResolvedRule } from '../rules/resolved';
import { opDef } from '../ops/registry';

/** How LRP treats a node that takes no rule, for the conservation table. */
export function structuralRuleText(node: Node): string {
  return opDef(node.op).lrpRuleText(node);
}

/**
 * Weighted nodes at whose outputs no relevance can arrive where z < 0: every consumer is a ReLU (so
 * those positions have activation 0) and every rule downstream scales relevance by its input
 * activation (all but flat, w², pass and SIGN, whose ±1 also reaches dead units), up to the next weighted layers.
 */
export function silentNegativeOutputs(g: Graph, rules: Map<number, ResolvedRule>): boolean[] {
  const cons = consumers(g);
  const relu = (id: number): boolean => {
    const n = g.nodes[id];
    return n.op === 'activation' && (n.attrs.activation === 'relu' || n.attrs.activation === 'relu6');
  };
  const scalesByActivation = (start: number): boolean => {
    const stack = [start];
    const seen = new Set<number>();
    while (stack.length) {
      const id = stack.pop()!;
      for (const c of cons[id]) {
        if (seen.has(c)) continue;
        seen.add(c);
        const rule = rules.get(c);
        if (rule) {
          if (!scalesByInput(rule)) return false;
        } else stack.push(c);
      }
    }
    return true;
  };
  return g.nodes.map((n) => n.id !== g.output && cons[n.id].length > 0 && cons[n.id].every(relu) && scalesByActivation(n.id));
}

/** LRP's backward: each node's op-table entry, with the rules and the graph facts it needs. */
export function lrpHandler(rules: Map<number, ResolvedRule>, nonNegative: boolean[], silent: boolean[] = []): NodeBackward {
  return (node, r, ctx) => opDef(node.op).lrp(node, r, { ...ctx, rules, nonNegative, silent });
}
