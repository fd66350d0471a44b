/**
 * What a one-explanation process (the CLI) lets go of once onnxruntime holds the compiled model: the
 * graph's references to its kernels and the garbage of loading and compiling, so that they are not
 * resident beside the run's intermediate tensors (ResNet-50: peak RSS 825 → 727 MB, when onnxruntime
 * still copied the weights). The kernels onnxruntime reads in place (runtime.ts) stay, held by the session.
 */
import * as v8 from 'v8';
import * as vm from 'vm';
import { paramCount, type Graph } from '../graph/ir';

const EMPTY = new Float32Array(0);

/**
 * Whether a one-run session should skip onnxruntime's graph optimisation (runtime.ts 'oneRun'): it pays on
 * convolutional nets (CPU of session + run, optimised → not: ResNet-50 1.62 → 1.34 s, DenseNet-121 3.51 →
 * 2.30 s, EfficientNet-B0 5.46 → 4.64 s) but not with layer norms (ConvNeXt-T 4.32 → 4.89 s, ViT-B/16
 * 7.4 → 11.3 s: unoptimised, onnxruntime's allocation planning took 11 s there), measured.
 */
export function skipsOptimisation(g: Graph): boolean {
  return !g.nodes.some((n) => n.op === 'layerNorm');
}

/**
 * Empties every kernel of g but those of `keep` (the shapes, biases and the other parameters stay: the
 * summary and the conservation table read them). Compiling g again, or running it on wasm, is not
 * possible afterwards.
 */
export function releaseKernels(g: Graph, keep: readonly number[] = []): void {
  for (const n of g.nodes) {
    const k = n.params.kernel;
    if (k && !keep.includes(n.id)) n.params.kernel = { shape: k.shape, data: EMPTY };
  }
}

let gc: (() => void) | undefined;

/**
 * A full V8 collection now: typed arrays' memory returns only when the collector runs, and nothing in
 * V8's view prompts one while onnxruntime allocates outside its heap. `--expose-gc` set at run time
 * applies to contexts made after it, hence the new context.
 */
export function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  // the second pass frees at once what the first one left to the concurrent array-buffer sweeper
  gc();
  gc();
}

/**
 * Parameters from which a one-run process collects before compiling and after its session is made: the
 * memory returned matters on a VGG16 (553 MB of weights, peak RSS 2.67 -> 1.70 GB) and not on a ResNet-50
 * (102 MB: peak 570 -> 578 MB without, under its 606 MB bound, for two collections of ~27 ms each on the main
 * thread; measured).
 */
const COLLECT_FROM_BYTES = 256 * 2 ** 20;

export function worthCollecting(g: Graph): boolean {
  let n = 0;
  for (const node of g.nodes) n += paramCount(node);
  return n * 4 >= COLLECT_FROM_BYTES;
}
