/**
 * The CLI over the models users have (issue 4): `info` lists every node and names unsupported ones,
 * `card init` writes a card that then loads (also for a model whose input size is dynamic), and
 * `explain` takes the method flags (gradient family, Deep Taylor root, patterns) with one-line usage
 * errors. Spawns the built CLI (`node esbuild.mjs` first) as a user would.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEMO_DIGIT, DEMO_MODEL, ROOT, runCli, type CliRun } from './helpers/cli';
import { emotionModel, paddleOcrClsModel } from './helpers/realModels';
import { openModel, readInput } from '../../src/core/pipeline';
import { initBackend } from '../../src/core/engine/backend';
import { Explainer } from '../../src/core/methods/explain';
import { loadPatterns } from '../../src/core/patterns/file';
import { registerLoader } from '../../src/core/loaders/registry';
import type { Graph, OpKind } from '../../src/core/graph/ir';
import { isLensError } from '../../src/core/errors';
import { readCard } from '../../src/core/card/modelCard';
import { writeNpy } from '../../src/core/io/npy';
import { decodeImage } from '../../src/core/image/decode';
import { formatInfo, infoReport } from '../../src/cli/commands/info';
import { METHOD_NAMES } from '../../src/shared/methodParams';
import { runExplain } from '../../src/cli/commands/explain';

const FX = path.join(ROOT, 'test', 'fixtures', 'loaders');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-cli-models-'));
const out = (name: string): string => path.join(tmp, name);
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function ok(r: CliRun, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}: ${r.stderr}`);
}

/** Exit 2, one line on stderr naming `mentions`, no stack trace, and none of `outputs` written. */
function assertUsage(args: string[], mentions: string | RegExp, outputs: string[] = []): void {
  const r = runCli(args);
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.code} ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  if (typeof mentions === 'string') assert.ok(lines[0].includes(mentions), `'${lines[0]}' should mention ${mentions}`);
  else assert.match(lines[0], mentions);
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  for (const o of outputs) assert.ok(!fs.existsSync(o), `${o} must not be written`);
}

interface InfoJson {
  format: string;
  input: number[];
  card: string | null;
  nodes: { name: string; op: string; supported: boolean; methods: Record<string, boolean> }[];
  loaded: { name: string }[];
  unsupported: { name: string }[];
}

function infoJson(args: string[]): InfoJson {
  const r = runCli(['info', ...args, '--json']);
  ok(r, `info ${args.join(' ')}`);
  return JSON.parse(r.stdout) as InfoJson;
}

for (const [label, file] of [
  ['TF.js graph model (mini-Xception emotion)', emotionModel()],
  ['ONNX fixture (torch CNN)', path.join(FX, 'cnn.onnx')],
  ['Keras .h5 fixture', path.join(FX, 'cnn.h5')],
] as const) {
  test(`info on a ${label} lists every node with op, shape, params and per-method support`, async () => {
    const m = await openModel(file);
    const j = infoJson([file]);
    assert.deepEqual(j.nodes.map((n) => n.name), m.graph.nodes.map((n) => n.name), 'every node of the explained graph, in order');
    assert.deepEqual(j.loaded.map((n) => n.name), m.raw.nodes.map((n) => n.name), 'every node as loaded');
    for (const n of j.nodes) {
      assert.equal(n.supported, true, n.name);
      assert.deepEqual(Object.keys(n.methods), [...METHOD_NAMES]);
      assert.ok(Object.values(n.methods).every((v) => v), n.name);
    }
    assert.deepEqual(j.unsupported, []);
    const r = runCli(['info', file]);
    ok(r, 'info');
    const lines = r.stdout.split('\n');
    const head = lines.findIndex((l) => l.startsWith('layer '));
    const rows = lines.slice(head + 1, lines.indexOf('', head));
    assert.equal(rows.length, m.graph.nodes.length, 'one table row per node');
    for (const n of m.graph.nodes) {
      const row = rows.find((l) => l.startsWith(n.name + ' '));
      assert.ok(row, `a row for ${n.name}`);
      assert.match(row, new RegExp(`\\s${n.shape.join('×')}\\s+\\d+\\s`), `${n.name}: shape and params`);
      assert.match(row, /\sall(\s|$)/, `${n.name}: supported by all methods`);
    }
    assert.match(r.stdout, /supported: every node runs with every method/);
    const loaded = runCli(['info', file, '--loaded']);
    ok(loaded, 'info --loaded');
    for (const n of m.raw.nodes) assert.ok(loaded.stdout.includes(n.name), `--loaded lists ${n.name}`);
  });
}

test('the demo model keeps its info rows (rule per layer with the card z^B bounds)', () => {
  const r = runCli(['info', DEMO_MODEL]);
  ok(r, 'info');
  assert.match(r.stdout, /conv1\s+conv2d\s+Conv2D\s+28×28×6\s+156\s+z-box:0,1\s+all/);
  assert.match(r.stdout, /fc3\s+dense\s+Dense\s+10\s+850\s+epsilon:0\.000001\s+all/);
  assert.match(r.stdout, /model card: .*model\.lens\.json/);
});

test('an unsupported operator is named with its node by info and explain (loaders), nothing written', () => {
  const onnx = path.join(FX, 'broken_unsupported.onnx');
  assertUsage(['info', onnx], /broken_unsupported\.onnx: node '\/Resize' \(Resize\): operator 'Resize' is not supported/);
  const png = out('never.png');
  assertUsage(['explain', onnx, DEMO_DIGIT(1), '--png', png], "node '/Resize'", [png]);
  for (const f of ['broken_unsupported.h5', 'broken_unsupported.keras']) {
    assertUsage(['info', path.join(FX, f)], "layer 'pool': layer class 'UpSampling2D' is not supported");
  }
});

/** A graph whose IR holds an op the engine does not run (as a future loader could produce). */
function graphWithUnsupportedNode(): Graph {
  const kernel = new Float32Array(64 * 3).map((_, i) => ((i * 37) % 11) / 11 - 0.5);
  return {
    name: 'fake', format: 'test-fake', input: 0, output: 3,
    nodes: [
      { id: 0, name: 'image', op: 'input', inputs: [], attrs: {}, params: {}, shape: [4, 4, 1], sourceClass: 'Input' },
      { id: 1, name: 'up', op: 'upsample' as OpKind, inputs: [0], attrs: {}, params: {}, shape: [8, 8, 1], sourceClass: 'Resize' },
      { id: 2, name: 'flat', op: 'flatten', inputs: [1], attrs: {}, params: {}, shape: [64], sourceClass: 'Flatten' },
      {
        id: 3, name: 'logits', op: 'dense', inputs: [2], attrs: {}, shape: [3], sourceClass: 'Gemm',
        params: { kernel: { shape: [64, 3], data: kernel }, bias: { shape: [3], data: new Float32Array(3) } },
      },
    ],
  };
}

test('a node the engine cannot run: info lists it and names it; explain refuses before computing', async () => {
  registerLoader({ name: 'test-fake', match: (f) => f.endsWith('.fakenet'), open: async () => graphWithUnsupportedNode() });
  const file = out('model.fakenet');
  fs.writeFileSync(file, 'fake');
  const m = await openModel(file);
  const report = infoReport(m);
  assert.deepEqual(report.nodes.map((n) => n.name), ['image', 'up', 'flat', 'logits']);
  const up = report.nodes.find((n) => n.name === 'up')!;
  assert.equal(up.supported, false);
  assert.ok(Object.values(up.methods).every((v) => !v));
  assert.deepEqual(report.unsupported.map((u) => u.name), ['up']);
  const text = formatInfo(report);
  assert.match(text, /^up\s+upsample\s+Resize\s+8×8×1\s+0\s+NONE\s+op 'upsample' is not implemented/m);
  assert.match(text, /UNSUPPORTED: 1 node .*\n\s+node 'up' \(Resize, op upsample\)/);

  const x = out('fake.npy');
  fs.writeFileSync(x, writeNpy([4, 4, 1], new Float32Array(16).fill(0.5)));
  const json = out('fake.json');
  await assert.rejects(runExplain([file, x, '--backend', 'cpu', '--json', json, '-q']), (e: unknown) => {
    assert.ok(isLensError(e));
    assert.equal(e.code, 'unsupported-op');
    assert.match(e.message, /model\.fakenet: node 'up' \(Resize, op upsample\) is not supported/);
    return true;
  });
  assert.ok(!fs.existsSync(json));
});

test('card init writes a card that then loads; refuses to overwrite without --force', () => {
  const dir = out('lenet');
  fs.mkdirSync(dir);
  for (const f of ['model.json', 'group1-shard1of1.bin']) fs.copyFileSync(path.join(path.dirname(DEMO_MODEL), f), path.join(dir, f));
  const model = path.join(dir, 'model.json');
  const labels = path.join(dir, 'labels.txt');
  fs.writeFileSync(labels, 'zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n');

  assertUsage(['card', 'init', model, '--labels', 'a,b,c'], '3 labels given, the model has 10 classes');
  assertUsage(['card', 'init', model, '--size', '32x32'], 'fixed at 28x28');
  assertUsage(['card', 'init', model, '--size', 'big'], "--size expects HxW (e.g. 224x224), got 'big'");
  assertUsage(['card', 'init', model, '--labels', 'nolabelsfile'], "'nolabelsfile' is not a file");
  assert.ok(!fs.existsSync(path.join(dir, 'model.lens.json')), 'nothing written by failed runs');

  const r = runCli(['card', 'init', model, '--labels', labels]);
  ok(r, 'card init');
  const cardPath = path.join(dir, 'model.lens.json');
  assert.equal(r.stdout.trim(), cardPath, 'prints the path written');
  const card = readCard(cardPath);
  assert.deepEqual(card.input, { height: 28, width: 28, channels: 1, channelOrder: 'rgb', resize: 'bilinear', scaling: '[0,1]' });
  assert.equal(card.labels![7], 'seven');
  assert.equal(infoJson([model]).card, cardPath, 'info finds the new card');
  const json = out('card.json');
  ok(runCli(['explain', model, DEMO_DIGIT(7), '--json', json, '--backend', 'cpu', '-q']), 'explain with the new card');
  const j = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(j.target.label, 'seven');

  const before = fs.readFileSync(cardPath, 'utf8');
  assertUsage(['card', 'init', model], /model\.lens\.json: a model card already exists \(use --force to overwrite\)/);
  assert.equal(fs.readFileSync(cardPath, 'utf8'), before, 'the card is untouched');
  const forced = runCli(['card', 'init', model, '--force', '--labels', 'a,b,c,d,e,f,g,h,i,j']);
  ok(forced, 'card init --force');
  assert.deepEqual(readCard(cardPath).labels, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
  const leftovers = fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));
  assert.deepEqual(leftovers, []);
});

test('a model with a dynamic input size: card init --size, then info and explain read the size from the card', () => {
  const dir = out('ocr');
  fs.mkdirSync(dir);
  const model = path.join(dir, 'cls.onnx');
  fs.copyFileSync(paddleOcrClsModel(), model);
  assertUsage(['info', model], /cls\.onnx: input 'x' has no fixed height and width .*card init MODEL --size HxW/);
  assertUsage(['card', 'init', model], 'no fixed height and width');
  const r = runCli(['card', 'init', model, '--size', '48x192', '--labels', '0,180']);
  ok(r, 'card init --size');
  assert.equal(r.stdout.trim(), path.join(dir, 'cls.lens.json'));
  const j = infoJson([model]);
  assert.deepEqual(j.input, [48, 192, 3]);
  assert.equal(j.card, path.join(dir, 'cls.lens.json'));

  // a card given with --card (not next to the model) also gives the size to the loader
  const other = out('ocr-card');
  fs.mkdirSync(other);
  const moved = path.join(other, 'my.lens.json');
  fs.renameSync(path.join(dir, 'cls.lens.json'), moved);
  assertUsage(['info', model], 'no fixed height and width');
  assert.deepEqual(infoJson([model, '--card', moved]).input, [48, 192, 3]);
  const x = out('ocr.npy');
  fs.writeFileSync(x, writeNpy([48, 192, 3], new Float32Array(48 * 192 * 3).fill(0.25)));
  const json = out('ocr.json');
  ok(runCli(['explain', model, x, '--card', moved, '--method', 'gradient', '--json', json, '-q']), 'explain with --card');
  assert.deepEqual(JSON.parse(fs.readFileSync(json, 'utf8')).relevance.shape, [48, 192, 3]);
});

function explainJson(name: string, args: string[]): { method: string; relevance: { data: number[] }; extra?: Record<string, Record<string, unknown>>; inputRelevanceSum: number; target: { logit: number } } {
  const json = out(name);
  const r = runCli(['explain', DEMO_MODEL, DEMO_DIGIT(7), '--json', json, '--backend', 'cpu', '-q', ...args]);
  ok(r, `explain ${args.join(' ')}`);
  return JSON.parse(fs.readFileSync(json, 'utf8'));
}

test('explain --method gradient / smoothgrad / integrated-gradients with their flags on the demo model', () => {
  const grad = explainJson('g.json', ['--method', 'gradient']);
  assert.equal(grad.method, 'gradient');
  assert.equal(grad.relevance.data.length, 784);

  const sg = explainJson('sg.json', ['--method', 'smoothgrad', '--samples', '6', '--sigma', '0.2', '--seed', '3']);
  assert.equal(sg.method, 'smoothgrad');
  assert.deepEqual({ samples: sg.extra!.smoothgrad.samples, sigma: sg.extra!.smoothgrad.sigma, seed: sg.extra!.smoothgrad.seed }, { samples: 6, sigma: 0.2, seed: 3 });
  const same = explainJson('sg2.json', ['--method', 'smoothgrad', '--samples', '6', '--sigma', '0.2', '--seed', '3']);
  assert.deepEqual(same.relevance.data, sg.relevance.data, 'a seed makes SmoothGrad reproducible');
  const other = explainJson('sg3.json', ['--method', 'smoothgrad', '--samples', '6', '--sigma', '0.2', '--seed', '4']);
  assert.notDeepEqual(other.relevance.data, sg.relevance.data, 'another seed, other noise');
  const zero = explainJson('sg0.json', ['--method', 'smoothgrad', '--samples', '2', '--sigma', '0']);
  for (let i = 0; i < 784; i++) assert.ok(Math.abs(zero.relevance.data[i] - grad.relevance.data[i]) <= 1e-5 * Math.max(1, Math.abs(grad.relevance.data[i])), 'σ = 0 is the gradient');

  const ig = explainJson('ig.json', ['--method', 'integrated-gradients', '--steps', '32', '--baseline', 'blur:1.5']);
  assert.equal(ig.extra!.integratedGradients.steps, 32);
  assert.equal(ig.extra!.integratedGradients.baseline, 'blur:1.5');
  const igc = explainJson('igc.json', ['--method', 'integrated-gradients', '--steps', '8', '--baseline', 'constant:-0.25']);
  assert.equal(igc.extra!.integratedGradients.baseline, 'constant:-0.25');
  // an explicit baseline from .npy: the (preprocessed) input itself gives zero attribution
  const x = out('digit7.npy');
  const img = decodeImage(fs.readFileSync(DEMO_DIGIT(7)), 'digit');
  const data = new Float32Array(784);
  for (let i = 0; i < 784; i++) data[i] = (0.299 * img.data[i * 4] + 0.587 * img.data[i * 4 + 1] + 0.114 * img.data[i * 4 + 2]) / 255;
  fs.writeFileSync(x, writeNpy([1, 28, 28, 1], data));
  const igf = explainJson('igf.json', ['--method', 'integrated-gradients', '--steps', '4', '--baseline', x]);
  assert.equal(igf.extra!.integratedGradients.baseline, 'array');
  assert.ok(Math.abs(igf.extra!.integratedGradients.outputAtBaseline as number - igf.target.logit) < 1e-4, 'f(baseline) = f(input)');
  assert.ok(igf.relevance.data.every((v) => Math.abs(v) < 1e-6), 'x − baseline = 0: no attribution');

  const dt = explainJson('dt.json', ['--method', 'deep-taylor', '--root', 'nearest']);
  assert.equal(dt.method, 'deep-taylor');
});

test('explain --method pattern-attribution with patterns fitted by the wired `patterns fit`', async () => {
  const pat = out('lenet.pat');
  ok(runCli(['patterns', 'fit', DEMO_MODEL, path.join(ROOT, 'demo', 'digits'), '--out', pat, '--backend', 'cpu', '-q']), 'patterns fit');
  ok(runCli(['patterns', 'info', pat]), 'patterns info');
  const pa = explainJson('pa.json', ['--method', 'pattern-attribution', '--patterns', pat, '--pattern-type', 'linear']);
  assert.equal(pa.method, 'pattern-attribution');
  assert.equal((pa.extra!.patterns as { type: string }).type, 'linear');
  // the CLI reads one pattern type and makes W∘A in its arrays: the same bits as both types loaded, multiplied on the way
  const model = await openModel(DEMO_MODEL);
  await initBackend('cpu');
  const e = new Explainer(model.graph);
  try {
    const { input } = readInput(DEMO_DIGIT(7), model);
    for (const type of ['relu', 'linear'] as const) {
      const cli = explainJson(`pa-${type}.json`, ['--method', 'pattern-attribution', '--patterns', pat, '--pattern-type', type]);
      const want = e.explain(input, { method: 'pattern-attribution', patterns: loadPatterns(pat), patternType: type }).relevance.data;
      assert.deepEqual(Float32Array.from(cli.relevance.data), want, type);
    }
  } finally {
    e.dispose();
  }
});

test('bad method flags exit 2 with one line, before anything is written', () => {
  const json = out('bad.json');
  const bad: [string[], string | RegExp][] = [
    [['--method', 'smoothgrad', '--samples', '0'], "--samples expects an integer in 1..100000, got '0'"],
    [['--method', 'smoothgrad', '--samples', '2.5'], "--samples expects an integer in 1..100000, got '2.5'"],
    [['--method', 'smoothgrad', '--sigma', 'wide'], "--sigma expects a number, got 'wide'"],
    [['--method', 'smoothgrad', '--sigma', '-0.1'], "--sigma expects a number ≥ 0"],
    [['--method', 'smoothgrad', '--seed', '-3'], "--seed expects an integer in 0..2147483647, got '-3'"],
    [['--method', 'integrated-gradients', '--steps', 'many'], "--steps expects an integer in 1..100000, got 'many'"],
    [['--method', 'integrated-gradients', '--baseline', 'noise'], "--baseline must be zeros, constant:V, blur[:SIGMA] or a FILE.npy, got 'noise'"],
    [['--method', 'integrated-gradients', '--baseline', 'constant:'], '--baseline constant:V expects a number V'],
    [['--method', 'integrated-gradients', '--baseline', 'blur:-2'], '--baseline blur:SIGMA expects a blur radius ≥ 0'],
    [['--method', 'integrated-gradients', '--baseline', out('missing.npy')], /missing\.npy: baseline file not found/],
    [['--method', 'deep-taylor', '--root', 'bounded'], "--root must be nearest, origin or lrp, got 'bounded'"],
    [['--method', 'pattern-net'], '--method pattern-net needs --patterns FILE'],
    [['--method', 'pattern-attribution'], '--method pattern-attribution needs --patterns FILE'],
    [['--method', 'pattern-net', '--patterns', out('p.pat'), '--pattern-type', 'both'], "--pattern-type must be relu or linear, got 'both'"],
    [['--method', 'pattern-net', '--patterns', out('missing.pat')], /missing\.pat: file not found/],
    [['--method', 'lrp', '--samples', '8'], '--samples applies to --method smoothgrad / smoothgrad-squared / vargrad, not lrp'],
    [['--method', 'vargrad', '--sigma', '-1'], '--sigma expects a number ≥ 0'],
    [['--polarity', 'abs'], "--polarity must be one of both, positive, negative, absolute; got 'abs'"],
    [['--method', 'gradient', '--baseline', 'zeros'], '--baseline applies to --method integrated-gradients, not gradient'],
    [['--method', 'saliency'], "--method must be one of"],
  ];
  for (const [args, mentions] of bad) {
    assertUsage(['explain', DEMO_MODEL, DEMO_DIGIT(7), '--json', json, '--backend', 'cpu', ...args], mentions, [json]);
  }
  // a baseline .npy of the wrong shape names the file
  const wrong = out('wrong-baseline.npy');
  fs.writeFileSync(wrong, writeNpy([14, 14, 1], new Float32Array(196)));
  assertUsage(['explain', DEMO_MODEL, DEMO_DIGIT(7), '--method', 'integrated-gradients', '--baseline', wrong, '--json', json], /wrong-baseline\.npy: baseline \.npy has shape \(14, 14, 1\)/, [json]);
});

test('help lists the card and patterns commands; explain --help lists the method flags', () => {
  const r = runCli(['--help']);
  ok(r, '--help');
  assert.match(r.stdout, /card init MODEL/);
  assert.match(r.stdout, /patterns fit MODEL DATA --out FILE/);
  const e = runCli(['explain', '--help']);
  ok(e, 'explain --help');
  for (const f of ['--samples', '--sigma', '--seed', '--steps', '--baseline', '--root', '--patterns', '--pattern-type']) assert.ok(e.stdout.includes(f), f);
  assertUsage(['card'], 'usage: relevance-lens card init MODEL');
  assertUsage(['card', 'frob'], "unknown card command 'frob'");
  assertUsage(['patterns', 'frob'], "unknown patterns command 'frob'");
});
