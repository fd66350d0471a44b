/**
 * `node out/bench/run.js zoo`: torchvision VGG16 and ResNet-50 as ONNX files (written by
 * scripts/models/export_torchvision.py) on both backends, each measured in a fresh child process:
 * load, first explanation, warm epsilon-gamma-box, rule change, peak RSS; the CLI's first explanation
 * in a fresh process; agreement of the two backends; Zennit's time when ZENNIT_SRC names its source.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { maxAbsDiff, oneRounding } from '../scripts/float32Gap';
import { Explainer } from '../src/core/methods/explain';
import { OnnxExplainer } from '../src/core/onnx/onnxExplainer';
import { compileExplanation, compileForward } from '../src/core/onnx/compile';
import { createSession, ortModule, ortStatus } from '../src/core/onnx/runtime';
import { ruleParamsFor, type InputArray } from '../src/core/methods/explain';
import { selectBackend } from '../src/core/onnx/engineBackend';
import { cardBounds, openModel, readInput } from '../src/core/pipeline';
import { ProcessExplainer } from '../src/core/onnx/processExplainer';
import type { Graph } from '../src/core/graph/ir';
import type { ExplainOptions } from '../src/core/methods/types';

const ZOO = process.env.RELEVANCE_LENS_ZOO ?? path.join(os.homedir(), '.cache', 'relevance-lens', 'zoo');
const MODELS = (process.env.BENCH_ZOO_MODELS ?? 'resnet50,vgg16').split(',');

/** Median warm explanation and its phases over `runs` slightly shifted inputs (the session is already made). */
async function warmRuns(
  e: OnnxExplainer, shifted: (k: number) => InputArray, opts: ExplainOptions, runs: number,
): Promise<{ warmMs: number; warmPhases: Record<string, number> }> {
  const warm: number[] = [];
  const phases: Record<string, number>[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = await e.explain(shifted(i), opts);
    warm.push(performance.now() - t);
    phases.push(r.timings as unknown as Record<string, number>);
  }
  return {
    warmMs: median(warm),
    warmPhases: Object.fromEntries(['prepMs', 'runMs', 'outputMs', 'totalMs'].map((k) => [k, median(phases.map((p) => p[k]))])),
  };
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function weightBytes(g: Graph): number {
  let n = 0;
  for (const node of g.nodes) for (const p of Object.values(node.params)) if (p) n += p.data.byteLength;
  return n;
}

/**
 * The other way to a rule-kind change: the forward values cached from a forward-only model, and only the
 * backward half compiled for the new rules (compile.ts `actsAsInputs`) — compile, session and run timed.
 */
async function backwardOnlyRuleChange(g: Graph, input: InputArray, opts: ExplainOptions): Promise<Record<string, number>> {
  const ort = ortModule();
  const x = new ort.Tensor('float32', input.data, [1, ...input.shape]);
  let t = performance.now();
  const fwd = compileForward(g, { externalWeights: true });
  const sw = await createSession(fwd.proto.finish(), fwd.external);
  const forwardSessionMs = performance.now() - t;
  t = performance.now();
  const acts = await sw.run({ x });
  const forwardRunMs = performance.now() - t;
  const e = new OnnxExplainer(g);
  const plan = e.plan(opts, ruleParamsFor(g, input, opts));
  if ('reason' in plan) throw new Error(plan.reason);
  const rules = plan.family.kind === 'lrp' ? plan.family.rules : new Map();
  t = performance.now();
  // the weights as in-memory external data, read in place by onnxruntime (as OnnxExplainer's sessions)
  const back = compileExplanation(g, { family: plan.family, leaks: true, actsAsInputs: true, externalWeights: true });
  const compileMs = performance.now() - t;
  t = performance.now();
  const sb = await createSession(back.proto.finish(), back.external);
  const sessionMs = performance.now() - t;
  const k = g.nodes[g.output].shape[0];
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
    onehot: new ort.Tensor('float32', new Float32Array(k), [1, k]), top: new ort.Tensor('float32', new Float32Array([1]), [1]),
  };
  for (const p of back.params) feeds[p.name] = new ort.Tensor('float32', p.read(rules), p.dims);
  for (const name of sb.inputNames) if (acts[name]) feeds[name] = acts[name];
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    await sb.run(feeds);
    runs.push(performance.now() - t);
  }
  await sb.release();
  await sw.release();
  await e.dispose();
  return { forwardSessionMs, forwardRunMs, compileMs, sessionMs, runMs: runs[0], warmRunMs: median(runs.slice(1)), totalMs: compileMs + sessionMs + runs[0] };
}

const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`;

/** One model on one backend, in this (fresh) process; prints one JSON line. */
async function child(name: string, mode: 'onnx' | 'onnx-universal' | 'wasm', runs: number): Promise<void> {
  const backend = mode === 'wasm' ? 'wasm' : 'onnx';
  const engine = await selectBackend(backend);
  const t0 = performance.now();
  const m = await openModel(path.join(ZOO, `${name}.onnx`), undefined, { keepRaw: false });
  const loadMs = performance.now() - t0;
  const { input } = readInput(path.join(ZOO, `${name}.input.npy`), m);
  const b = cardBounds(m)!;
  const opts: ExplainOptions = { method: 'lrp', composite: 'epsilon-gamma-box', params: { low: b.low, high: b.high }, conservationDetail: true };
  const other: ExplainOptions = { ...opts, composite: 'epsilon-plus' };
  const shifted = (k: number) => ({ shape: input.shape, data: input.data.map((v, i) => v + ((i * 7 + k) % 13) * 1e-3) });
  const out: Record<string, unknown> = { model: name, backend: engine.name, weightBytes: weightBytes(m.graph), loadMs };
  if (mode === 'onnx-universal') {
    // the extension's explainer: a rule change re-runs the universal backward-only graph (rule kinds
    // are graph inputs) on the forward values of the image shown
    const e = new OnnxExplainer(m.graph, { universal: true });
    let t = performance.now();
    const first = await e.explain(input, opts);
    out.firstMs = performance.now() - t;
    out.firstTimings = first.timings;
    Object.assign(out, await warmRuns(e, shifted, opts, runs));
    await e.explain(input, opts); // the image in the panel again
    // the first rule change builds the backward-only graph
    t = performance.now();
    const built = await e.explain(input, other);
    out.firstRuleChangeMs = performance.now() - t;
    out.firstRuleChangeTimings = built.timings;
    const third: ExplainOptions = { ...opts, composite: 'epsilon-alpha2-beta1' };
    // epsilon-gamma-box with one convolution of the middle under ε
    const convs = m.graph.nodes.filter((n) => n.op === 'conv2d');
    const oneEps: ExplainOptions = { ...opts, rules: { [convs[Math.floor(convs.length / 2)].name]: { rule: 'epsilon' } } };
    const change: number[] = [];
    const changeAb: number[] = [];
    const changeOneEps: number[] = [];
    const back: number[] = [];
    let reused = 0;
    for (let i = 0; i < runs; i++) {
      // changes between rule sets without an own graph (backward only), and back to epsilon-gamma-box (its own graph is cached, the backward-only one runs)
      for (const [o, into] of [[third, changeAb], [oneEps, changeOneEps], [other, change]] as const) {
        t = performance.now();
        const r = await e.explain(input, o);
        into.push(performance.now() - t);
        reused += r.timings.sessionReused * r.timings.backwardOnly;
      }
      t = performance.now();
      await e.explain(input, opts);
      back.push(performance.now() - t);
    }
    out.ruleChangeMs = median(change);
    out.ruleChangeMinMs = Math.min(...change);
    out.ruleChangeAlphaBetaMs = median(changeAb);
    out.ruleChangeOneEpsMs = median(changeOneEps);
    out.ruleChangeReused = reused / (3 * runs);
    out.ruleBackCachedMs = median(back);
    // a new image (its own graph returns its forward values), then its first rule change, which also
    // computes the layers' products by w⁺ (and by w⁻ for α-β) that the next changes re-use
    const fresh: Record<string, number> = {};
    for (const [k, o] of [['epsilonPlus', other], ['alphaBeta', third]] as const) {
      const x = shifted(runs + k.length);
      await e.explain(x, opts);
      t = performance.now();
      const r = await e.explain(x, o);
      fresh[k] = performance.now() - t;
      fresh[`${k}Computed`] = r.timings.productsComputed;
    }
    out.newImageFirstChange = fresh;
    await e.dispose();
  } else if (mode === 'onnx') {
    const e = new OnnxExplainer(m.graph);
    let t = performance.now();
    const first = await e.explain(input, opts);
    out.firstMs = performance.now() - t;
    out.firstTimings = first.timings;
    Object.assign(out, await warmRuns(e, shifted, opts, runs));
    // new rule parameters (graph inputs): the cached session re-runs
    const paramMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      t = performance.now();
      await e.explain(input, { ...opts, params: { ...opts.params, gamma: 0.5 + 0.1 * i, epsilon: 1e-3 * (i + 1), low: b.low, high: b.high } });
      paramMs.push(performance.now() - t);
    }
    out.paramChangeMs = median(paramMs);
    t = performance.now();
    const changed = await e.explain(input, other);
    out.ruleChangeMs = performance.now() - t;
    out.ruleChangeTimings = changed.timings;
    t = performance.now();
    await e.explain(input, opts);
    out.ruleBackCachedMs = performance.now() - t;
    fs.writeFileSync(path.join(os.tmpdir(), `rl-bench-${name}-onnx.f32`), first.relevance.data);
    out.layers = first.layers.map((l) => l.outputRelevanceSum);
    await e.dispose();
    // peak RSS of the explanations above (up to 3 cached sessions), before the backward-only measurement
    out.peakRssBytes = process.resourceUsage().maxRSS * 1024;
    out.backwardOnly = await backwardOnlyRuleChange(m.graph, input, other);
  } else {
    const e = new Explainer(m.graph);
    let t = performance.now();
    const first = e.explain(input, opts);
    out.firstMs = performance.now() - t;
    const warm: number[] = [];
    const fwd: number[] = [];
    for (let i = 0; i < runs; i++) {
      const x = shifted(i);
      t = performance.now();
      e.predict(x);
      fwd.push(performance.now() - t);
      t = performance.now();
      e.explain(x, opts);
      warm.push(performance.now() - t);
    }
    out.forwardMs = median(fwd);
    out.warmMs = median(warm);
    t = performance.now();
    e.explain(shifted(runs - 1), other);
    out.ruleChangeMs = performance.now() - t;
    fs.writeFileSync(path.join(os.tmpdir(), `rl-bench-${name}-wasm.f32`), first.relevance.data);
    // the explanation's own float32 conditioning: wasm again, every input value moved by one rounding
    const moved = e.explain({ shape: input.shape, data: oneRounding(input.data) }, opts);
    fs.writeFileSync(path.join(os.tmpdir(), `rl-bench-${name}-wasm-moved.f32`), moved.relevance.data);
    out.layers = first.layers.map((l) => l.outputRelevanceSum);
    e.dispose();
  }
  out.peakRssBytes ??= process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify(out));
}

/**
 * The extension's configuration: its engine process (dist/onnxProcess.js, as the worker starts it) with
 * the universal explainer, the first explanation, its idle build for rule changes, then four rule changes;
 * the process's peak RSS, which item 5 of the native backend bounds by 3 × weights + 300 MB. `lean`:
 * relevanceLens.ruleChanges 'lean' (nothing kept for rule changes, nothing built while idle).
 */
export async function engineProcess(name: string, lean = false): Promise<void> {
  const script = path.join(__dirname, '..', '..', 'dist', 'onnxProcess.js');
  if (!fs.existsSync(script) || !ortStatus().available) return;
  await selectBackend('onnx');
  const file = path.join(ZOO, `${name}.onnx`);
  const p = new ProcessExplainer(file, { script, lean });
  try {
    const m = await openModel(file, undefined, { keepRaw: false });
    // before useGraph, which lets the caller's kernels go once the process holds the model
    const bound = 3 * weightBytes(m.graph) + 300 * 2 ** 20;
    p.useGraph(m.graph);
    const { input } = readInput(path.join(ZOO, `${name}.input.npy`), m);
    const b = cardBounds(m)!;
    const opts: ExplainOptions = { method: 'lrp', composite: 'epsilon-gamma-box', params: { low: b.low, high: b.high }, conservationDetail: true };
    let t = performance.now();
    await p.explain(input, opts);
    const first = performance.now() - t;
    // the idle build starts 150 ms after the explanation (onnxProcess.ts); VGG16's takes ~0.7 s, ResNet-50's ~1.3 s
    await new Promise((r) => setTimeout(r, 5000));
    const built = await p.memory();
    const changes: string[] = [];
    for (const composite of ['epsilon-plus', 'epsilon-alpha2-beta1', 'epsilon-plus', 'epsilon-gamma-box']) {
      t = performance.now();
      const r = await p.explain(input, { ...opts, composite });
      changes.push(`${composite} ${(performance.now() - t).toFixed(0)} ms${r.timings.backwardOnly ? '' : ' (own graph)'}`);
    }
    const end = await p.memory();
    // then new images (the input moved a little), each with its idle build after it, as in the panel
    const news: number[] = [];
    for (let k = 0; k < 3; k++) {
      const next = { ...input, data: input.data.map((v, i) => (i % 7 === k ? v + 1e-3 : v)) };
      t = performance.now();
      await p.explain(next, opts);
      news.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 3000));
    }
    const last = await p.memory();
    console.log(`${name} engine process (the extension's${lean ? ', ruleChanges lean' : ''}): first explanation ${first.toFixed(0)} ms; ${lean ? 'RSS 5 s after it' : 'after its idle build RSS'} ${mb(built.rss)}; `
      + `rule changes ${changes.join(', ')}; process peak RSS ${mb(end.peak)} (3×weights+300 MB = ${mb(bound)}); `
      + `3 new images ${news.map((v) => v.toFixed(0)).join(' / ')} ms, peak RSS then ${mb(last.peak)}`);
  } finally {
    await p.dispose();
  }
}

function runChild(name: string, backend: string, runs: number): Record<string, number & unknown> | undefined {
  const r = spawnSync(process.execPath, [__filename, 'child', name, backend, String(runs)], { encoding: 'utf8', maxBuffer: 2 ** 26 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    console.log(`  ${name} on ${backend}: failed (${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')})`);
    return undefined;
  }
}

export async function benchZoo(): Promise<void> {
  const missing = MODELS.filter((n) => !fs.existsSync(path.join(ZOO, `${n}.onnx`)));
  if (missing.length) {
    console.log(`zoo: ${missing.join(', ')} missing in ${ZOO}; write them with /usr/bin/python3 scripts/models/export_torchvision.py --models vgg16,resnet50`);
    return;
  }
  console.log(`zoo (torchvision ONNX, random weights; ${ZOO}), ${os.cpus().length} cores, load average ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`);
  for (const name of MODELS) {
    const o = runChild(name, 'onnx', 5);
    const u = runChild(name, 'onnx-universal', 5);
    const w = runChild(name, 'wasm', name === 'vgg16' ? 2 : 3);
    if (o) {
      const ft = o.firstTimings as unknown as Record<string, number>;
      const rt = o.ruleChangeTimings as unknown as Record<string, number>;
      console.log(`${name} onnx: weights ${mb(o.weightBytes)}, load ${o.loadMs.toFixed(0)} ms; first explanation ${o.firstMs.toFixed(0)} ms `
        + `(compile ${ft.compileMs.toFixed(0)}, session ${ft.sessionMs.toFixed(0)}, run ${ft.methodMs.toFixed(0)}); `
        + `epsilon-gamma-box warm ${o.warmMs.toFixed(0)} ms [median of 5]; parameter change (γ, ε: cached session) ${o.paramChangeMs.toFixed(0)} ms [median of 5]; rule-kind change (recompile) ${o.ruleChangeMs.toFixed(0)} ms `
        + `(compile ${rt.compileMs.toFixed(0)}, session ${rt.sessionMs.toFixed(0)}, run ${rt.methodMs.toFixed(0)}), back to a cached rule set ${o.ruleBackCachedMs.toFixed(0)} ms; `
        + `peak RSS ${mb(o.peakRssBytes)} (limit 3×weights+300 MB = ${mb(3 * o.weightBytes + 300 * 2 ** 20)})`);
      const ph = o.warmPhases as unknown as Record<string, number>;
      console.log(`${name} onnx warm phases [medians]: feeds ${ph.prepMs.toFixed(1)} ms, session.run ${ph.runMs.toFixed(0)} ms, outputs read back ${ph.outputMs.toFixed(1)} ms, `
        + `conservation table and rest ${(ph.totalMs - ph.prepMs - ph.runMs - ph.outputMs).toFixed(1)} ms`);
      const bo = o.backwardOnly as unknown as Record<string, number>;
      console.log(`${name} onnx rule-kind change, backward-only model fed with cached forward values: ${bo.totalMs.toFixed(0)} ms `
        + `(compile ${bo.compileMs.toFixed(0)}, session ${bo.sessionMs.toFixed(0)}, run ${bo.runMs.toFixed(0)}; warm backward run ${bo.warmRunMs.toFixed(0)}) `
        + `vs recompile of the one-graph model ${o.ruleChangeMs.toFixed(0)} ms; forward-only model once per model: session ${bo.forwardSessionMs.toFixed(0)} ms, run ${bo.forwardRunMs.toFixed(0)} ms`);
    }
    if (u) {
      const ft = u.firstTimings as unknown as Record<string, number>;
      const bt = u.firstRuleChangeTimings as unknown as Record<string, number>;
      const ph = u.warmPhases as unknown as Record<string, number>;
      const nf = u.newImageFirstChange as unknown as Record<string, number>;
      console.log(`${name} onnx universal (the extension's): first explanation ${u.firstMs.toFixed(0)} ms `
        + `(compile ${ft.compileMs.toFixed(0)}, session ${ft.sessionMs.toFixed(0)}, run ${ft.methodMs.toFixed(0)}); epsilon-gamma-box warm ${u.warmMs.toFixed(0)} ms `
        + `(session.run ${ph.runMs.toFixed(0)}, forward values returned) [median of 5]; first rule change, building the universal backward-only graph ${u.firstRuleChangeMs.toFixed(0)} ms `
        + `(compile ${bt.compileMs.toFixed(0)}, session ${bt.sessionMs.toFixed(0)}, run ${bt.methodMs.toFixed(0)}); rule change to epsilon-plus (backward only) `
        + `${u.ruleChangeMs.toFixed(0)} ms [median of 5, min ${u.ruleChangeMinMs.toFixed(0)}], to epsilon-alpha2-beta1 ${u.ruleChangeAlphaBetaMs.toFixed(0)} ms, `
        + `to epsilon-gamma-box with one convolution under ε ${u.ruleChangeOneEpsMs.toFixed(0)} ms [medians of 5] `
        + `(${(u.ruleChangeReused * 100).toFixed(0)}% on the cached backward-only session); first rule change after a new image, computing its products: `
        + `to epsilon-plus ${nf.epsilonPlus.toFixed(0)} ms, to epsilon-alpha2-beta1 ${nf.alphaBeta.toFixed(0)} ms; `
        + `back to epsilon-gamma-box (backward only too) ${u.ruleBackCachedMs.toFixed(0)} ms; peak RSS ${mb(u.peakRssBytes)}`);
    }
    await engineProcess(name);
    await engineProcess(name, true);
    if (w) {
      console.log(`${name} wasm: load ${w.loadMs.toFixed(0)} ms; first ${w.firstMs.toFixed(0)} ms; forward ${w.forwardMs.toFixed(0)} ms, epsilon-gamma-box warm ${w.warmMs.toFixed(0)} ms; `
        + `rule change (forward cached) ${w.ruleChangeMs.toFixed(0)} ms; peak RSS ${mb(w.peakRssBytes)}`);
    }
    if (o && w) {
      const a = new Float32Array(fs.readFileSync(path.join(os.tmpdir(), `rl-bench-${name}-wasm.f32`)).buffer.slice(0));
      const b = new Float32Array(fs.readFileSync(path.join(os.tmpdir(), `rl-bench-${name}-onnx.f32`)).buffer.slice(0));
      let scale = 0;
      let d = 0;
      let over = 0;
      for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
      for (let i = 0; i < a.length; i++) {
        const x = Math.abs(a[i] - b[i]);
        d = Math.max(d, x);
        if (x > 1e-4 * scale) over++;
      }
      const la = w.layers as unknown as number[];
      const lb = o.layers as unknown as number[];
      let ld = 0;
      const ls = Math.max(...la.map(Math.abs));
      la.forEach((v, i) => (ld = Math.max(ld, Math.abs(v - lb[i]) / ls)));
      const m = new Float32Array(fs.readFileSync(path.join(os.tmpdir(), `rl-bench-${name}-wasm-moved.f32`)).buffer.slice(0));
      console.log(`${name} onnx vs wasm: max |diff| ${(d / scale).toExponential(2)} of max |R|; ${over} of ${a.length} values beyond 1e-4 of max |R|; `
        + `wasm against itself with every input value moved by one float32 rounding: ${(maxAbsDiff(a, m) / scale).toExponential(2)}; `
        + `conservation rows ${la.length}/${lb.length}, largest row difference ${ld.toExponential(2)} of the largest row`);
    }
    cliAgainstZennit(name);
  }
}

/** The JSON line zennit_time.py prints last, or undefined when the script failed. */
function zennitFigures(r: { stdout: string }): Record<string, number> | undefined {
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  } catch {
    return undefined;
  }
}

/**
 * The CLI three times, each a fresh process (the first may compile the bundle: no V8 code cache yet,
 * launcher.ts), and with ZENNIT_SRC Zennit's one explanation in a fresh process between them, so that a
 * change of the machine's load falls on both. Both are timed the same way, from spawn to the end of the
 * process, and both write their output to a file: the interpreter's start and the end of the process
 * (torch's teardown ~0.17 s; with numpy's import and the save, spawn to exit is 0.26–0.36 s longer than
 * the script's own figure on ResNet-50) belong to a fresh process's time as much as node's start and exit do.
 * Zennit's time from its script's first line to the heatmap (what this bench compared with up to
 * 2026-12-07) is printed beside it.
 */
function cliAgainstZennit(name: string): void {
  const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');
  if (!fs.existsSync(cli)) return;
  const zennit = process.env.ZENNIT_SRC ? path.join(__dirname, '..', '..', 'bench', 'zennit_time.py') : undefined;
  const threads = String(os.cpus().length);
  const json = path.join(os.tmpdir(), `rl-bench-${name}-cli.json`);
  const cliWalls: number[] = [];
  const zWalls: number[] = [];
  const zScript: number[] = [];
  for (let k = 0; k < 3; k++) {
    let t = performance.now();
    const r = spawnSync(process.execPath, ['-r', path.join(__dirname, 'peakRss.js'), cli, 'explain', path.join(ZOO, `${name}.onnx`), path.join(ZOO, `${name}.input.npy`),
      '--composite', 'epsilon-gamma-box', '--json', json, '-q'], { encoding: 'utf8' });
    const wall = performance.now() - t;
    if (r.status !== 0) {
      console.log(`${name} CLI explain failed: ${r.stderr.trim()}`);
      return;
    }
    cliWalls.push(wall);
    const j = JSON.parse(fs.readFileSync(json, 'utf8'));
    const kb = Number(/peak-rss-kb (\d+)/.exec(r.stderr)?.[1]);
    const tm = j.timings;
    console.log(`${name} CLI explain epsilon-gamma-box, fresh process ${k + 1} of 3 (backend ${j.backend}): ${wall.toFixed(0)} ms wall, timings.totalMs ${tm.totalMs.toFixed(0)} `
      + `(compile ${tm.compileMs?.toFixed(0)}, session ${tm.sessionMs?.toFixed(0)}, run ${tm.runMs?.toFixed(0)}); peak RSS ${mb(kb * 1024)}`);
    if (!zennit) continue;
    t = performance.now();
    const z = spawnSync('/usr/bin/python3', [zennit, name, threads, '0', path.join(os.tmpdir(), `rl-bench-${name}-zennit.npy`)], { encoding: 'utf8' });
    const zWall = performance.now() - t;
    const once = zennitFigures(z);
    if (!once) {
      console.log(`${name} Zennit failed: ${z.stderr.trim().split('\n').slice(-2).join(' | ')}`);
      return;
    }
    zScript.push(once.processToFirstMs);
    zWalls.push(zWall);
  }
  if (!zennit) return;
  // warm and forward figures from one more process, which explains more than once and is not timed
  const r = spawnSync('/usr/bin/python3', [zennit, name, threads, '3'], { encoding: 'utf8' });
  const w = zennitFigures(r);
  const more = w
    ? `; in another process: first explanation ${w.firstMs.toFixed(0)} ms, warm ${w.warmMs.toFixed(0)} ms, forward ${w.forwardMs.toFixed(0)} ms`
    : `; the warm run failed: ${r.stderr.trim().split('\n').slice(-1)[0]}`;
  console.log(`${name} Zennit 0.5.1 EpsilonGammaBox (${threads} threads), 3 fresh processes, one explanation each, heatmap to .npy: spawn to exit ${zWalls.map((v) => v.toFixed(0)).join(', ')} ms; `
    + `its script's first line to the heatmap ${zScript.map((v) => v.toFixed(0)).join(', ')} ms${more}`);
  console.log(`${name} CLI / Zennit, fresh process spawn to exit, median over median: ${(median(cliWalls) / median(zWalls)).toFixed(2)} `
    + `(each CLI run against the Zennit run after it: ${cliWalls.map((w, i) => (w / zWalls[i]).toFixed(2)).join(', ')}; target ≤ 0.35); `
    + `against Zennit's first line to heatmap instead (this bench's earlier figure): ${(median(cliWalls) / median(zScript)).toFixed(2)}`);
}

if (require.main === module && process.argv[2] === 'child') {
  child(process.argv[3], process.argv[4] as 'onnx' | 'onnx-universal' | 'wasm', Number(process.argv[5] ?? 3)).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
