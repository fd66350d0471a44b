/**
 * PatternNet and PatternAttribution (Kindermans et al. 2018) with fitted patterns (src/core/patterns).
 * Both start from the logit, R = f_c(x)·onehot(c), and run the gradient's backward pass — ReLU masks,
 * winner-take-all max pooling, and on transformers the gradients of LayerNorm, softmax, the products of
 * activations and GELU — with each dense/conv layer's transposed op using the pattern A (PatternNet: the
 * signal at the input) or W∘A (PatternAttribution: the attribution). A layer's two-regime pattern a₊ is
 * used where a rectifier (ReLU, GELU, SiLU) follows it, the linear pattern elsewhere (or everywhere with
 * patternType 'linear'); a layer without a pattern (stand-alone BatchNorm) passes the gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Graph, Node } from '../graph/ir';
import { isWeighted } from '../ops/registry';
import { backward, type NodeBackward } from '../engine/backward';
import type { PreparedGraph } from '../engine/prepared';
import { LensError } from '../errors';
import { transposedWith } from '../patterns/kernelOps';
import type { LayerPatterns, PatternSet } from '../patterns/patternSet';
import { modelFingerprint } from '../patterns/fingerprint';
import { gradientHandler, signalRuleText } from './gradient';
import { startRelevance } from './lrp';
import type { MethodContext, MethodRun } from './method';
import { registerMethod } from './method';

type Variant = 'net' | 'attribution';

/** Checks that a pattern set belongs to the graph; returns the patterns per node id. */
export function patternsByNode(prep: Pick<PreparedGraph, 'graph'>, ps: PatternSet): Map<number, LayerPatterns> {
  const g = prep.graph;
  const where = ps.file ? ` (${ps.file})` : '';
  if (ps.fingerprint !== modelFingerprint(g)) {
    throw new LensError('bad-patterns', `the patterns were fitted on a different model ('${ps.modelName}'); fit them for this one with 'relevance-lens patterns fit'`, ps.file);
  }
  const out = new Map<number, LayerPatterns>();
  for (const lp of ps.layers) {
    const n = g.nodes.find((x) => x.name === lp.name);
    const k = n?.params.kernel;
    if (!n || !k || k.shape.join(',') !== lp.kernelShape.join(',')) {
      throw new LensError('bad-patterns', `layer '${lp.name}' of the patterns does not match the model${where}`, ps.file);
    }
    out.set(n.id, lp);
  }
  return out;
}

export function patternKernel(lp: LayerPatterns, type: 'relu' | 'linear', ps?: PatternSet): Float32Array {
  const a = type === 'relu' && lp.regime === 'relu' && lp.relu ? lp.relu : lp.linear;
  if (!a) {
    throw new LensError('bad-usage', `the patterns were loaded for --pattern-type ${ps?.only ?? 'relu'} only; layer '${lp.name}' has no ${type} pattern in memory`, ps?.file);
  }
  return a;
}

/**
 * Turns a pattern set's arrays into W∘A in place, each product rounded to float32 as the explanation's own
 * multiply would be: for a caller that explains with PatternAttribution alone (the CLI). The set must
 * belong to the graph (checked first); done once.
 */
export function premultiplyPatterns(g: Graph, ps: PatternSet): void {
  if (ps.premultiplied) return;
  for (const [id, lp] of patternsByNode({ graph: g }, ps)) {
    const w = g.nodes[id].params.kernel!.data;
    for (const a of [lp.linear, lp.relu]) {
      if (!a) continue;
      for (let i = 0; i < a.length; i++) a[i] = Math.fround(w[i] * a[i]);
    }
  }
  ps.premultiplied = true;
}

/** PatternNet needs the patterns as fitted. */
function assertNotPremultiplied(ps: PatternSet, method: string): void {
  if (ps.premultiplied && method !== 'pattern-attribution') {
    throw new LensError('bad-usage', `${method}: these patterns were multiplied by the weights for pattern-attribution; load them again`, ps.file);
  }
}

export function patternHandler(ps: PatternSet, byNode: Map<number, LayerPatterns>, variant: Variant, type: 'relu' | 'linear'): NodeBackward {
  const grad = gradientHandler('gradient');
  return (node: Node, s, ctx) => {
    const lp = byNode.get(node.id);
    if (!lp || !isWeighted(node)) return grad(node, s, ctx);
    const a = patternKernel(lp, type, ps);
    const key = `pattern:${ps.id}:${variant}:${a === lp.relu ? 'relu' : 'linear'}`;
    return [transposedWith(ctx.prep, node, s, key, (w) => {
      const at = tf.tensor(a, lp.kernelShape, 'float32');
      return variant === 'net' || ps.premultiplied ? at : tf.mul(w, at);
    })];
  };
}

/**
 * The PatternNet signal is a sum of per-neuron signal estimates at the scale of each layer's input, so
 * it grows by up to the fan-out per layer and overflows float32 in deep nets (MobileNet): the backward
 * walk rescales by 2^-64 after a weighted layer whenever the signal passes 2^64.
 */
export const RESCALE = { after: (n: Node) => isWeighted(n), log2: 64 };

export function runPatternMethod(ctx: MethodContext, variant: Variant): MethodRun {
  const ps = ctx.opts.patterns;
  const name = variant === 'net' ? 'pattern-net' : 'pattern-attribution';
  if (!ps) {
    throw new LensError('bad-usage', `${name} needs fitted patterns: --patterns FILE (make one with 'relevance-lens patterns fit MODEL DATA --out FILE')`);
  }
  const type = ctx.opts.patternType ?? 'relu';
  if (type !== 'relu' && type !== 'linear') throw new LensError('bad-usage', `pattern type must be relu or linear, got '${String(type)}'`);
  assertNotPremultiplied(ps, name);
  const byNode = patternsByNode(ctx.prep, ps);
  const start = startRelevance(ctx, ctx.logit);
  try {
    const res = backward({ prep: ctx.prep, acts: ctx.acts }, start, patternHandler(ps, byNode, variant, type), {
      keep: ctx.keep, checkpoint: ctx.checkpoint, rescale: RESCALE,
    });
    if (!tf.tidy(() => tf.all(tf.isFinite(res.input)).dataSync()[0])) {
      res.input.dispose();
      res.kept.forEach((t) => t.dispose());
      throw new LensError('non-finite', `${name}: the back-projected signal is not finite (patterns fitted on too few active rows? fit on more data, or use --pattern-type linear)`, ps.file);
    }
    const ruleText = signalRuleText(ctx.prep.graph, 'gradient');
    for (const [id, lp] of byNode) {
      const used = patternKernel(lp, type, ps) === lp.relu ? 'relu' : 'linear';
      ruleText.set(id, `${variant === 'net' ? 'pattern' : 'w∘pattern'}:${used}`);
    }
    return {
      relevance: res.input, sums: res.sums, ruleText, composite: null, kept: res.kept,
      extra: {
        patterns: {
          file: ps.file ?? null, type, model: ps.modelName, images: ps.images,
          // relevance (and kept maps) = signal / 2^log2Scale; 0 unless the signal would overflow float32
          log2Scale: res.log2Scale,
          ...(res.log2Scale ? { keptLog2Scale: Object.fromEntries([...res.keptLog2Scale].map(([id, sc]) => [ctx.prep.graph.nodes[id].name, sc])) } : {}),
        },
      },
    };
  } finally {
    start.dispose();
  }
}

registerMethod('pattern-net', (ctx) => runPatternMethod(ctx, 'net'));
registerMethod('pattern-attribution', (ctx) => runPatternMethod(ctx, 'attribution'));
