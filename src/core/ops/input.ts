/** The graph input: no computation; the backward walk stops here. */
import type { OpDef } from './types';
import { never } from './common';

export const input: OpDef = {
  kind: 'input',
  shape: (_n, ins) => ins[0],
  forward: (_p, _n, ins) => ins[0],
  lrp: () => [],
  signal: () => [],
  lrpRuleText: () => 'pass',
  signalRuleText: () => 'gradient',
  nonNegative: never,
  carriesBounds: never,
  onnx: { forward: (_e, _n, ins) => ins[0], lrp: () => [], signal: () => [] },
};
