/** Builds a Graph node by node, inferring shapes and keeping names unique. */
import type { Graph, Node, NodeAttrs, NodeParams, OpKind } from './ir';
import { opDef } from '../ops/registry';
import { LensError } from '../errors';

export interface NodeSpec {
  name: string;
  op: OpKind;
  inputs: number[];
  attrs?: NodeAttrs;
  params?: NodeParams;
  sourceClass?: string;
  /** Only for op 'input'. */
  shape?: number[];
}

/** The op table's shape rule of the node; throws a plain Error with the reason (callers add the file name). */
export function inferShape(node: Pick<Node, 'op' | 'attrs' | 'params' | 'name'>, inputs: number[][]): number[] {
  return opDef(node.op).shape(node, inputs);
}

export class GraphBuilder {
  readonly nodes: Node[] = [];
  private readonly names = new Set<string>();

  constructor(private readonly file: string) {}

  add(spec: NodeSpec): number {
    let name = spec.name;
    for (let k = 1; this.names.has(name); k++) name = `${spec.name}_${k}`;
    this.names.add(name);
    const node: Node = {
      id: this.nodes.length,
      name,
      op: spec.op,
      inputs: spec.inputs,
      attrs: spec.attrs ?? {},
      params: spec.params ?? {},
      shape: [],
      sourceClass: spec.sourceClass,
    };
    try {
      node.shape = spec.op === 'input' ? spec.shape!.slice() : inferShape(node, spec.inputs.map((i) => this.nodes[i].shape));
    } catch (e) {
      throw new LensError('bad-model', (e as Error).message, this.file);
    }
    this.nodes.push(node);
    return node.id;
  }

  build(name: string, format: string, output: number): Graph {
    const inputs = this.nodes.filter((n) => n.op === 'input');
    if (inputs.length !== 1) {
      throw new LensError('bad-model', `expected one image input, found ${inputs.length}`, this.file);
    }
    return { name, nodes: this.nodes, input: inputs[0].id, output, format };
  }
}
