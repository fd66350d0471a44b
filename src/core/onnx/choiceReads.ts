/**
 * Which fed inputs of a universal backward-only graph a run reads: a layer's kernel variants (w⁺, w⁻, w²,
 * flipped or not) and its products by them (products.ts) are read only inside the If branches of the rule
 * choices that use them, so a run feeds them only while the layer's rule is such a choice, and they are
 * made only once a rule first needs them. Made for every layer ahead instead, VGG16's universal graph held
 * +1.28 GB of variants, 0.82 GB of them w⁺ and w⁻ of `classifier.0`, which its ε rule never reads.
 *
 * Holds names only: the parameter readers of a cached session keep it (not the compile's nodes).
 */
import type { ResolvedRule } from '../rules/resolved';

interface LayerReads {
  /** the choiceStructure of each choice, in the selector's order */
  keys: string[];
  /** per choice: every value its branch reads */
  reads: Set<string>[];
  /** the layer's fed inputs */
  fed: Set<string>;
}

export class ChoiceReads {
  private readonly layers = new Map<number, LayerReads>();
  /** fed inputs read outside every choice's branch: fed in every run */
  private readonly always = new Set<string>();

  /** keyOf: a rule's choiceStructure (rules.ts), passed in so this file imports no emission code. */
  constructor(private readonly keyOf: (r: ResolvedRule) => string) {}

  private layer(id: number): LayerReads {
    let l = this.layers.get(id);
    if (!l) this.layers.set(id, (l = { keys: [], reads: [], fed: new Set() }));
    return l;
  }

  /** Declares `name` a fed input of layer `id` (a kernel variant, a product: declared as the layer's choices are emitted). */
  track(id: number, name: string): void {
    this.layer(id).fed.add(name);
  }

  /** The layer's choices and what each one's branch reads (rules.ts emitRuleChoice). */
  setChoices(id: number, keys: string[], reads: Set<string>[]): void {
    const l = this.layer(id);
    l.keys = keys;
    l.reads = reads.map((r) => new Set([...r].filter((n) => l.fed.has(n))));
  }

  /** Fed inputs that a node outside the choices' branches reads (compile.ts, once the graph is built). */
  markAlways(names: Iterable<string>): void {
    for (const n of names) this.always.add(n);
  }

  /** The index of rule r among the layer's choices; −1 when the layer has none, or r is not one of them. */
  private choice(l: LayerReads | undefined, r: ResolvedRule | undefined): number {
    return l && l.reads.length && r ? l.keys.indexOf(this.keyOf(r)) : -1;
  }

  /** Whether a run with rule r on layer `id` reads its fed input `name`. */
  reads(id: number, name: string, r: ResolvedRule | undefined): boolean {
    if (this.always.has(name)) return true;
    const l = this.layers.get(id);
    const k = this.choice(l, r);
    return k < 0 || l!.reads[k].has(name);
  }

  /**
   * Whether rule r on layer `id` reads any of its fed inputs or products: such a rule modifies the kernel,
   * so the rule changes ahead (OnnxExplainer.prepareRuleChanges) make all of the layer's inputs; a layer
   * under ε (VGG16's dense layers) gets its variants only once a rule asks for them.
   */
  active(id: number, r: ResolvedRule | undefined): boolean {
    const l = this.layers.get(id);
    const k = this.choice(l, r);
    if (k < 0 || l!.reads[k].size) return true;
    for (const n of l!.fed) if (this.always.has(n)) return true;
    return false;
  }
}
