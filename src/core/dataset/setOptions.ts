/**
 * The explanation options of a run and their key (what a resumed run must match), built the same way
 * for the CLI and the extension's worker.
 */
import { DEFAULT_COMPOSITE } from '../composites/presets';
import { inputBounds } from '../card/modelCard';
import { cardBounds, type OpenedModel } from '../pipeline';
import type { ExplainOptions } from '../methods/types';
import { formatRule, type RuleSpec } from '../../shared/ruleSpec';

export interface SetChoices extends Omit<ExplainOptions, 'rules' | 'labels' | 'conservationDetail'> {
  rules: Record<string, RuleSpec>;
  /** sha256 of the patterns file, for the key */
  patternsSha256?: string;
}

export function setOptions(model: OpenedModel, c: SetChoices, backend: string): { opts: ExplainOptions; optionsKey: Record<string, unknown> } {
  // images are preprocessed by the card, so its bounds apply (as in explain for an image input)
  const cb = cardBounds(model) ?? inputBounds(model.card);
  const { patternsSha256, patterns, rules, ...rest } = c;
  const opts: ExplainOptions = {
    ...rest,
    composite: c.composite ?? (c.method === 'lrp' ? DEFAULT_COMPOSITE : undefined),
    rules, labels: model.labels, conservationDetail: false,
    params: { ...c.params, low: c.params?.low ?? cb.low, high: c.params?.high ?? cb.high },
    ...(patterns ? { patterns } : {}),
  };
  const optionsKey: Record<string, unknown> = {
    ...rest,
    composite: opts.composite ?? null,
    rules: Object.fromEntries(Object.entries(rules).map(([k, r]) => [k, formatRule(r)])),
    params: opts.params, targetClass: c.targetClass ?? 'top', backend,
    ...(patternsSha256 ? { patterns: patternsSha256 } : {}),
  };
  return { opts, optionsKey };
}
