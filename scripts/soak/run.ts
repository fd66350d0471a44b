/**
 * Soak: a long session through the real engine worker (dist/engineWorker.js, the extension's bundle,
 * spoken to with the extension's own protocol). `npm run soak [-- --lenet N --mobilenet M]`:
 *  - the demo LeNet: N (default 1000) explanations, each after a rule change (describeModel with new
 *    per-layer rules), cycling through composites, rule parameters, methods, digits and display options;
 *  - nsfwjs@4.3.0's MobileNetV2 (MIT, devDependency): M (default 50) explanations with rule changes on
 *    scikit-image's chelsea.png (CC0, Debian python3-skimage) or a synthetic picture when it is absent.
 * Prints live tensors and RSS at the start (after a warm-up) and the end of each phase, with checkpoints;
 * exits 1 when the tensor count grew (a leak) or RSS grew by more than the allowance.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { RpcEndpoint, type DisplayOptions, type EngineRequests, type ExplainSpec, type Transport, type Wire, type WorkerEvents } from '../../src/shared/protocol';
import { encodePng } from '../../src/core/image/png';
import { nsfwjsModel } from '../../test/unit/helpers/realModels';

const ROOT = path.join(__dirname, '..', '..', '..');
const MB = 1024 * 1024;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

interface Stats {
  tensors: number;
  tensorBytes: number;
  rss: number;
  heapUsed: number;
  external: number;
  /** the worker's engine processes (onnx backend) */
  processRss: number;
}

function fmt(s: Stats): string {
  return `tensors ${s.tensors} (${(s.tensorBytes / MB).toFixed(1)} MB), RSS ${(s.rss / MB).toFixed(0)} MB + engine processes ${(s.processRss / MB).toFixed(0)} MB, heap ${(s.heapUsed / MB).toFixed(0)} MB, external ${(s.external / MB).toFixed(0)} MB`;
}

function startWorker(): { rpc: RpcEndpoint<EngineRequests, WorkerEvents>; worker: Worker } {
  const worker = new Worker(path.join(ROOT, 'dist', 'engineWorker.js'), {
    workerData: { cancel: new SharedArrayBuffer(4), heartbeat: new SharedArrayBuffer(4), parallelWorkers: 1 },
    resourceLimits: { maxOldGenerationSizeMb: 3072 },
  });
  const transport: Transport = {
    post: (m: Wire, transfer?: ArrayBuffer[]) => worker.postMessage(m, transfer ?? []),
    onMessage: (listener) => {
      worker.on('message', listener);
      return { dispose: () => worker.off('message', listener) };
    },
  };
  return { rpc: new RpcEndpoint<EngineRequests, WorkerEvents>(transport), worker };
}

const COMPOSITES = ['epsilon-gamma-box', 'epsilon-plus', 'epsilon-plus-flat', 'epsilon-alpha2-beta1', 'lrp-0', 'epsilon', 'gamma', 'alpha-beta', 'z-plus'];
const RULES = ['epsilon:0.25', 'gamma:0.5', 'alpha-beta:2,1', 'z-plus', 'flat', 'w-square', 'lrp-0', 'epsilon:1e-3'];
const METHODS: ExplainSpec['method'][] = ['lrp', 'lrp', 'lrp', 'gradient', 'gradient-x-input', 'guided-backprop', 'deep-taylor', 'smoothgrad', 'integrated-gradients', 'lrp'];
const COLORMAPS = ['seismic', 'bwr', 'coldnhot', 'gray', 'gray-abs'] as const;

interface Step {
  composite: string;
  rules: Record<string, string>;
  method: ExplainSpec['method'];
  image: string;
}

/**
 * Runs one cycle of `steps` as warm-up (every cache the steps use gets filled), then `cycles` more: the
 * live tensors at the end are compared with the start at the same point of the cycle. γ and ε change on
 * every run with a period prime to the cycle, as a user dragging a slider would.
 */
async function phase(
  rpc: RpcEndpoint<EngineRequests, WorkerEvents>, name: string, modelPath: string, steps: Step[], cycles: number, runId: { n: number },
): Promise<{ start: Stats; end: Stats; ms: number; runs: number }> {
  let start: Stats | undefined;
  const warmup = steps.length;
  const n = steps.length * cycles;
  let tStart = performance.now();
  for (let i = 0; i < n + warmup; i++) {
    if (i === warmup) {
      start = await rpc.request('engineStats', {});
      tStart = performance.now();
      console.log(`${name}: start (after ${warmup} warm-up runs): ${fmt(start)}`);
    }
    const st = steps[i % steps.length];
    // a rule change as the panel's pickers and parameter fields send it, then an explanation
    const params = { epsilon: 1e-6 * (1 + (i % 7)), gamma: 0.25 + 0.001 * i };
    await rpc.request('describeModel', { modelPath, composite: st.composite, rules: st.rules, params });
    const spec: ExplainSpec = {
      modelPath, imagePath: st.image, method: st.method, composite: st.composite, rules: st.rules, params,
      methodParams: st.method === 'smoothgrad' ? { samples: 4, sigma: 0.1 } : st.method === 'integrated-gradients' ? { steps: 4 } : {},
      targetClass: i % 4 === 0 ? 'top' : i % 5,
    };
    const display: DisplayOptions = {
      colormap: COLORMAPS[i % COLORMAPS.length], scale: i % 2 ? 'max' : 'percentile', percentile: 90 + (i % 10), polarity: 'both', opacity: 0.7,
    };
    await rpc.request('explain', { runId: ++runId.n, spec, display });
    if (i >= warmup && (i - warmup + 1) % Math.max(1, Math.floor(n / 4)) === 0 && i + 1 < n + warmup) {
      console.log(`${name}: after ${i - warmup + 1} runs: ${fmt(await rpc.request('engineStats', {}))}`);
    }
  }
  const end = await rpc.request('engineStats', {});
  const ms = performance.now() - tStart;
  console.log(`${name}: end after ${n} explanations + rule changes in ${(ms / 1000).toFixed(1)} s (${(ms / n).toFixed(0)} ms each): ${fmt(end)}`);
  return { start: start!, end, ms, runs: n };
}

/** `count` steps cycling through composites, one-layer rule overrides, methods and images. */
function stepsFor(count: number, layers: string[], methods: readonly ExplainSpec['method'][], images: string[], composites = COMPOSITES): Step[] {
  return Array.from({ length: count }, (_, k) => ({
    composite: composites[k % composites.length],
    rules: k % 3 === 0 ? {} : { [layers[k % layers.length]]: RULES[k % RULES.length] },
    method: methods[k % methods.length],
    image: images[k % images.length],
  }));
}

function photo(dir: string): string {
  const skimage = '/usr/lib/python3/dist-packages/skimage/data/chelsea.png';
  if (fs.existsSync(skimage)) return skimage;
  const w = 300;
  const h = 225;
  const rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgba.set([(x * 255) / w, (y * 255) / h, ((x + y) % 64) * 4, 255], (y * w + x) * 4);
  const p = path.join(dir, 'synthetic.png');
  fs.writeFileSync(p, encodePng(rgba, w, h));
  return p;
}

async function main(): Promise<void> {
  const nLenet = arg('lenet', 1000);
  const nMobile = arg('mobilenet', 50);
  const growMb = arg('max-rss-growth-mb', 150);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-soak-'));
  const { rpc, worker } = startWorker();
  const failures: string[] = [];
  try {
    const init = await rpc.request('init', { backend: 'auto', maxImageSide: 4096, workspaceRoots: [] });
    console.log(`engine worker: backend ${init.backend}`);
    const runId = { n: 0 };
    const lenet = path.join(ROOT, 'demo', 'lenet', 'model.json');
    const digits = Array.from({ length: 10 }, (_, d) => path.join(ROOT, 'demo', 'digits', `digit-${d}.png`));
    const results: [string, { start: Stats; end: Stats; runs: number }][] = [];
    if (nLenet > 0) {
      const steps = stepsFor(40, ['conv1', 'conv2', 'fc1', 'fc2', 'fc3'], METHODS, digits);
      results.push(['LeNet', await phase(rpc, 'LeNet', lenet, steps, Math.ceil(nLenet / steps.length), runId)]);
    }
    if (nMobile > 0) {
      const mobile = nsfwjsModel('mobilenet_v2');
      const summary = await rpc.request('describeModel', { modelPath: mobile, composite: 'epsilon-gamma-box', rules: {}, params: {} });
      const ruleable = summary.layers.filter((l) => l.ruleable).map((l) => l.name);
      const picked = [ruleable[0], ruleable[Math.floor(ruleable.length / 2)], ruleable[ruleable.length - 1]];
      const steps = stepsFor(10, picked, ['lrp', 'lrp', 'gradient', 'lrp', 'gradient-x-input'], [photo(tmp)], ['epsilon-gamma-box', 'epsilon-plus', 'epsilon-alpha2-beta1', 'epsilon']);
      results.push(['MobileNetV2', await phase(rpc, 'MobileNetV2', mobile, steps, Math.ceil(nMobile / steps.length), runId)]);
    }
    for (const [name, r] of results) {
      const dT = r.end.tensors - r.start.tensors;
      // the engine processes' memory counts too: on the onnx backend the explanations run there
      const total = (s: Stats) => s.rss + s.processRss;
      const dR = (total(r.end) - total(r.start)) / MB;
      console.log(`${name}: ${r.runs} explanations + ${r.runs} rule changes: tensors ${r.start.tensors} -> ${r.end.tensors} (${dT >= 0 ? '+' : ''}${dT}), RSS with engine processes ${(total(r.start) / MB).toFixed(0)} -> ${(total(r.end) / MB).toFixed(0)} MB (${dR >= 0 ? '+' : ''}${dR.toFixed(0)} MB)`);
      if (dT > 0) failures.push(`${name}: ${dT} tensors more at the end`);
      if (dR > growMb) failures.push(`${name}: RSS grew by ${dR.toFixed(0)} MB (allowance ${growMb} MB)`);
    }
  } finally {
    rpc.dispose();
    await worker.terminate();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (failures.length) {
    console.log(`soak FAILED: ${failures.join('; ')}`);
    process.exitCode = 1;
  } else console.log('soak: flat');
}

void main();
