/**
 * CLI ergonomics (issue 10): an unknown flag is one line naming the closest valid option; `explain
 * --help` lists composites and colormaps; the README's commands run as written; evaluate's plot has
 * axis titles and method names in its legend.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { DEMO_DIGIT, DEMO_MODEL, ROOT, runCli } from './helpers/cli';
import { closestOption } from '../../src/cli/args';
import { COMPOSITE_NAMES } from '../../src/core/composites/presets';
import { COLORMAP_NAMES } from '../../src/core/image/colormap';
import { plotCurves } from '../../src/core/metrics/plot';

test('an unknown flag: one line with the closest valid option, exit 2', () => {
  for (const [args, want] of [
    [['explain', DEMO_MODEL, DEMO_DIGIT(3), '--methd', 'lrp'], /^relevance-lens: explain: unknown option '--methd'; did you mean --method\?/],
    [['explain', DEMO_MODEL, DEMO_DIGIT(3), '--colourmap', 'gray'], /did you mean --colormap\?/],
    [['info', DEMO_MODEL, '--jsno'], /^relevance-lens: info: unknown option '--jsno'; did you mean --json\?/],
    [['evaluate', DEMO_MODEL, DEMO_DIGIT(3), '--method', 'lrp'], /did you mean --methods\?/],
  ] as const) {
    const r = runCli([...args]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], want);
    assert.doesNotMatch(r.stderr, /positional argument/);
  }
  assert.equal(closestOption('qzxv', ['method', 'composite']), undefined);
  assert.equal(closestOption('compsite', ['method', 'composite']), 'composite');
});

test('explain --help lists every composite family and colormap', () => {
  const r = runCli(['explain', '--help']);
  assert.equal(r.code, 0);
  for (const c of COMPOSITE_NAMES.filter((n) => !n.endsWith('-nobias'))) assert.match(r.stdout, new RegExp(`\\b${c}\\b`), c);
  assert.match(r.stdout, /NAME-nobias/);
  for (const c of COLORMAP_NAMES) assert.ok(r.stdout.includes(c), c);
});

test("the README's CLI commands run as written (npx relevance-lens …)", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const commands = readme.split('\n').filter((l) => /^(npx )?relevance-lens /.test(l.trim()));
  assert.ok(commands.length >= 5, 'README lists the CLI commands');
  for (const c of commands) assert.match(c.trim(), /^npx relevance-lens /, `not runnable after npm ci as written: ${c}`);
  const r = spawnSync('npx', ['--no-install', 'relevance-lens', 'info', DEMO_MODEL], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /default composite: epsilon-gamma-box/);
});

test("evaluate's plot: axis titles and a legend with method names", () => {
  const series = [{ values: [3, 2, 1], rgb: [31, 119, 180] as const, key: '1', name: 'lrp:epsilon-plus' }];
  const bare = plotCurves(series);
  const titled = plotCurves(series, { xLabel: 'step k: pixels replaced', yLabel: 'logit f(x^k)' });
  const darkIn = (img: { width: number; rgba: Uint8Array }, y0: number, y1: number): number => {
    let n = 0;
    for (let y = y0; y < y1; y++) for (let x = 0; x < img.width; x++) if (img.rgba[(y * img.width + x) * 4] < 60 && img.rgba[(y * img.width + x) * 4 + 2] < 60) n++;
    return n;
  };
  // the titles are drawn: black pixels in the top band and below the x tick labels
  assert.equal(darkIn(bare, 0, 7), 0);
  assert.ok(darkIn(titled, 0, 16) > 40, 'y title');
  assert.ok(darkIn(titled, titled.height - 16, titled.height) > 40, 'x title');
  // the legend carries the name: wider than the bare key
  const noName = plotCurves([{ ...series[0], name: undefined }]);
  const legendInk = (img: { width: number; height: number; rgba: Uint8Array }) => darkIn(img, 12, 40);
  assert.ok(legendInk(bare) > legendInk(noName) + 50, 'method name in the legend');
});
