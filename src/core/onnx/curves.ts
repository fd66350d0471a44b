/**
 * evaluate's perturbation batches on onnxruntime: a forward-only session with a batch dimension (logits
 * out) runs the perturbed inputs x^k of each curve, built here as metrics/pixelFlipping.ts builds them on
 * tfjs (pixels of rank ≤ k take the replacement's values).
 */
import type { Graph } from '../graph/ir';
import { sizeOf } from '../graph/ir';
import { isKnownOp, opDef } from '../ops/registry';
import type { CurveJobSpec } from '../metrics/pixelFlipping';
import type { EvaluationEngine } from '../metrics/evaluate';
import type { InputArray } from '../methods/explain';
import type { OnnxExplainer } from './onnxExplainer';

/** Why the forward pass cannot be compiled (an op without ONNX emission), or undefined. */
export function forwardBlocker(g: Graph): string | undefined {
  const n = g.nodes.find((m) => !isKnownOp(m.op) || !opDef(m.op).onnx);
  return n ? `op '${n.op}' (layer '${n.name}') has no ONNX emission` : undefined;
}

/** Runs a batch of n inputs (NHWC) and returns the flattened outputs, [n, K]. */
export type BatchForward = (xs: Float32Array, n: number) => Promise<Float32Array>;

/** f_target(x^k), k = 0..steps, of every rank map of the job, in batches of spec.batch. */
export async function perturbationCurves(g: Graph, spec: CurveJobSpec, forward: BatchForward, checkpoint?: () => void): Promise<Float32Array[]> {
  const per = sizeOf(g.nodes[g.input].shape);
  const c = g.nodes[g.input].shape[2];
  const k = sizeOf(g.nodes[g.output].shape);
  const out: Float32Array[] = [];
  for (const rank of spec.rankMaps) {
    const curve = new Float32Array(spec.steps + 1);
    for (let k0 = 0; k0 <= spec.steps; k0 += spec.batch) {
      checkpoint?.();
      const n = Math.min(spec.batch, spec.steps + 1 - k0);
      const xs = new Float32Array(n * per);
      for (let j = 0; j < n; j++) {
        const step = k0 + j;
        for (let p = 0; p < rank.length; p++) {
          const src = rank[p] <= step ? spec.replacement : spec.x;
          xs.set(src.subarray(p * c, (p + 1) * c), j * per + p * c);
        }
      }
      const y = await forward(xs, n);
      for (let j = 0; j < n; j++) curve[k0 + j] = y[j * k + spec.target];
    }
    out.push(curve);
  }
  return out;
}

/**
 * evaluate on the onnx backend: explanations compiled where the compiler covers them, predictions and
 * perturbation batches on the forward-only session; all on wasm when the forward pass cannot be compiled.
 */
export function onnxEvaluationEngine(o: OnnxExplainer): EvaluationEngine & { curvesOn: string } {
  const blocker = forwardBlocker(o.graph);
  const base = { graph: o.graph, checkInput: (i: InputArray) => o.checkInput(i), explain: o.explain.bind(o) };
  if (blocker) return { ...base, prep: o.fallback().prep, predict: (i, l) => o.fallback().predict(i, l), curvesOn: `wasm (${blocker})` };
  return { ...base, predict: (i, l) => o.predict(i, l), curves: (spec) => o.curves(spec), curvesOn: 'onnx' };
}
