/**
 * Each method's own figures (issue 10): LRP-style conservation ratios only for the LRP family;
 * Integrated Gradients reports its completeness error as % of f(x) − f(baseline), recomputed here from
 * the JSON result; SmoothGrad its σ and samples; one probability format.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEMO_DIGIT, DEMO_MODEL, runCli } from './helpers/cli';
import { fmtProbability, methodFigures } from '../../src/shared/methodFigures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-figures-'));
const TABLE_ROW = /^conv1\s+conv2d\s/m;

test('integrated-gradients: completeness error as % of f(x) − f(baseline), no LRP table', () => {
  const json = path.join(tmp, 'ig.json');
  const r = runCli(['explain', DEMO_MODEL, DEMO_DIGIT(3), '--method', 'integrated-gradients', '--steps', '16', '--json', json, '--backend', 'cpu']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, TABLE_ROW);
  assert.doesNotMatch(r.stdout, /transpose/);
  const j = JSON.parse(fs.readFileSync(json, 'utf8'));
  const sum = j.relevance.data.reduce((a: number, b: number) => a + b, 0);
  const ig = j.extra.integratedGradients;
  const diff = ig.outputAtInput - ig.outputAtBaseline;
  const pct = (100 * Math.abs(sum - diff)) / Math.abs(diff);
  const m = /completeness error: ([\d.e+-]+) % of f\(x\) − f\(baseline\)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  // the printed figure (3 significant digits) matches the error recomputed from the attributions
  assert.ok(Math.abs(Number(m[1]) - pct) <= 0.01 * pct + 1e-6, `printed ${m[1]} %, recomputed ${pct} %`);
});

test('smoothgrad: σ and samples, no LRP table; lrp keeps its table and explains logit − input', () => {
  const sg = runCli(['explain', DEMO_MODEL, DEMO_DIGIT(3), '--method', 'smoothgrad', '--samples', '4', '--sigma', '0.2', '--backend', 'cpu']);
  assert.equal(sg.code, 0, sg.stderr);
  assert.doesNotMatch(sg.stdout, TABLE_ROW);
  assert.match(sg.stdout, /^noise σ: 0\.2000 of the input range/m);
  assert.match(sg.stdout, /^samples: 4 \(seed 0\)/m);
  const lrp = runCli(['explain', DEMO_MODEL, DEMO_DIGIT(3), '--backend', 'cpu']);
  assert.match(lrp.stdout, TABLE_ROW);
  const m = /^logit − input relevance: (\S+): bias terms (\S+), stabilizers (\S+)/m.exec(lrp.stdout);
  assert.ok(m, lrp.stdout);
  // out − in of the whole chain = the closed-form shares (LeNet is a chain)
  assert.ok(Math.abs(Number(m[1]) - Number(m[2]) - Number(m[3])) < 2e-3 * Math.max(1, Math.abs(Number(m[1]))), m[0]);
});

test('one probability format in the CLI and the panel', () => {
  assert.equal(fmtProbability(0.91704), '91.70 %');
  assert.equal(fmtProbability(9.169e-4), '0.09 %');
  assert.equal(fmtProbability(1e-7), '<0.01 %');
  const r = runCli(['explain', DEMO_MODEL, DEMO_DIGIT(3), '--backend', 'cpu', '-q', '--json', path.join(tmp, 'p.json')]);
  assert.equal(r.code, 0);
  const full = runCli(['explain', DEMO_MODEL, DEMO_DIGIT(3), '--backend', 'cpu']);
  const line = full.stdout.split('\n').find((l) => l.startsWith('prediction:'))!;
  // every score printed as a percentage with two decimals (or <0.01 %)
  const scores = line.slice('prediction:'.length).split(',').map((s) => s.trim().replace(/^\d+ \(\d+\) /, ''));
  assert.equal(scores.length, 5);
  for (const s of scores) assert.match(s, /^(\d{1,3}\.\d\d|<0\.01) %$/);
  assert.equal(methodFigures({ method: 'gradient', inputRelevanceSum: 1, logit: 2 }).conservation, false);
  assert.equal(methodFigures({ method: 'deep-taylor', inputRelevanceSum: 1, logit: 2 }).conservation, true);
});
