/** evaluate's engine on the onnx backend (kept apart from curves.ts, which the explainer imports). */
import type { EvaluationEngine } from '../metrics/evaluate';
import type { InputArray } from '../methods/explain';
import type { OnnxExplainer } from './onnxExplainer';
import { forwardBlocker } from './curves';

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
