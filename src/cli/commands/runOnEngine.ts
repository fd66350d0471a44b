/**
 * The one onnx-or-wasm block of `explain` and `evaluate`: the compiled explainer when the chosen backend
 * is onnxruntime, else the TF.js one; explainer and sample-worker pool are disposed whatever happens.
 */
import type { Graph } from '../../core/graph/ir';
import { Explainer } from '../../core/methods/explain';
import { OnnxExplainer, type OnnxExplainerOptions } from '../../core/onnx/onnxExplainer';
import type { SampleWorkerPool } from '../../core/parallel/pool';

export interface EngineRuns<T> {
  onnx: (x: OnnxExplainer) => Promise<T>;
  wasm: (x: Explainer) => T;
}

export async function runOnEngine<T>(
  graph: Graph, useOnnx: boolean, pool: SampleWorkerPool | undefined, runs: EngineRuns<T>, onnxOptions?: OnnxExplainerOptions,
): Promise<T> {
  try {
    if (useOnnx) {
      const onnx = new OnnxExplainer(graph, onnxOptions);
      try {
        return await runs.onnx(onnx);
      } finally {
        await onnx.dispose();
      }
    }
    const explainer = new Explainer(graph);
    try {
      return runs.wasm(explainer);
    } finally {
      explainer.dispose();
    }
  } finally {
    pool?.dispose();
  }
}
