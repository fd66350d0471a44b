/** One loader per model format (netron's match/open pattern). */
import type { Graph } from '../graph/ir';

export interface ModelLoader {
  name: string;
  /** Cheap check from the file name and its first bytes. */
  match(file: string, head: Uint8Array): boolean;
  open(file: string): Promise<Graph>;
}
