/** `relevance-lens evaluate`: the table, the JSON curves, the PNG plot, and exit 2 with one line on bad usage. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertExit2, DEMO_DIGIT, DEMO_MODEL, runCli } from './helpers/cli';
import { decodeImage } from '../../src/core/image/decode';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-evaluate-'));
const out = (name: string): string => path.join(tmp, name);

interface MethodRow {
  name: string; method: string; composite: string | null; aopc: number; normalizedAopc: number | null;
  vsRandom: number | null; gini: number; curve: number[]; timings: Record<string, number>;
}

test('evaluate: table on stdout, curves as JSON, plot as PNG', () => {
  const json = out('e.json');
  const png = out('e.png');
  const r = runCli(['evaluate', DEMO_MODEL, DEMO_DIGIT(3), '--methods', 'lrp:epsilon-plus,gradient-x-input,gradient',
    '--json', json, '--png', png, '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /class 3 \(3\), logit [\d.]+; MoRF, mean, 1×1 regions, 100 of 784 steps/);
  assert.match(r.stdout, /^method\s+AOPC\s+normalized\s+vs random\s+Gini\s+time$/m);
  assert.match(r.stdout, /^lrp:epsilon-plus\s+[\d.]+\s+[\d.]+\s+\+[\d.]+\s+0\.\d+\s+\d+ ms$/m);
  assert.match(r.stdout, /^random \(3 orders\)\s+-?[\d.]+ ± [\d.]+/m);
  assert.match(r.stdout, /plot: 1 blue lrp:epsilon-plus, 2 orange gradient-x-input, 3 green gradient, R grey dashed random/);

  const j = JSON.parse(fs.readFileSync(json, 'utf8'));
  for (const k of ['model', 'input', 'backend', 'target', 'prediction', 'settings', 'random', 'methods', 'timings']) assert.ok(k in j, k);
  assert.equal(j.backend, 'wasm');
  assert.deepEqual({ class: j.target.class, label: j.target.label }, { class: 3, label: '3' });
  assert.equal(j.prediction.length, 5);
  assert.deepEqual(j.settings, {
    order: 'morf', perturbation: 'mean', region: 1, regions: 784, steps: 100, fraction: 100 / 784, randomOrders: 3, seed: 0, batch: j.settings.batch,
  });
  assert.equal(j.random.curve.length, 101);
  assert.equal(j.random.aopcs.length, 3);
  assert.ok(Math.abs(j.random.curve[0] - j.target.logit) < 1e-4 * Math.abs(j.target.logit), 'the random curve starts at the logit');
  const names = j.methods.map((m: MethodRow) => m.name);
  assert.deepEqual(names, ['lrp:epsilon-plus', 'gradient-x-input', 'gradient']);
  assert.equal(j.methods[0].method, 'lrp');
  assert.equal(j.methods[0].composite, 'epsilon-plus');
  assert.equal(j.methods[1].composite, null);
  for (const m of j.methods as MethodRow[]) {
    assert.equal(m.curve.length, 101);
    assert.ok(Math.abs(m.curve[0] - j.target.logit) < 1e-4 * Math.abs(j.target.logit), `${m.name}: f(x⁰) is the logit`);
    const a = m.curve.reduce((s, v) => s + (m.curve[0] - v), 0) / m.curve.length;
    assert.ok(Math.abs(a - m.aopc) < 1e-6 * Math.max(1, Math.abs(a)), `${m.name}: aopc from its curve`);
    assert.ok(Math.abs(m.normalizedAopc! - m.aopc / m.curve[0]) < 1e-9);
    assert.ok(Math.abs(m.vsRandom! - (m.aopc - j.random.aopc)) < 1e-9);
    assert.ok(m.gini > 0 && m.gini < 1);
    for (const t of ['explainMs', 'curveMs', 'totalMs']) assert.ok(m.timings[t] >= 0, t);
  }
  assert.ok(j.methods[0].aopc > j.random.aopc && j.methods[1].aopc > j.random.aopc);

  const img = decodeImage(fs.readFileSync(png), png);
  assert.deepEqual([img.width, img.height], [640, 400]);

  // on the onnx backend: the same curves (explanations compiled, perturbation batches on onnxruntime)
  const jo = out('e-onnx.json');
  const ro = runCli(['evaluate', DEMO_MODEL, DEMO_DIGIT(3), '--methods', 'lrp:epsilon-plus,gradient-x-input,gradient', '--json', jo, '--quiet', '--backend', 'onnx']);
  assert.equal(ro.code, 0, ro.stderr);
  const o = JSON.parse(fs.readFileSync(jo, 'utf8'));
  assert.equal(o.backend, 'onnx');
  const curves = (x: typeof j): number[] => [...x.random.curve, ...x.methods.flatMap((m: MethodRow) => m.curve)];
  const scale = Math.max(...curves(j).map(Math.abs));
  curves(o).forEach((v, i) => assert.ok(Math.abs(v - curves(j)[i]) <= 1e-4 * scale, `onnx curve value ${i}: ${v} vs wasm ${curves(j)[i]}`));
  assert.deepEqual(o.methods.map((m: { backend: string }) => m.backend), ['onnx', 'onnx', 'onnx']);
  const colours = new Set<string>();
  for (let i = 0; i < img.data.length; i += 4) colours.add(`${img.data[i]},${img.data[i + 1]},${img.data[i + 2]}`);
  for (const c of ['31,119,180', '255,127,14', '44,160,44', '127,127,127']) assert.ok(colours.has(c), `colour ${c} drawn`);
});

test('evaluate: --order lerf, --region, --steps, --perturbation, --random 0, --class, --quiet', () => {
  const json = out('lerf.json');
  const r = runCli(['evaluate', DEMO_MODEL, DEMO_DIGIT(7), '--methods', 'lrp', '--composite', 'epsilon-plus', '--order', 'lerf',
    '--region', '2', '--steps', '20', '--perturbation', 'blur:1.5', '--random', '0', '--class', '1', '--json', json, '--quiet', '--backend', 'cpu']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  const j = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(j.target.class, 1);
  assert.equal(j.random, null);
  assert.equal(j.settings.order, 'lerf');
  assert.equal(j.settings.regions, 196);
  assert.equal(j.settings.steps, 20);
  assert.equal(j.settings.blurSigma, 1.5);
  assert.equal(j.methods[0].name, 'lrp');
  assert.equal(j.methods[0].composite, 'epsilon-plus');
  assert.equal(j.methods[0].curve.length, 21);
  assert.equal(j.methods[0].vsRandom, null);
});

test('evaluate --help and the top-level help list the command', () => {
  const h = runCli(['evaluate', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--methods M\[,M\.\.\.\]/);
  assert.match(h.stdout, /--perturbation P/);
  const top = runCli(['--help']);
  assert.match(top.stdout, /relevance-lens evaluate MODEL INPUT --methods/);
});

function assertUsage(args: string[], mentions: string, outputs: string[] = []): void {
  assertExit2(['evaluate', ...args], mentions, tmp, outputs);
}

test('evaluate: bad usage and bad input exit 2 with one line naming the flag or file', () => {
  const json = out('never.json');
  const png = out('never.png');
  const o = ['--json', json, '--png', png];
  const m = DEMO_MODEL;
  const d = DEMO_DIGIT(2);
  assertUsage([m, d, ...o], '--methods', [json, png]);
  assertUsage([m], 'usage: relevance-lens evaluate');
  assertUsage([m, d, '--methods', 'lrp,banana', ...o], "unknown method 'banana'", [json, png]);
  assertUsage([m, d, '--methods', 'lrp:nope'], "unknown composite 'nope'");
  assertUsage([m, d, '--methods', 'gradient:epsilon'], 'only lrp takes a composite');
  assertUsage([m, d, '--methods', 'gradient', '--composite', 'epsilon-plus'], '--composite');
  assertUsage([m, d, '--methods', 'lrp:epsilon-plus,lrp', '--composite', 'epsilon-plus'], 'twice');
  assertUsage([m, d, '--methods', 'gradient,,lrp'], 'empty entry');
  assertUsage([m, d, '--methods', 'lrp', '--order', 'up'], '--order');
  assertUsage([m, d, '--methods', 'lrp', '--perturbation', 'salt'], '--perturbation');
  assertUsage([m, d, '--methods', 'lrp', '--perturbation', 'blur:-1'], '--perturbation');
  assertUsage([m, d, '--methods', 'lrp', '--steps', '0'], '--steps');
  assertUsage([m, d, '--methods', 'lrp', '--steps', 'many'], '--steps');
  assertUsage([m, d, '--methods', 'lrp', '--random', '-1'], '--random');
  assertUsage([m, d, '--methods', 'lrp', '--class', 'cat'], '--class');
  assertUsage([m, d, '--methods', 'pattern-net'], '--patterns');
  assertUsage([m, d, '--methods', 'lrp', '--patterns', 'p.bin'], '--patterns');
  assertUsage([m, d, '--methods', 'lrp', '--rule', 'conv1'], '--rule');
  assertUsage([m, d, '--methods', 'lrp', '--bogus'], '--bogus');
  // checked against the model and input
  assertUsage([m, d, '--methods', 'lrp', '--steps', '785', '--backend', 'cpu', ...o], '--steps', [json, png]);
  assertUsage([m, d, '--methods', 'lrp', '--region', '29', '--backend', 'cpu', ...o], '--region', [json, png]);
  assertUsage([m, d, '--methods', 'lrp', '--class', '10', '--backend', 'cpu', ...o], '--class 10', [json, png]);
  assertUsage([m, d, '--methods', 'lrp', '--rule', 'nolayer=epsilon', '--backend', 'cpu'], 'nolayer');
  assertUsage([m, out('missing.png'), '--methods', 'lrp', '--backend', 'cpu', ...o], 'missing.png', [json, png]);
  assertUsage([out('nomodel.json'), d, '--methods', 'lrp', '--backend', 'cpu'], 'nomodel.json');
  assertUsage([m, d, '--methods', 'pattern-attribution', '--patterns', out('nopatterns.bin'), '--backend', 'cpu'], 'nopatterns.bin');
  assertUsage([m, d, '--methods', 'gradient', '--steps', '5', '--backend', 'cpu', '--json', path.join(tmp, 'no-dir', 'x.json')], 'x.json');
});
