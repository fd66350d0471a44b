/** One loader per model format (netron's match/open pattern). */
import type { Graph } from '../graph/ir';

export interface LoadOptions {
  /**
   * Height and width of the image input for models whose input size is not fixed in the file
   * (ONNX / TF.js graph models with dynamic dims). Without it, the model card next to the model is read.
   */
  inputSize?: [number, number];
}

export interface ModelLoader {
  name: string;
  /** Cheap check from the file name and its first bytes. */
  match(file: string, head: Uint8Array): boolean;
  open(file: string, opts?: LoadOptions): Promise<Graph>;
}
