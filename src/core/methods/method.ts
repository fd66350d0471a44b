/** What an attribution method receives and returns; methods register by name. */
import type * as tf from '@tensorflow/tfjs-core';
import type { RuleParams } from '../../shared/ruleSpec';
import type { NodeSums } from '../engine/backward';
import type { PreparedGraph } from '../engine/prepared';
import type { SampleWorkerPool } from '../parallel/pool';
import type { ExplainOptions, MethodName } from './types';

export interface MethodContext {
  prep: PreparedGraph;
  /** forward outputs of every node for `x` */
  acts: tf.Tensor[];
  /** the preprocessed input, [1, H, W, C] */
  x: tf.Tensor4D;
  /** explained class and its logit */
  target: number;
  logit: number;
  opts: ExplainOptions;
  params: RuleParams;
  nonNegative: boolean[];
  /** throws when the run was cancelled */
  checkpoint: () => void;
  /** node ids whose incoming signal the caller wants back */
  keep?: ReadonlySet<number>;
  /** worker threads for sample-parallel methods (SmoothGrad, Integrated Gradients); absent: this thread only */
  pool?: SampleWorkerPool;
}

export interface MethodRun {
  /** attribution at the input, [1, H, W, C] (the explainer disposes it) */
  relevance: tf.Tensor;
  /** per node id, the signal sums of the backward pass (undefined where not applicable) */
  sums: (NodeSums | undefined)[];
  /** rule text per node id, for the JSON `rules` and the table */
  ruleText: Map<number, string>;
  composite: string | null;
  /** signals at requested nodes */
  kept?: Map<number, tf.Tensor>;
  /** method-specific extras that go into the JSON result */
  extra?: Record<string, unknown>;
}

export type Method = (ctx: MethodContext) => MethodRun;

const METHODS = new Map<MethodName, Method>();

export function registerMethod(name: MethodName, m: Method): void {
  METHODS.set(name, m);
}

export function getMethod(name: MethodName): Method | undefined {
  return METHODS.get(name);
}

export function methodNames(): MethodName[] {
  return [...METHODS.keys()];
}
