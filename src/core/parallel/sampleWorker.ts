/**
 * Entry of a SampleWorkerPool worker (dist/sampleWorker.js; out/src/core/parallel/sampleWorker.js
 * under tsc): activates the pool's backend, prepares the graph it is sent (one at a time: a new graph
 * replaces the old one), and claims batches of the jobs it is sent until the shared counter runs out
 * or the job is closed. Results go back on the port from workerData, which the pool reads synchronously.
 */
import { parentPort, workerData } from 'worker_threads';
import { initBackend, type BackendChoice } from '../engine/backend';
import { PreparedGraph } from '../engine/prepared';
import { CTRL, openJob, type OpenedJob } from './jobs';
import type { WorkerInit, WorkerReply, WorkerRequest } from './pool';
// the job kinds
import './gradientJob';
import '../metrics/pixelFlipping';
import '../dataset/explainJob';

if (!parentPort) throw new Error('sampleWorker must run in a worker thread');
const init = workerData as WorkerInit;
const out = init.port;

/** Thrown inside a batch when the job was closed (cancelled, or finished by others). */
class Abandoned extends Error {}

function reply(m: WorkerReply, transfer: ArrayBuffer[] = []): void {
  out.postMessage(m, transfer);
}

let current: { key: number; prep: PreparedGraph } | undefined;

function runJob(job: number, key: number, ctrl: Int32Array, spec: Parameters<typeof openJob>[1]): void {
  if (Atomics.load(ctrl, CTRL.CLOSED)) return;
  if (!current || current.key !== key) {
    reply({ type: 'error', job, message: `graph ${key} was not sent to this worker` });
    return;
  }
  const checkpoint = (): void => {
    if (Atomics.load(ctrl, CTRL.CLOSED)) throw new Abandoned();
  };
  let opened: OpenedJob<unknown> | undefined;
  try {
    opened = openJob(current.prep, spec);
    // the caller lets workers in once the job proves long enough, or closes it
    while (!Atomics.load(ctrl, CTRL.GATE) && !Atomics.load(ctrl, CTRL.CLOSED)) Atomics.wait(ctrl, CTRL.GATE, 0, 1000);
    for (;;) {
      if (Atomics.load(ctrl, CTRL.CLOSED)) break;
      const b = Atomics.add(ctrl, CTRL.NEXT, 1);
      if (b >= opened.count) break;
      Atomics.store(ctrl, CTRL.OWNER + b, init.slot);
      const r = opened.run(b, checkpoint);
      reply({ type: 'result', job, b, r }, opened.transfer(r));
      Atomics.add(ctrl, CTRL.POSTED, 1);
      Atomics.notify(ctrl, CTRL.POSTED);
    }
  } catch (e) {
    if (!(e instanceof Abandoned)) {
      reply({ type: 'error', job, message: e instanceof Error ? e.stack ?? e.message : String(e) });
      Atomics.add(ctrl, CTRL.POSTED, 1);
      Atomics.notify(ctrl, CTRL.POSTED);
    }
  } finally {
    opened?.dispose();
  }
}

function handle(m: WorkerRequest): void {
  switch (m.type) {
    case 'graph':
      current?.prep.dispose();
      current = undefined;
      current = { key: m.key, prep: new PreparedGraph(m.graph) };
      break;
    case 'ping':
      if (current?.key === m.key) reply({ type: 'ready', key: m.key });
      break;
    case 'job':
      runJob(m.job, m.key, new Int32Array(m.ctrl), m.spec);
      break;
  }
}

function fatal(e: unknown): void {
  reply({ type: 'fatal', message: e instanceof Error ? e.message : String(e) });
  process.exit(1);
}

// Messages are handled one after another, after the backend is up; a failure to start or to prepare a
// graph ends the worker (the pool computes its share on the calling thread).
let queue: Promise<void> = initBackend(init.backend as BackendChoice).then((b) => {
  if (b !== init.backend) throw new Error(`backend ${init.backend} is not available in the worker (got ${b})`);
});
queue.catch(fatal);
parentPort.on('message', (m: WorkerRequest) => {
  queue = queue.then(() => handle(m)).catch(fatal);
});
