/**
 * The engine backend: `onnx` (explanations compiled to ONNX, run by onnxruntime-node) when asked for or,
 * under `auto`, when the native binding loads; otherwise a TensorFlow.js backend (tensorflow > wasm >
 * cpu). The tfjs backend is initialized either way: it runs whatever the compiler does not cover.
 */
import { BACKEND_CHOICES, initBackend, type BackendChoice } from '../engine/backend';
import { LensError } from '../errors';
import type { Graph } from '../graph/ir';
import type { MethodName } from '../methods/types';
import { compileBlocker } from './compile';
import { forwardBlocker } from './curves';
import { notReluOp, RELU_ONLY_METHODS } from '../methods/reluOnly';
import { ortStatus } from './runtime';

export type EngineChoice = BackendChoice | 'onnx';
export const ENGINE_CHOICES: readonly EngineChoice[] = [...BACKEND_CHOICES, 'onnx'];

export interface EngineBackend {
  /** 'onnx', or the tfjs backend in use */
  name: string;
  onnx: boolean;
  /** the tfjs backend for what is not compiled */
  tfjs: string;
  /** why this backend (shown by info and in the JSON result) */
  reason: string;
}

export async function selectBackend(choice: string = 'auto'): Promise<EngineBackend> {
  if (!ENGINE_CHOICES.includes(choice as EngineChoice)) {
    throw new LensError('bad-usage', `unknown backend '${choice}' (choose ${ENGINE_CHOICES.join(', ')})`);
  }
  const st = ortStatus();
  if (choice === 'onnx') {
    if (!st.available) throw new LensError('bad-usage', `backend onnx is not available: ${st.reason}`);
    const tfjs = await initBackend('wasm').catch(() => initBackend('cpu'));
    return { name: 'onnx', onnx: true, tfjs, reason: `asked for; ${st.reason}` };
  }
  if (choice === 'auto') {
    const tfjs = await initBackend('auto');
    if (st.available) return { name: 'onnx', onnx: true, tfjs, reason: `auto: ${st.reason}` };
    return { name: tfjs, onnx: false, tfjs, reason: `auto: ${st.reason}; ${tfjs} runs every method` };
  }
  const tfjs = await initBackend(choice as BackendChoice);
  return { name: tfjs, onnx: false, tfjs, reason: 'asked for' };
}

const SIGNAL_METHODS: readonly MethodName[] = ['gradient', 'gradient-x-input', 'deconvnet', 'guided-backprop', 'smoothgrad', 'smoothgrad-squared', 'vargrad', 'integrated-gradients'];

/**
 * Where each method runs on the onnx backend for this graph, with the reason for a wasm fallback (or
 * for a refusal on every backend: Deep Taylor on a non-ReLU network).
 */
export function compiledMethods(g: Graph, methods: readonly MethodName[]): Record<string, { compiled: boolean; reason?: string }> {
  const lrp = compileBlocker(g, 'lrp');
  const signal = compileBlocker(g, 'signal');
  const notRelu = g.nodes.map((n) => notReluOp(n.op === 'activation' ? `activation:${n.attrs.activation}` : n.op)).find((o) => o !== undefined);
  return Object.fromEntries(methods.map((m) => {
    if (RELU_ONLY_METHODS.has(m) && notRelu) return [m, { compiled: false, reason: `refused on every backend: defined for ReLU networks, this one has ${notRelu}` }];
    if (m === 'lrp' || m === 'deep-taylor' || m === 'deep-taylor-bounded') return [m, lrp ? { compiled: false, reason: lrp } : { compiled: true }];
    // the pattern methods run the gradient's backward with patterns in place of the weights
    if (SIGNAL_METHODS.includes(m) || m === 'pattern-net' || m === 'pattern-attribution') return [m, signal ? { compiled: false, reason: signal } : { compiled: true }];
    return [m, { compiled: false, reason: 'not compiled to ONNX yet' }];
  }));
}

/** Whether evaluate's perturbation batches run on onnxruntime for this graph (its forward pass compiles). */
export function compiledForward(g: Graph): { compiled: boolean; reason?: string } {
  const blocker = forwardBlocker(g);
  return blocker ? { compiled: false, reason: blocker } : { compiled: true };
}

/**
 * The tfjs wasm backend's heap is at most 4 GB: past it an explanation fails inside wasm ("memory access
 * out of bounds", or a failed heap growth). Such a failure as a one-line error naming the model, with the
 * way out; any other error: undefined.
 */
export function wasmOutOfMemory(e: unknown, file: string, what: string): LensError | undefined {
  const m = e instanceof Error ? e.message : '';
  const wasm = ((e as Error).name === 'RuntimeError' && /memory access out of bounds/.test(m))
    || /Maximum memory size exceeded|Array buffer allocation failed|WebAssembly\.Memory/.test(m);
  if (!wasm) return undefined;
  const way = ortStatus().available ? 'the onnx backend (--backend onnx) runs it' : 'a smaller model or another composite may fit';
  return new LensError('out-of-memory', `out of memory on the wasm backend (its heap is at most 4 GB) explaining with ${what}; ${way}`, file);
}
