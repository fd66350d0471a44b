/**
 * The one onnx-or-wasm block of `explain` and `evaluate`: the compiled explainer when the chosen backend
 * is onnxruntime, else the TF.js one; explainer and sample-worker pool are disposed whatever happens.
 */
import type { Graph } from '../../core/graph/ir';
import { Explainer } from '../../core/methods/explain';
import { OnnxExplainer, type OnnxExplainerOptions } from '../../core/onnx/onnxExplainer';
import { profilePrefix } from '../../core/onnx/runtime';
import type { SampleWorkerPool } from '../../core/parallel/pool';

export interface EngineRuns<T> {
  onnx: (x: OnnxExplainer) => Promise<T>;
  wasm: (x: Explainer) => T;
  /** What a failure inside wasm becomes (e.g. wasmOutOfMemory's one-line message); else it is rethrown as is. */
  wasmError?: (e: unknown) => unknown;
}

/**
 * `exitsAfter`: the process ends once the outputs are written, and its exit frees onnxruntime's sessions;
 * releasing them first took ~30 ms of the main thread on ResNet-50 (the CLI's profile).
 */
export async function runOnEngine<T>(
  graph: Graph, useOnnx: boolean, pool: SampleWorkerPool | undefined, runs: EngineRuns<T>,
  onnxOptions?: OnnxExplainerOptions & { exitsAfter?: boolean },
): Promise<T> {
  try {
    if (useOnnx) {
      const onnx = new OnnxExplainer(graph, onnxOptions);
      let ok = false;
      try {
        const r = await runs.onnx(onnx);
        ok = true;
        return r;
      } finally {
        // a profiled session writes its timings when released
        if (!ok || !onnxOptions?.exitsAfter || profilePrefix()) await onnx.dispose();
      }
    }
    const explainer = new Explainer(graph);
    let failed: unknown;
    try {
      return runs.wasm(explainer);
    } catch (e) {
      failed = runs.wasmError?.(e) ?? e;
      throw failed;
    } finally {
      // after a failure inside wasm its heap is broken and disposing fails too: the first error is reported
      try {
        explainer.dispose();
      } catch (e) {
        if (failed === undefined) throw e;
      }
    }
  } finally {
    pool?.dispose();
  }
}
