/**
 * The compiled plan of PatternNet / PatternAttribution (methods/patternNet.ts is the reference): which
 * kernel replaces each layer's weight, the conservation table's rule texts, and the result's
 * `extra.patterns` (the rescaling exponents are read from the run).
 */
import type { Graph } from '../graph/ir';
import { LensError } from '../errors';
import { patternKernel, patternsByNode } from '../methods/patternNet';
import { signalRuleText } from '../methods/gradient';
import type { ExplainOptions } from '../methods/types';
import type { PatternFamily } from './patterns';

export interface PatternPlan {
  family: PatternFamily;
  ruleText: Map<number, string>;
  extra: Record<string, unknown>;
}

/** The plan, or why the wasm path should run (and refuse with its own message). */
export function patternPlan(g: Graph, opts: ExplainOptions): PatternPlan | { reason: string } {
  const ps = opts.patterns;
  if (!ps) return { reason: `${opts.method} needs fitted patterns` };
  const type = opts.patternType ?? 'relu';
  if (type !== 'relu' && type !== 'linear') return { reason: `pattern type '${String(type)}' is not relu or linear` };
  const net = opts.method === 'pattern-net';
  if (ps.premultiplied && net) return { reason: 'the patterns were multiplied by the weights for pattern-attribution' };
  const byNode = patternsByNode({ graph: g }, ps);
  const kernels = new Map<number, { data: Float32Array; shape: number[] }>();
  const ruleText = signalRuleText(g, 'gradient');
  for (const [id, lp] of byNode) {
    const a = patternKernel(lp, type, ps);
    const used = a === lp.relu ? 'relu' : 'linear';
    let data = a;
    if (!net && !ps.premultiplied) {
      // W∘A, rounded as the wasm path's float32 product
      const w = g.nodes[id].params.kernel!.data;
      data = new Float32Array(a.length);
      for (let i = 0; i < a.length; i++) data[i] = Math.fround(w[i] * a[i]);
    }
    kernels.set(id, { data, shape: lp.kernelShape.slice() });
    ruleText.set(id, `${net ? 'pattern' : 'w∘pattern'}:${used}`);
  }
  return {
    family: { kind: 'pattern', key: `${ps.id}:${opts.method}:${type}`, kernels },
    ruleText,
    extra: { file: ps.file ?? null, type, model: ps.modelName, images: ps.images },
  };
}

/**
 * `extra.patterns` of a compiled run, as the wasm path reports it: the input signal's rescaling exponent
 * and, when it is not 0, the kept layers' ones; a non-finite signal is refused with the wasm path's message.
 */
export function patternExtra(
  g: Graph, method: string, base: Record<string, unknown>, relevance: Float32Array, log2: Float32Array,
  sumIndex: { id: number }[], scales: Float32Array, keep: number[],
): Record<string, unknown> {
  if (!relevance.every(Number.isFinite)) {
    const file = (base.file as string | null) ?? undefined;
    throw new LensError('non-finite', `${method}: the back-projected signal is not finite (patterns fitted on too few active rows? fit on more data, or use --pattern-type linear)`, file);
  }
  const log2Scale = log2[0];
  const at = new Map(sumIndex.map(({ id }, j) => [id, scales[j]]));
  return {
    ...base, log2Scale,
    ...(log2Scale ? { keptLog2Scale: Object.fromEntries(keep.filter((id) => at.has(id)).map((id) => [g.nodes[id].name, at.get(id)!])) } : {}),
  };
}
