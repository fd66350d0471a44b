/**
 * The planted Clever-Hans case end to end through the CLI: an MLP trained on digits where half of the
 * 3s carry a corner mark. explain-set over a test folder (half of its 3s marked), then SpRAy must give
 * the marked images a cluster of their own whose average heatmap sits in the mark's corner, and
 * compare-runs against the same model trained without marks must find the marked images most changed.
 * Also: a run killed mid-way resumes without recomputing any finished image.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertExit2, runCli, DEMO_MODEL, CLI } from './helpers/cli';
import { digit, MARK_CLASS, MARK_HI, trainingSet, trainMlp, withMark, writeGrayPng } from './helpers/cleverHans';
import type { SprayResult } from '../../src/core/dataset/spray';
import type { RunComparison } from '../../src/core/dataset/compare';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-clever-hans-'));
const TEST_FROM = 400; // test digits come after the training ones (0..239) in the package's order

/** 40 test 3s (every other one marked) and 10 of each other digit, as PNGs; returns the marked names. */
function writeTestFolder(dir: string): Set<string> {
  fs.mkdirSync(dir, { recursive: true });
  const marked = new Set<string>();
  for (let d = 0; d < 10; d++) {
    const n = d === MARK_CLASS ? 40 : 10;
    for (let j = 0; j < n; j++) {
      const m = d === MARK_CLASS && j % 2 === 0;
      const name = `d${d}-${String(j).padStart(2, '0')}${m ? '-marked' : ''}.png`;
      writeGrayPng(path.join(dir, name), m ? withMark(digit(d, TEST_FROM + j)) : digit(d, TEST_FROM + j));
      if (m) marked.add(name);
    }
  }
  return marked;
}

test('Clever Hans: SpRAy isolates the marked images, their average heatmap lights the mark; compare-runs finds them', async () => {
  const images = path.join(tmp, 'images');
  const marked = writeTestFolder(images);
  const t0 = Date.now();
  // a baseline, and two retrainings of it on more digits (same seeded recipe): one where the mark crept
  // into the 3s (hans), one without (clean2)
  const clean = await trainMlp(trainingSet(200, false), path.join(tmp, 'clean'), 7);
  const hans = await trainMlp(trainingSet(240, true), path.join(tmp, 'hans'), 7);
  const clean2 = await trainMlp(trainingSet(240, false), path.join(tmp, 'clean2'), 7);
  console.log(`three MLPs trained in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const runs: Record<string, string> = {};
  for (const [name, model] of [['hans', hans], ['clean', clean], ['clean2', clean2]]) {
    runs[name] = path.join(tmp, `run-${name}`);
    const r = runCli(['explain-set', model, images, '--out', runs[name], '--composite', 'epsilon', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
  }
  // SpRAy on the model that learned the mark
  const s = runCli(['spray', runs.hans]);
  assert.equal(s.code, 0, s.stderr);
  console.log(s.stdout);
  const res = JSON.parse(fs.readFileSync(path.join(runs.hans, 'spray', 'spray.json'), 'utf8')) as SprayResult;
  const rels = (c: SprayResult['clusters'][number]): string[] => c.members.map((m) => m.rel);
  const predicted3 = res.clusters.filter((c) => c.class === MARK_CLASS);
  assert.ok(predicted3.length >= 2, `class ${MARK_CLASS} must split (k = ${predicted3.length})`);
  const home = predicted3.find((c) => rels(c).some((r) => marked.has(r)))!;
  const inHome = rels(home).filter((r) => marked.has(r)).length;
  const markedPredicted3 = predicted3.flatMap(rels).filter((r) => marked.has(r)).length;
  console.log(`class ${MARK_CLASS}: clusters of size ${predicted3.map((c) => c.size).join(', ')}; marked images predicted ${MARK_CLASS}: ${markedPredicted3}/${marked.size}; in one cluster: ${inHome}, its size ${home.size}`);
  assert.ok(markedPredicted3 >= 0.9 * marked.size, 'the model reads the marked 3s as 3');
  assert.equal(inHome, markedPredicted3, 'all marked images in one cluster');
  assert.equal(home.size, inHome, 'and nothing else in it');
  // the mark is at pixels [1, 5)²: grid cells [0, ceil(5·32/28)) on the 32×32 grid hold it
  const g = res.grid;
  const cells = Math.ceil((MARK_HI * g) / 28);
  let corner = 0;
  let total = 0;
  home.mean.forEach((v, i) => {
    if (v <= 0) return;
    total += v;
    if (Math.floor(i / g) < cells && i % g < cells) corner += v;
  });
  console.log(`marked cluster: ${(100 * corner / total).toFixed(1)} % of its average positive relevance in the ${cells}×${cells} corner cells (${(100 * cells * cells / (g * g)).toFixed(1)} % of the area)`);
  const area = (cells * cells) / (g * g);
  assert.ok(corner / total > 0.3 && corner / total > 5 * area, `average heatmap concentrates on the mark: ${corner / total} of the mass on ${area} of the area`);
  // the other cluster(s) of class 3 look at the digit, not the corner
  for (const c of predicted3.filter((x) => x !== home)) {
    let cc = 0;
    let ct = 0;
    c.mean.forEach((v, i) => {
      if (v <= 0) return;
      ct += v;
      if (Math.floor(i / g) < cells && i % g < cells) cc += v;
    });
    assert.ok(cc / ct < 0.1, `unmarked cluster's corner share ${cc / ct}`);
  }
  assert.equal(res.clusters[0].class, MARK_CLASS, 'the planted class holds the most unusual cluster of the run');
  fs.accessSync(path.join(runs.hans, 'spray', (home as unknown as { sheet: string }).sheet));

  // compare-runs: clean vs hans (the mark learned) against clean vs clean2 (only the seed differs)
  const cmp = (a: string, b: string, extra: string[] = []): { code: number; json: RunComparison; stdout: string } => {
    const json = path.join(tmp, `cmp-${path.basename(a)}-${path.basename(b)}.json`);
    const r = runCli(['compare-runs', a, b, '--json', json, '--size', '8', ...extra]);
    return { code: r.code, json: JSON.parse(fs.readFileSync(json, 'utf8')) as RunComparison, stdout: r.stdout };
  };
  const planted = cmp(runs.clean, runs.hans);
  const control = cmp(runs.clean, runs.clean2);
  console.log(planted.stdout);
  const meanOf = (c: RunComparison, f: (rel: string) => boolean): number => {
    const xs = c.images.filter((i) => f(i.rel)).map((i) => i.rho);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  console.log(`rho on marked images: clean vs hans ${meanOf(planted.json, (r) => marked.has(r)).toFixed(3)}, clean vs clean2 ${meanOf(control.json, (r) => marked.has(r)).toFixed(3)}; `
    + `unmarked: ${meanOf(planted.json, (r) => !marked.has(r)).toFixed(3)} / ${meanOf(control.json, (r) => !marked.has(r)).toFixed(3)}`);
  const top = planted.json.images.slice(0, 10).filter((i) => marked.has(i.rel)).length;
  const topControl = control.json.images.slice(0, 10).filter((i) => marked.has(i.rel)).length;
  console.log(`marked among the 10 most changed: ${top} (with the mark), ${topControl} (without); ${marked.size} of ${planted.json.compared} images are marked`);
  assert.ok(top >= 5, `the marked images dominate the most changed (${top} of 10, against 15 % of the set)`);
  const gap = (c: RunComparison): number => meanOf(c, (r) => !marked.has(r)) - meanOf(c, (r) => marked.has(r));
  assert.ok(gap(planted.json) > 0.25 && gap(planted.json) > gap(control.json) + 0.15, `marked images change more than the rest when the mark is learned: ${gap(planted.json)} vs ${gap(control.json)}`);
  assert.ok(meanOf(planted.json, (r) => marked.has(r)) < meanOf(control.json, (r) => marked.has(r)) - 0.15, 'learning the mark changes the marked heatmaps more than retraining without it');
  // CI use: exit 3 below the threshold, 0 at or above it
  assert.equal(cmp(runs.clean, runs.hans, ['--fail-below', String(planted.json.meanRho + 0.01)]).code, 3);
  assert.equal(cmp(runs.clean, runs.hans, ['--fail-below', String(planted.json.meanRho - 0.01)]).code, 0);
  assert.equal(cmp(runs.clean, runs.hans, ['--fail-on', 'min', '--fail-below', String(planted.json.minRho + 0.01)]).code, 3);
});

test('explain-set: a run killed mid-way resumes without recomputing finished images; Ctrl-C stops with 130', async () => {
  const images = path.join(tmp, 'resume-images');
  fs.mkdirSync(images, { recursive: true });
  const N = 400;
  for (let i = 0; i < N; i++) writeGrayPng(path.join(images, `img-${String(i).padStart(3, '0')}.png`), digit(i % 10, Math.floor(i / 10)));
  const run = path.join(tmp, 'resume-run');
  const args = [CLI, 'explain-set', DEMO_MODEL, images, '--out', run, '--workers', '1', '--chunk', '4', '--quiet'];
  const items = path.join(run, 'items');
  const records = (): string[] => (fs.existsSync(items) ? fs.readdirSync(items).filter((n) => n.endsWith('.json') && !n.startsWith('.')) : []);
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  while (records().length < 40) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  await exited;
  const before = new Map(records().map((n) => [n, fs.statSync(path.join(items, n)).mtimeMs]));
  assert.ok(before.size < N, `killed before the end (${before.size} of ${N} done)`);
  for (const n of before.keys()) JSON.parse(fs.readFileSync(path.join(items, n), 'utf8')); // every record whole
  // Ctrl-C: the second invocation is interrupted, exits 130, keeps what it did
  const child2 = spawn(process.execPath, args, { stdio: 'ignore' });
  const exited2 = new Promise<number | null>((r) => child2.on('exit', (code) => r(code)));
  while (records().length < before.size + 20) await new Promise((r) => setTimeout(r, 10));
  child2.kill('SIGINT');
  assert.equal(await exited2, 130);
  const afterInterrupt = records().length;
  assert.ok(fs.existsSync(path.join(run, 'index.json')), 'the index is written on interrupt');
  const r = runCli(args.slice(1).filter((a) => a !== '--quiet'));
  assert.equal(r.code, 0, r.stderr);
  console.log(`killed at ${before.size}, interrupted at ${afterInterrupt}; rerun: ${r.stdout.split('\n')[1]}`);
  const m = /computed (\d+), resumed (\d+), failed (\d+)/.exec(r.stdout)!;
  assert.equal(Number(m[2]), afterInterrupt, 'every finished image resumed');
  assert.equal(Number(m[1]), N - afterInterrupt, 'only the others computed');
  for (const [n, t] of before) assert.equal(fs.statSync(path.join(items, n)).mtimeMs, t, `${n} not rewritten`);
  assert.equal(records().length, N);
  const index = JSON.parse(fs.readFileSync(path.join(run, 'index.json'), 'utf8')) as { summary: { done: number }; items: unknown[] };
  assert.equal(index.summary.done, N);
  assert.equal(index.items.length, N);
  assert.deepEqual(fs.readdirSync(items).filter((n) => n.endsWith('.tmp')), [], 'no temp files left');
  // the same command on a finished run computes nothing; other options into it are refused
  const again = runCli(args.slice(1));
  assert.equal(again.code, 0);
  const other = runCli([...args.slice(1), '--composite', 'epsilon']);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /different options/);
});

test('explain-set / spray / compare-runs: bad input is one line naming the file, exit 2, nothing written', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-set-bad-'));
  const out = path.join(dir, 'run');
  assertExit2(['explain-set', DEMO_MODEL, path.join(dir, 'missing'), '--out', out], 'missing', dir, [out]);
  assertExit2(['explain-set', DEMO_MODEL, path.join(dir), '--out', out], dir, dir, [out]); // no images in it
  assertExit2(['explain-set', DEMO_MODEL, path.join(dir), '--out', out, '--grid', '1'], '--grid', dir, [out]);
  assertExit2(['explain-set', DEMO_MODEL, path.join(dir), '--out', out, '--method', 'pattern-net', '--pattern-type', 'both'], "--pattern-type must be relu or linear, got 'both'", dir, [out]);
  assertExit2(['spray', dir], dir, dir, [path.join(dir, 'spray')]);
  assertExit2(['compare-runs', dir, dir], dir, dir);
  assertExit2(['compare-runs', dir, dir, '--fail-below', '2'], '--fail-below', dir);
});
