/**
 * The messages between ProcessExplainer (the caller's side) and its engine process (onnxProcess.ts).
 * They cross a child process's IPC channel with V8's serializer ('advanced'), so typed arrays travel
 * as they are and nothing here may hold a function.
 */
import { LensError, type LensErrorCode } from '../errors';
import type { ExplainOutput, InputArray } from '../methods/explain';
import type { ExplainOptions } from '../methods/types';
import type { BackendNote } from './onnxExplainer';
import type { PatternSet } from '../patterns/patternSet';
import { paramCount, type Graph } from '../graph/ir';

/** What the two sides compare to know they loaded the same model: node and parameter counts. */
export interface GraphIdentity {
  nodes: number;
  params: number;
}

export function graphIdentity(g: Graph): GraphIdentity {
  return { nodes: g.nodes.length, params: g.nodes.reduce((s, n) => s + paramCount(n), 0) };
}

export type ProcessRequest =
  /** load the model file; the answer carries what identifies the graph (checked against the caller's) */
  | { type: 'open'; id: number; file: string; lean?: boolean }
  /**
   * `opts` without its pattern set: `patterns` is sent once per set, later requests name it by
   * `patternsId` (a VGG16's patterns are as large as its weights)
   */
  | {
    type: 'explain'; id: number; input: InputArray; opts: Omit<ExplainOptions, 'patterns'>; patternsId?: string; patterns?: PatternSet; keepLayers?: string[];
    /** Date.now() when sent: the process's thread may be busy creating a session (the idle build) */
    sentAt: number;
  }
  /** the caller gave up on request `id`: its next checkpoint throws */
  | { type: 'cancel'; id: number }
  /** the process's resident memory (long sessions must not grow: the soak test) */
  | { type: 'stats'; id: number };

/**
 * An error as it crossed: a LensError keeps its code and file, anything else is rebuilt as an Error
 * (not shared/rpc.ts's WireError, which gives the host a message to show and drops the file).
 */
export interface ProcessError {
  name: string;
  message: string;
  code?: string;
  file?: string;
  stack?: string;
}

export type ProcessReply =
  | { type: 'opened'; id: number; identity: GraphIdentity }
  | { type: 'stats'; id: number; rss: number; peak: number }
  | { type: 'result'; id: number; result: ExplainOutput & BackendNote }
  /** not compiled for this graph or method: the caller runs it on its own wasm engine */
  | { type: 'fallback'; id: number; reason: string }
  | { type: 'error'; id: number; error: ProcessError };

export function toProcessError(e: unknown): ProcessError {
  if (e instanceof LensError) {
    const prefix = e.file ? `${e.file}: ` : '';
    return { name: e.name, code: e.code, file: e.file, message: e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message, stack: err.stack };
}

export function fromProcessError(w: ProcessError): Error {
  if (w.code) return new LensError(w.code as LensErrorCode, w.message, w.file);
  const e = new Error(w.message);
  e.name = w.name;
  if (w.stack) e.stack = w.stack;
  return e;
}
