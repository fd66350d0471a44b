/**
 * A backward-only graph's products of a weighted layer's input (or its positive / negative part) with
 * a kernel variant, from the forward values it takes as inputs: the product by w is the forward value
 * less the bias.
 *
 * `cached`: the products by w⁺ and w⁻ depend on the image only, not on the rules, so they are inputs
 * too, `prod_<id>_<key>`, which the products model (`compileProducts`, its own small session) computes
 * from the same forward values on an image's first rule change; OnnxExplainer keeps them with the
 * image's forward values, and a rule change costs the transposed convolutions alone. They were once
 * computed inside the backward graph under an If: its other branch copied every fed product in every
 * run, and the outputs copied them again (ResNet-50, α-β rule change on one thread: CPU 313–357 → 285–309 ms, measured).
 * Like the kernel variants, a product is made only once a run's rule reads it (choiceReads.ts): the
 * products by w⁻ of a non-negative input ('m') only α-β with β ≠ 0 reads. The w⁻ product is not derived
 * as z less the w⁺ one: where every term of it is zero, that difference is a rounding residue instead of
 * 0, which flips the stabilizer's sign there (measured: the conservation table's stabilizer leak off by 3 %).
 */
import type { Node } from '../graph/ir';
import type { Emitter, KernelVariant } from './emitter';

/**
 * One image-only product: conv(pos, w⁺), conv(neg, w⁺), conv(pos, w⁻), conv(neg, w⁻) of an input of
 * both signs; 'm' conv(a, w⁻) of a non-negative input a (its conv(a, w⁺) is 'pp').
 */
type Key = 'pp' | 'np' | 'pm' | 'nm' | 'm';

/** Whether a graph input name is one of the cached products. */
export function isProductName(name: string): boolean {
  return name.startsWith('prod_');
}

/** The layer of a product input `prod_<id>_<key>`, and whether it is of the w⁻ group ('m'). */
export function productOf(name: string): { id: number; key: Key; minus: boolean } {
  const [, id, key] = name.split('_');
  return { id: Number(id), key: key as Key, minus: key === 'm' };
}

/** conv(part of the layer's input, w⁺ or w⁻): what product `key` is (run by the products model). */
function computeProduct(e: Emitter, node: Node, a: string, key: Key): string {
  const kernel: KernelVariant = key === 'pp' || key === 'np' ? 'w+' : 'w-';
  const x = key === 'm' ? a : key[0] === 'p' ? e.relu(a) : e.negPart(a);
  return e.linear(node).forward(e, node, x, e.kernel(node, kernel));
}

export function productsFromActs(e: Emitter, acts: string[], nonNegative: boolean[], cached: boolean): void {
  const memo = new Map<string, string>();
  // a product input, declared on first use
  const image = (node: Node, key: Key): string => {
    const name = `prod_${node.id}_${key}`;
    let v = memo.get(name);
    if (!v) {
      memo.set(name, (v = e.g.input(name, e.dims(node.id))));
      e.choiceReads?.track(node.id, name);
    }
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

/**
 * The products model: the forward values it reads as inputs `act_<id>`, the products `names`
 * (`prod_<id>_<key>`, a backward-only model's inputs) as outputs of the same names.
 */
export function emitProducts(e: Emitter, names: readonly string[]): void {
  const acts = new Map<number, string>();
  const act = (id: number): string => acts.get(id) ?? acts.set(id, e.g.input(`act_${id}`, e.dims(id))).get(id)!;
  for (const name of names) {
    const { id, key } = productOf(name);
    const node = e.graph.nodes[id];
    e.g.output(name, computeProduct(e, node, act(node.inputs[0]), key), e.dims(id));
  }
}
