/**
 * The caller's copy of a model whose explanations run in an engine process (processExplainer.ts): its
 * kernels (and select index maps) are let go once the process holds the model, so the weights are held once; they are read back
 * from the file while the caller computes on them itself (a pattern fit), and kept for good once the
 * caller needs them for good (the wasm fallback makes tensors of them and derives more later).
 */
import { LensError } from '../errors';
import type { Graph } from '../graph/ir';
import { openModel } from '../pipeline';
import { releaseKernels } from './oneRun';

export class CallerKernels {
  private state: 'held' | 'released' = 'held';
  private users = 0;
  private keep = false;
  private restoring?: Promise<void>;

  constructor(private readonly file: string, private readonly graph: Graph) {}

  get released(): boolean {
    return this.state === 'released';
  }

  /** Lets the kernels go when `processHolds` and nothing here uses or keeps them. */
  releaseIfUnused(processHolds: boolean): void {
    if (!processHolds || this.state === 'released' || this.users > 0 || this.keep || this.restoring) return;
    releaseKernels(this.graph);
    this.state = 'released';
  }

  /** Runs `f` with the kernels in place (read back if they were let go); `processHolds` as for releaseIfUnused, after. */
  async use<T>(f: () => T | Promise<T>, processHolds: () => boolean): Promise<T> {
    this.users++;
    try {
      await this.restore();
      return await f();
    } finally {
      this.users--;
      this.releaseIfUnused(processHolds());
    }
  }

  /** The kernels in place from now on. */
  keepForGood(): Promise<void> {
    this.keep = true;
    return this.restore();
  }

  private restore(): Promise<void> {
    if (this.state === 'held') return Promise.resolve();
    this.restoring ??= (async () => {
      const g = this.graph;
      const fresh = (await openModel(this.file, undefined, { keepRaw: false })).graph;
      const same = (a: { shape: number[] } | undefined, b: { shape: number[] } | undefined): boolean => a?.shape.join() === b?.shape.join();
      if (fresh.nodes.length !== g.nodes.length || fresh.nodes.some((n, i) => n.name !== g.nodes[i].name
        || !same(n.params.kernel, g.nodes[i].params.kernel) || !same(n.params.index, g.nodes[i].params.index))) {
        throw new LensError('bad-model', 'the file changed since it was loaded; open it again', this.file);
      }
      // the kernels and the selects' index maps, which releaseKernels lets go together
      for (const n of g.nodes) {
        if (n.params.kernel) n.params.kernel = fresh.nodes[n.id].params.kernel;
        if (n.params.index) n.params.index = fresh.nodes[n.id].params.index;
      }
      this.state = 'held';
    })().finally(() => { this.restoring = undefined; });
    return this.restoring;
  }
}
