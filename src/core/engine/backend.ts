/**
 * Picks the TensorFlow.js backend: tensorflow (tfjs-node, optional) > wasm (default, SIMD) > cpu.
 * The wasm binaries are looked up next to the running bundle first, then in node_modules.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import * as fs from 'fs';
import * as path from 'path';
import { LensError } from '../errors';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

const WASM_FILE = 'tfjs-backend-wasm-simd.wasm';

function wasmDir(): string | undefined {
  const candidates = [__dirname, path.join(__dirname, 'wasm')];
  try {
    candidates.push(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/' + WASM_FILE)));
  } catch {
    // not resolvable inside a bundle: the copies next to it are used
  }
  return candidates.find((d) => fs.existsSync(path.join(d, WASM_FILE)));
}

let tfjsNodeTried = false;
function tryLoadTfjsNode(): boolean {
  if (tf.findBackend('tensorflow')) return true;
  if (tfjsNodeTried) return false;
  tfjsNodeTried = true;
  try {
    // Optional: absent wherever its install script could not download libtensorflow.
    require('@tensorflow/tfjs-node');
    return tf.findBackend('tensorflow') !== null;
  } catch {
    return false;
  }
}

/**
 * XNNPACK inside the wasm backend prints a failed allocation ("XNN status … is not successful") on
 * stderr before the out-of-memory error reaches the caller, which reports it as one line: that print is
 * dropped. Installed before the wasm module binds console.warn.
 */
function dropXnnStatus(): void {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('XNN status')) return;
    warn(...args);
  };
}

let wasmConfigured = false;
async function trySetWasm(): Promise<boolean> {
  if (!wasmConfigured) {
    const dir = wasmDir();
    if (!dir) return false;
    dropXnnStatus();
    setWasmPaths(dir + path.sep);
    // Node runs wasm single-threaded; a second core is used by a second worker instead.
    setThreadsCount(1);
    wasmConfigured = true;
  }
  try {
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

/** The cpu backend advertises tfjs-node on stdout at first use; our stdout is the CLI's output. */
function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

/** Activates a backend and returns the one in use. */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<string> {
  silenceCpuBanner();
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new LensError('bad-usage', `unknown backend '${choice}' (choose ${BACKEND_CHOICES.join(', ')})`);
  }
  if (choice === 'tensorflow' || choice === 'auto') {
    if (tryLoadTfjsNode() && (await tf.setBackend('tensorflow'))) return 'tensorflow';
    if (choice === 'tensorflow') {
      throw new LensError('bad-usage', 'backend tensorflow is not available (@tensorflow/tfjs-node is not installed)');
    }
  }
  if (choice === 'wasm' || choice === 'auto') {
    if (await trySetWasm()) return 'wasm';
    if (choice === 'wasm') throw new LensError('bad-usage', `backend wasm is not available (${WASM_FILE} not found)`);
  }
  await tf.setBackend('cpu');
  return 'cpu';
}

export { tf };
