/**
 * Entry of dist/engineWorker.js: a worker_threads worker that hosts src/core, so TensorFlow.js and
 * every explanation run off the extension host thread. Talks the EngineRequests protocol.
 */
import { parentPort, workerData } from 'worker_threads';
import { RpcEndpoint, type EngineRequests, type WorkerEvents, type Transport, type Wire } from '../../shared/protocol';
import { EngineService } from './engineService';
import { registerDataset } from './datasetService';
import { testHooksEnabled } from '../testHooksSwitch';

if (!parentPort) throw new Error('engineWorker must run in a worker thread');
const port = parentPort;

const transport: Transport = {
  post: (message: Wire, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer ?? []),
  onMessage: (listener) => {
    port.on('message', listener);
    return { dispose: () => port.off('message', listener) };
  },
};
const rpc = new RpcEndpoint<WorkerEvents, EngineRequests>(transport);
// The host writes the runId it wants cancelled here; the engine polls it between layers, which works
// while this thread is busy inside a synchronous backward pass (a message could not arrive then).
const data = workerData as { cancel: SharedArrayBuffer; heartbeat?: SharedArrayBuffer; parallelWorkers?: number };
const cancelFlag = new Int32Array(data.cancel);
// The host's watchdog reads this counter: it moves while the event loop runs (the timer below) and while
// the engine computes (it polls the cancel flag between layers), and stops only when the thread hangs.
const beat = new Int32Array(data.heartbeat ?? new SharedArrayBuffer(4));
setInterval(() => Atomics.add(beat, 0, 1), 500).unref();
const service = new EngineService(
  (runId, stage, fraction) => rpc.emit('progress', { runId, stage, fraction }),
  (runId) => {
    Atomics.add(beat, 0, 1);
    return Atomics.load(cancelFlag, 0) === runId;
  },
  data.parallelWorkers,
  (pid, running) => rpc.emit('engineProcess', { pid, running }),
);
service.register(rpc);
registerDataset(rpc, (runId, stage, fraction) => rpc.emit('progress', { runId, stage, fraction }),
  (runId) => {
    Atomics.add(beat, 0, 1); // a data-set run checks for Cancel between images: that is its heartbeat too
    return Atomics.load(cancelFlag, 0) === runId;
  }, data.parallelWorkers);
// the watchdog's test: answered only when the integration runner switched the test hooks on
if (testHooksEnabled()) {
  rpc.handle('debugHang', ({ ms }) => {
    const end = Date.now() + Math.min(ms, 120_000);
    while (Date.now() < end) {
      // busy, polling nothing: what a stuck kernel looks like from outside
    }
  });
}
