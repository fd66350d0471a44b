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
 * Empties every kernel of g but those of `keep`, and the selects' index maps (the shapes, biases and
 * the other parameters stay: the summary and the conservation table read them). Compiling g again, or
 * running it on wasm, is not possible afterwards.
 */
export function releaseKernels(g: Graph, keep: readonly number[] = []): void {
  for (const n of g.nodes) {
    const k = n.params.kernel;
    if (k && !keep.includes(n.id)) n.params.kernel = { shape: k.shape, data: EMPTY };
    // a select's float map: the compiled graph reads an int32 copy of it (tensorEmit.ts indexMap)
    const ix = n.params.index;
    if (ix) n.params.index = { shape: ix.shape, data: EMPTY };
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
 * What a one-run process must be able to let go of (kernels and select index maps, releaseKernels) for it
 * to collect before compiling and after its session is made, at ~25 ms for each: VGG16 (553 MB of
 * weights) peak RSS 2.67 -> 1.70 GB, Swin-T (108 MB + 31 MB of index maps) 614-619 -> 596-600 MB; not
 * ResNet-50 (102 MB: peak 570 -> 578 MB without, under its 592 MB bound); measured.
 */
const COLLECT_FROM_BYTES = 128 * 2 ** 20;

export function worthCollecting(g: Graph): boolean {
  let n = 0;
  for (const node of g.nodes) n += paramCount(node) + (node.params.index?.data.length ?? 0);
  return n * 4 >= COLLECT_FROM_BYTES;
}
