/** Identity (dropout at inference): removed by canonization, passes everything unchanged. */
import type { OpDef } from './types';
import { allInputsNonNegative, always, sameShape } from './common';

export const identity: OpDef = {
  kind: 'identity',
  shape: sameShape,
  check: () => ({ supported: true, note: 'removed by canonization' }),
  forward: (_p, _n, ins) => ins[0].clone(),
  lrp: (_n, r) => [r],
  // fresh tensors, never the signal itself: the executor owns and disposes it
  signal: (_n, s) => [s.clone()],
  lrpRuleText: () => 'pass',
  signalRuleText: () => 'gradient',
  nonNegative: allInputsNonNegative,
  carriesBounds: always,
  onnx: { forward: (_e, _n, ins) => ins[0], lrp: (_e, _n, r) => [r], signal: (_e, _n, s) => [s] },
};
