/** LRP with a composite and per-layer overrides, started from R = f_c(x)·onehot(c). */
import * as tf from '@tensorflow/tfjs-core';
import { AUTO_COMPOSITE, concreteComposite, resolveRules } from '../composites/presets';
import { formatRule, type RuleParams } from '../../shared/ruleSpec';
import type { RuleSpec } from '../../shared/ruleSpec';
import { resolveRule, type ResolvedRule } from '../rules/resolved';
import { backward } from '../engine/backward';
import { lrpHandler, silentNegativeOutputs, structuralRuleText } from './lrpHandlers';
import type { MethodContext, MethodRun } from './method';
import { registerMethod } from './method';

export function startRelevance(ctx: MethodContext, scale: number): tf.Tensor {
  const out = ctx.acts[ctx.prep.graph.output];
  return tf.tidy(() => tf.mul(tf.cast(tf.oneHot([ctx.target], out.shape[1]!), 'float32'), scale));
}

/** Runs LRP with the given rule specs per weighted node id. */
export function runLrp(ctx: MethodContext, specs: Map<number, RuleSpec>, composite: string | null, start?: tf.Tensor): MethodRun {
  const g = ctx.prep.graph;
  const resolved = new Map<number, ResolvedRule>();
  const ruleText = new Map<number, string>();
  for (const [id, spec] of specs) {
    resolved.set(id, resolveRule(spec, ctx.params));
    ruleText.set(id, formatRule(spec, ctx.params));
  }
  for (const n of g.nodes) if (!ruleText.has(n.id) && n.id !== g.input) ruleText.set(n.id, structuralRuleText(n));
  const r0 = start ?? startRelevance(ctx, ctx.logit);
  try {
    const leaks = ctx.opts.conservationDetail ? new Map<number, [tf.Tensor, tf.Tensor]>() : undefined;
    const res = backward({ prep: ctx.prep, acts: ctx.acts, leaks }, r0, lrpHandler(resolved, ctx.nonNegative, silentNegativeOutputs(g, resolved)), {
      keep: ctx.keep, checkpoint: ctx.checkpoint, absSums: !!leaks,
    });
    return { relevance: res.input, sums: res.sums, ruleText, composite, kept: res.kept };
  } finally {
    r0.dispose();
  }
}

export function lrp(ctx: MethodContext): MethodRun {
  // no composite or 'auto': the model's default (defaultComposite); the result names the one used
  const composite = concreteComposite(ctx.prep.graph, ctx.opts.composite ?? AUTO_COMPOSITE);
  const specs = resolveRules(ctx.prep.graph, composite, ctx.opts.rules ?? {});
  return runLrp(ctx, specs, composite);
}

registerMethod('lrp', lrp);

export type { RuleParams };
