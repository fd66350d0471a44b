/**
 * Where a compiled explanation's time goes in onnxruntime: `node out/scripts/ortProfile.js MODEL [COMPOSITE] [RUNS]`
 * explains a zoo export on the onnx backend with onnxruntime's profiler on, then sums the warm runs' node
 * timings by op type (and prints the slowest nodes). `UNIVERSAL=1`: rule changes on the universal
 * backward-only graph; `LEAKS=0`: without the table's shares; `ONERUN=1`: the CLI's one-run session, whose
 * arena's bytes in use after each node onnxruntime records (the run's memory peak, and the node it falls
 * on). A developer's tool; the figures are per run.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { OnnxExplainer } from '../src/core/onnx/onnxExplainer';
import { cardBounds, openModel, readInput } from '../src/core/pipeline';
import { ZOO_DIR } from './zooExport';

interface Event { cat: string; name: string; dur: number; args?: { op_name?: string; output_size?: string; mem_bytes_in_use?: string; mem_arena_held?: string } }

async function main(): Promise<void> {
  const [model, composite = 'epsilon-gamma-box', runsText = '5'] = process.argv.slice(2);
  if (!model) throw new Error('usage: ortProfile MODEL [COMPOSITE] [RUNS]');
  const runs = Number(runsText);
  const prefix = path.join(os.tmpdir(), `rl-ortprof-${process.pid}`);
  process.env.RELEVANCE_LENS_ORT_PROFILE = prefix;
  const m = await openModel(path.join(ZOO_DIR, `${model}.onnx`), undefined, { keepRaw: false });
  const { input } = readInput(path.join(ZOO_DIR, `${model}.input.npy`), m);
  const b = cardBounds(m);
  // UNIVERSAL=1: the extension's explainer; the image is explained under epsilon-gamma-box first, and the
  // profiled runs are rule changes to COMPOSITE on the universal backward-only graph
  const universal = process.env.UNIVERSAL === '1';
  const e = new OnnxExplainer(m.graph, { universal, oneRun: process.env.ONERUN === '1' });
  const opts = { method: 'lrp' as const, composite, params: b ? { low: b.low, high: b.high } : {}, conservationDetail: process.env.LEAKS !== '0' };
  if (universal) await e.explain(input, { ...opts, composite: 'epsilon-gamma-box' });
  await e.explain(input, opts);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let k = 0; k < runs; k++) await e.explain(input, opts);
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / runs;
  const wallMs = (performance.now() - t0) / runs;
  await e.dispose();
  // one file per session: the one that ran most is the profiled one
  const files = fs.readdirSync(os.tmpdir()).map((f) => path.join(os.tmpdir(), f)).filter((f) => f.startsWith(prefix));
  if (!files.length) throw new Error('onnxruntime wrote no profile');
  const all = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as Event[]);
  for (const f of files) fs.rmSync(f);
  const runsOf = (ev: Event[]): number => ev.filter((x) => x.cat === 'Session' && x.name === 'model_run').length;
  const events = all.reduce((a, b) => (runsOf(b) > runsOf(a) ? b : a));
  const runEvents = events.filter((ev) => ev.cat === 'Session' && ev.name === 'model_run');
  const nodes = events.filter((ev) => ev.cat === 'Node' && ev.name.endsWith('_kernel_time'));
  const perRun = nodes.length / runEvents.length;
  const warm = nodes.slice(perRun); // the first run pays for allocation and first touch
  const byOp = new Map<string, { us: number; n: number }>();
  for (const ev of warm) {
    const op = ev.args?.op_name ?? '?';
    const a = byOp.get(op) ?? { us: 0, n: 0 };
    a.us += ev.dur; a.n++;
    byOp.set(op, a);
  }
  const wr = runs;
  const runMs = runEvents.slice(1).map((ev) => ev.dur / 1000);
  console.log(`${model} ${composite}: model_run ${runMs.map((v) => v.toFixed(0)).join(', ')} ms; explanation ${wallMs.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU (mean); nodes per run ${perRun}`);
  // the first run's memory: in use after each node, with an arena (the one-run session) only
  const first = nodes.slice(0, perRun);
  const peak = first.reduce((a, ev, i) => (Number(ev.args?.mem_bytes_in_use ?? 0) > a.bytes ? { bytes: Number(ev.args!.mem_bytes_in_use), at: i } : a), { bytes: 0, at: -1 });
  if (peak.at >= 0) {
    console.log(`arena: peak in use ${(peak.bytes / 2 ** 20).toFixed(1)} MB after node ${peak.at + 1} of ${perRun} (${first[peak.at].name.replace(/_kernel_time$/, '')}), `
      + `held ${(Number(first[first.length - 1].args?.mem_arena_held ?? 0) / 2 ** 20).toFixed(1)} MB`);
  }
  for (const [op, a] of [...byOp].sort((x, y) => y[1].us - x[1].us)) {
    console.log(`${op.padEnd(20)} ${(a.us / wr / 1000).toFixed(1).padStart(8)} ms  ${(a.n / wr).toFixed(0).padStart(5)} nodes`);
  }
  const slow = new Map<string, number>();
  for (const ev of warm) slow.set(ev.name, (slow.get(ev.name) ?? 0) + ev.dur);
  console.log('slowest nodes:');
  const size = new Map(warm.map((ev) => [ev.name, Number(ev.args?.output_size ?? 0)]));
  for (const [n, us] of [...slow].sort((x, y) => y[1] - x[1]).slice(0, 25)) console.log(`  ${(us / wr / 1000).toFixed(2).padStart(7)} ms  ${n.replace(/_kernel_time$/, '')} (${(size.get(n)! / 2 ** 20).toFixed(1)} MB out)`);
  // elementwise passes by output size: where the memory traffic is
  const bySize = new Map<string, { us: number; n: number }>();
  for (const ev of warm) {
    const op = ev.args?.op_name ?? '?';
    if (!['Mul', 'Add', 'Sub', 'Div', 'Cast', 'Less', 'Relu', 'Min'].includes(op)) continue;
    const k = `${(Number(ev.args?.output_size ?? 0) / 2 ** 20).toFixed(2)} MB`;
    const a = bySize.get(k) ?? { us: 0, n: 0 };
    a.us += ev.dur; a.n++;
    bySize.set(k, a);
  }
  console.log('elementwise by output size:');
  for (const [k, a] of [...bySize].sort((x, y) => y[1].us - x[1].us).slice(0, 12)) console.log(`  ${k.padStart(10)} ${(a.us / wr / 1000).toFixed(1).padStart(7)} ms ${(a.n / wr).toFixed(0).padStart(5)} nodes, ${(a.us / a.n).toFixed(0)} us each`);
}

main().catch((e: Error) => { console.error(e.message); process.exit(1); });
