/**
 * `explain --backend onnx` is a one-run process: a session without graph optimisation, and the graph's
 * kernels emptied before session.run (onnx/oneRun.ts). Its results equal the wasm backend's (the
 * independent route), including Deep Taylor's root point, which reads the first layer's kernel after the release.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEMO_DIGIT, DEMO_MODEL, ROOT, runCli } from './helpers/cli';
import { writeNpy } from '../../src/core/io/npy';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-onerun-'));
const CNN = path.join(ROOT, 'test', 'fixtures', 'loaders', 'cnn.onnx');
const ref = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'loaders', 'cnn.reference.json'), 'utf8')) as { inputShapeNHWC: number[]; input: number[] };
const cnnInput = path.join(tmp, 'cnn.npy');
fs.writeFileSync(cnnInput, writeNpy(ref.inputShapeNHWC, Float32Array.from(ref.input)));

interface Result {
  backend: string;
  relevance: { data: number[] };
  layers: { name: string; outputRelevanceSum: number; inputRelevanceSum: number }[];
  extra?: { rootPoint?: { data: number[] } };
}

function explain(model: string, input: string, args: string[], backend: string): Result {
  const json = path.join(tmp, `${path.basename(model)}-${args.join('')}-${backend}.json`);
  const r = runCli(['explain', model, input, ...args, '--backend', backend, '--json', json, '-q']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(fs.readFileSync(json, 'utf8')) as Result;
}

function assertClose(a: number[], b: number[], what: string): void {
  assert.equal(a.length, b.length, what);
  const scale = Math.max(...a.map(Math.abs));
  assert.ok(scale > 0, `${what}: not all zero`);
  const d = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  assert.ok(d <= 1e-4 * scale, `${what}: max |diff| ${d} of max ${scale}`);
}

const CASES: [string, string, string[]][] = [
  [CNN, cnnInput, ['--method', 'lrp', '--composite', 'epsilon-gamma-box', '--low', '-3', '--high', '3']],
  [CNN, cnnInput, ['--method', 'gradient']],
  [DEMO_MODEL, DEMO_DIGIT(3), ['--method', 'deep-taylor']],
];

for (const [model, input, args] of CASES) {
  test(`explain ${path.basename(model)} ${args.join(' ')}: one-run onnx = wasm`, () => {
    const o = explain(model, input, args, 'onnx');
    const w = explain(model, input, args, 'wasm');
    assert.equal(o.backend, 'onnx');
    assert.equal(w.backend, 'wasm');
    assertClose(w.relevance.data, o.relevance.data, 'relevance');
    assert.deepEqual(o.layers.map((l) => l.name), w.layers.map((l) => l.name));
    assertClose(w.layers.flatMap((l) => [l.outputRelevanceSum, l.inputRelevanceSum]), o.layers.flatMap((l) => [l.outputRelevanceSum, l.inputRelevanceSum]), 'conservation rows');
    if (args.includes('deep-taylor')) assertClose(w.extra!.rootPoint!.data, o.extra!.rootPoint!.data, 'root point');
  });
}
