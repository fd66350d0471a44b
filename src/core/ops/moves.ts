/**
 * The part of an op's entry shared by ops that only move data (each output element is one input
 * element or zero: select, transpose): run by the tensor executor, relevance and gradients go back
 * along the same map, signs and z^B bounds carry through.
 */
import type { OpDef } from './types';
import { allInputsNonNegative, always } from './common';
import { tensorBackward, tensorForward } from '../engine/tensorOps';

export const dataMove: Pick<OpDef, 'forward' | 'lrp' | 'signal' | 'lrpRuleText' | 'signalRuleText' | 'nonNegative' | 'carriesBounds'> = {
  forward: (prep, node, ins) => tensorForward(prep, node, ins),
  lrp: (node, r, ctx) => tensorBackward(ctx.prep, node, r, ctx.acts),
  signal: (node, s, ctx) => tensorBackward(ctx.prep, node, s, ctx.acts),
  lrpRuleText: () => 'moves',
  signalRuleText: () => 'gradient',
  nonNegative: allInputsNonNegative,
  carriesBounds: always,
};
