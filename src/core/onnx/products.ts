/**
 * A backward-only graph's products of a weighted layer's input (or its positive / negative part) with
 * a kernel variant, from the forward values it takes as inputs: the product by w is the forward value
 * less the bias.
 *
 * `cached`: the products by w⁺ and w⁻ depend on the image only, not on the rules, so they are inputs
 * too, `prod_<id>_<key>`, computed in the graph instead when `products_fresh` is 1 (their inputs then
 * zeros) and returned as the outputs `new_prod_<id>_<key>`: the first rule change on an image computes
 * them, the next ones re-use them (OnnxExplainer keeps them with the image's forward values), and a
 * rule change costs the transposed convolutions alone. The products by w⁻ of a non-negative input only
 * α-β with β ≠ 0 takes: they have their own flag, `products_fresh_minus`, so that the first change to
 * another rule does not compute them. The w⁻ product is not derived as z less the w⁺ one: where every
 * term of it is zero, that difference is a rounding residue instead of 0, which flips the stabilizer's
 * sign there (measured: the conservation table's stabilizer leak off by 3 %).
 */
import type { Node } from '../graph/ir';
import type { ResolvedRule } from '../rules/resolved';
import type { Emitter, KernelVariant } from './emitter';

/**
 * One image-only product: conv(pos, w⁺), conv(neg, w⁺), conv(pos, w⁻), conv(neg, w⁻) of an input of
 * both signs; 'm' conv(a, w⁻) of a non-negative input a (its conv(a, w⁺) is 'pp').
 */
type Key = 'pp' | 'np' | 'pm' | 'nm' | 'm';

/** Whether a graph input or output name is one of the cached products. */
export function isProductName(name: string): boolean {
  return name.startsWith('prod_') || name.startsWith('new_prod_');
}

/** The input a `new_prod_` output is fed back to. */
export function productInputOf(output: string): string {
  return output.slice('new_'.length);
}

/** The layer of a product input `prod_<id>_<key>`, and whether `products_fresh_minus` computes it. */
export function productOf(name: string): { id: number; minus: boolean } {
  const [, id, key] = name.split('_');
  return { id: Number(id), minus: key === 'm' };
}

/** Whether a run under these rules reads the 'm' products (α-β with β ≠ 0; rules.ts `ruleBody`). */
export function needsMinusProducts(rules: Map<number, ResolvedRule>): boolean {
  for (const r of rules.values()) if (r.kind === 'alpha-beta' && r.beta !== 0) return true;
  return false;
}

export function productsFromActs(e: Emitter, acts: string[], nonNegative: boolean[], cached: boolean): void {
  const flags = new Map<string, string>();
  const memo = new Map<string, string>();
  // conv(part of the input, w⁺ or w⁻) in the main graph (shared by every rule branch): an input, or
  // computed when its flag is 1
  const image = (node: Node, key: Key): string => {
    const id = `${node.id}:${key}`;
    let v = memo.get(id);
    if (v) return v;
    const kernel: KernelVariant = key === 'pp' || key === 'np' ? 'w+' : 'w-';
    const compute = (): string => {
      const a = acts[node.inputs[0]];
      const x = key === 'm' ? a : key[0] === 'p' ? e.relu(a) : e.negPart(a);
      return e.linear(node).forward(e, node, x, e.kernel(node, kernel));
    };
    v = e.g.atRoot(() => {
      const flag = key === 'm' ? 'products_fresh_minus' : 'products_fresh';
      let fresh = flags.get(flag);
      if (!fresh) flags.set(flag, (fresh = e.g.op('Equal', [e.g.input(flag, [1], 'int64'), e.g.ints([1])])));
      const name = `prod_${node.id}_${key}`;
      const dims = e.dims(node.id);
      e.g.input(name, dims);
      const then = e.branch(() => [compute()], [dims]);
      const other = e.branch(() => [name], [dims]);
      const [out] = e.g.opN('If', [fresh], { then_branch: { g: then }, else_branch: { g: other } }, 1);
      e.g.output(`new_${name}`, out, dims);
      return out;
    });
    memo.set(id, v);
    return v;
  };
  e.productOf = (node, x, v) => {
    const a = acts[node.inputs[0]];
    const part = x === a ? 'all' : e.partOf(node, x);
    if (!part) return undefined;
    if (v === 'w' && part === 'all') {
      const b = e.plainBias(node);
      return b ? e.sub(acts[node.id], b) : acts[node.id];
    }
    if (!cached || (v !== 'w' && v !== 'w+' && v !== 'w-')) return undefined;
    if (nonNegative[node.inputs[0]]) {
      // the input is its positive part (the rules' `part` is 'all')
      if (part !== 'all') return undefined;
      return image(node, v === 'w+' ? 'pp' : 'm');
    }
    const by = (w: 'w+' | 'w-'): string => {
      const [p, n]: Key[] = w === 'w+' ? ['pp', 'np'] : ['pm', 'nm'];
      return part === 'all' ? e.add(image(node, p), image(node, n)) : image(node, part === 'pos' ? p : n);
    };
    return v === 'w' ? e.add(by('w+'), by('w-')) : by(v);
  };
}
