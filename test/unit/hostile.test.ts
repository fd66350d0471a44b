/**
 * Hostile files and parameters (issue 11): each case of the table ends in exit 2 with one line,
 * within seconds and bounded memory, with nothing written. Each test fails without its guard: the
 * unguarded code read /dev/zero without bound, blocked on a FIFO, inflated a bomb into a string,
 * accepted the parameter, followed the link, or left the JSON behind.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { CLI, DEMO_DIGIT, DEMO_MODEL } from './helpers/cli';
import { readBounded } from '../../src/core/io/boundedRead';
import { writeFilesAtomic } from '../../src/core/io/atomicWrite';
import { isLensError } from '../../src/core/errors';
import { splitRuleOverride } from '../../src/shared/validate';
import { parseRule } from '../../src/shared/ruleSpec';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-hostile-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const out = (name: string): string => path.join(tmp, name);

/** Runs the CLI with a wall-clock limit and reports time and peak memory (GNU time is not needed: /proc). */
function run(args: string[], timeoutMs = 20_000, env: Record<string, string> = {}): { code: number | null; stderr: string; stdout: string; ms: number; signal: NodeJS.Signals | null } {
  const t0 = Date.now();
  // a 1.5 GB heap ceiling: an unbounded read would hit it (or the timeout) instead of passing
  const r = spawnSync(process.execPath, ['--max-old-space-size=1536', CLI, ...args], {
    encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, ...env },
  });
  return { code: r.status, stderr: r.stderr ?? '', stdout: r.stdout ?? '', ms: Date.now() - t0, signal: r.signal };
}

function assertOneLineExit2(args: string[], mentions: RegExp, outputs: string[] = [], maxMs = 15_000, env: Record<string, string> = {}): string {
  const r = run(args, 20_000, env);
  assert.equal(r.signal, null, `killed (${r.signal}) after ${r.ms} ms: a hang or unbounded read; ${r.stderr}`);
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.match(lines[0], mentions);
  assert.ok(!/internal error/.test(lines[0]), lines[0]);
  assert.ok(r.ms < maxMs, `took ${r.ms} ms`);
  for (const o of outputs) assert.ok(!fs.existsSync(o), `${o} must not be written`);
  console.log(`  ${r.ms} ms: ${lines[0].replace(tmp, '<tmp>')}`);
  return lines[0];
}

/** A copy of the demo LeNet whose shard can be replaced. */
function demoCopy(name: string): { dir: string; model: string; shard: string } {
  const dir = out(name);
  fs.mkdirSync(dir);
  const src = path.dirname(DEMO_MODEL);
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  return { dir, model: path.join(dir, 'model.json'), shard: path.join(dir, 'group1-shard1of1.bin') };
}

test('a weight shard that is a symlink to /dev/zero, and an image that is /dev/zero: refused at once', () => {
  const m = demoCopy('devzero');
  fs.rmSync(m.shard);
  fs.symlinkSync('/dev/zero', m.shard);
  assertOneLineExit2(['explain', m.model, DEMO_DIGIT(3), '--backend', 'cpu'], /group1-shard1of1\.bin.*(symbolic link|not a regular file)/);
  assertOneLineExit2(['explain', DEMO_MODEL, '/dev/zero', '--backend', 'cpu'], /\/dev\/zero: file is not a regular file/);
  assertOneLineExit2(['info', '/dev/zero'], /\/dev\/zero: model file is not a regular file/);
});

test('a device reached through a link inside the model folder is refused as not a regular file', () => {
  // the link itself lies inside the folder; its target is a device: fstat after a non-blocking open catches it
  const m = demoCopy('devlink');
  fs.rmSync(m.shard);
  fs.symlinkSync('/dev/zero', m.shard);
  let err: unknown;
  try {
    readBounded(m.shard, { maxBytes: 1 << 20, within: ['/dev'] });
  } catch (e) {
    err = e;
  }
  assert.ok(isLensError(err), String(err));
  assert.match((err as Error).message, /not a regular file/);
});

test('a weight shard that is a FIFO does not hang', () => {
  const m = demoCopy('fifo');
  fs.rmSync(m.shard);
  execFileSync('mkfifo', [m.shard]);
  assertOneLineExit2(['explain', m.model, DEMO_DIGIT(3), '--backend', 'cpu'], /weight shard 'group1-shard1of1\.bin' is not a regular file/);
});

test('a shard that links outside the model folder is refused without revealing the target or its size', () => {
  const m = demoCopy('outside');
  fs.rmSync(m.shard);
  fs.symlinkSync('/etc/passwd', m.shard);
  const line = assertOneLineExit2(['explain', m.model, DEMO_DIGIT(3), '--backend', 'cpu'], /symbolic link to a file outside the model's folder/);
  assert.ok(!line.includes('passwd') && !/\d+ bytes|shards hold/.test(line), line);
  // a link that stays inside the folder is followed
  const ok = demoCopy('inside');
  fs.renameSync(ok.shard, path.join(ok.dir, 'real.bin'));
  fs.symlinkSync('real.bin', ok.shard);
  const r = run(['explain', ok.model, DEMO_DIGIT(3), '--backend', 'cpu', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
});

/** A little-endian record of `size` bytes with these [offset, width in bytes, value] fields (the rest 0). */
function record(size: number, fields: [number, 2 | 4, number][]): Buffer {
  const b = Buffer.alloc(size);
  for (const [at, width, v] of fields) {
    if (width === 2) b.writeUInt16LE(v, at);
    else b.writeUInt32LE(v, at);
  }
  return b;
}

/** A zip of entries {name, data (as stored), method, declared size}: enough of the format for the loader. */
function writeZip(file: string, entries: { name: string; data: Buffer; method: number; size: number }[]): void {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    // local file header: signature, version, method, compressed and uncompressed size, name length
    const local = record(30, [[0, 4, 0x04034b50], [4, 2, 20], [8, 2, e.method], [18, 4, e.data.length], [22, 4, e.size], [26, 2, name.length]]);
    // central directory entry: the same fields at its own offsets, plus where the local header starts
    const central = record(46, [
      [0, 4, 0x02014b50], [4, 2, 20], [6, 2, 20], [10, 2, e.method], [20, 4, e.data.length], [24, 4, e.size], [28, 2, name.length], [42, 4, offset],
    ]);
    locals.push(local, name, e.data);
    centrals.push(central, name);
    offset += local.length + name.length + e.data.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = record(22, [[0, 4, 0x06054b50], [8, 2, entries.length], [10, 2, entries.length], [12, 4, cd.length], [16, 4, offset]]);
  fs.writeFileSync(file, Buffer.concat([...locals, cd, eocd]));
}

/** A .keras whose config.json inflates to `size` bytes of spaces while declaring `declared`. */
function kerasBomb(file: string, size: number, declared = size): void {
  const deflated = zlib.deflateRawSync(Buffer.alloc(size, 0x20), { level: 9 });
  writeZip(file, [
    { name: 'config.json', data: deflated, method: 8, size: declared },
    { name: 'model.weights.h5', data: Buffer.from('not read'), method: 0, size: 8 },
  ]);
}

test('a .keras whose config.json is a deflate bomb: refused by its declared size, or when it inflates past it', () => {
  const honest = out('bomb.keras');
  kerasBomb(honest, 100 * 1024 * 1024);
  assert.ok(fs.statSync(honest).size < 1024 * 1024, 'the bomb is small on disk');
  assertOneLineExit2(['info', honest], /zip entry 'config\.json' inflates to 100 MiB, over the limit of 64 MiB/);
  const liar = out('liar.keras');
  kerasBomb(liar, 100 * 1024 * 1024, 1000);
  assertOneLineExit2(['info', liar], /zip entry 'config\.json' inflates to more than its declared 1000 bytes/);
});

test('parameters out of range: exit 2 before the model is even opened', () => {
  // the model path does not exist: a message about the parameter proves nothing was loaded first
  const nope = out('no-such-model.json');
  const cases: [string[], RegExp][] = [
    [['--epsilon', '-1'], /--epsilon expects a number > 0/],
    [['--epsilon', '0'], /--epsilon expects a number > 0/],
    [['--gamma', '-1'], /--gamma expects a number ≥ 0/],
    [['--low', '1', '--high', '0'], /--low must be below --high \(got 1 ≥ 0\)/],
    [['--low', '0,0,0', '--high', '1,-1,1'], /--low must be below --high in every channel \(channel 1: 0 ≥ -1\)/],
    [['--low', '0,0', '--high', '1,1,1'], /--low and --high give 2 and 3 channels/],
    [['--alpha', '3', '--beta', '1'], /alpha - beta = 1/],
    [['--alpha', '-1', '--beta', '-2'], /alpha - beta = 1 and alpha, beta ≥ 0/],
    [['--opacity', '5'], /--opacity expects a number in 0\.\.1, got '5'/],
    [['--percentile', '0'], /--percentile expects a number in \(0, 100\], got '0'/],
    [['--percentile', '200'], /--percentile expects a number in \(0, 100\]/],
    [['--percentile', '-5'], /--percentile expects a number in \(0, 100\]/],
    [['--upscale', '0'], /--upscale expects an integer in 1\.\.64/],
    [['--rule', 'conv1=epsilon:-1'], /rule parameter epsilon expects a number > 0/],
    [['--rule', 'conv1=gamma:-0.5'], /rule parameter gamma expects a number ≥ 0/],
    [['--rule', 'conv1=z-box:1,0'], /z-box low must be below high/],
    [['--method', 'smoothgrad', '--samples', '0'], /--samples expects an integer in 1\.\.100000/],
    [['--method', 'integrated-gradients', '--steps', '-3'], /--steps expects an integer in 1\.\.100000/],
  ];
  const json = out('never.json');
  for (const [flags, re] of cases) assertOneLineExit2(['explain', nope, DEMO_DIGIT(1), ...flags, '--json', json], re, [json], 5000);
  // evaluate shares the rule parameters
  assertOneLineExit2(['evaluate', nope, DEMO_DIGIT(1), '--methods', 'lrp', '--epsilon', '-1'], /--epsilon expects a number > 0/);
});

test('--low/--high with the wrong channel count for the model: exit 2 before computing', () => {
  assertOneLineExit2(['explain', DEMO_MODEL, DEMO_DIGIT(1), '--low', '0,0,0', '--high', '1,1,1', '--backend', 'cpu'], /--low gives 3 values, the input has 1 channel/);
});

test('outputs: folders checked before anything is loaded; all or nothing', async () => {
  const json = out('half.json');
  // a missing folder for --png: refused before the (missing) model is opened, and the JSON is not written
  assertOneLineExit2(['explain', out('no-model.json'), DEMO_DIGIT(1), '--json', json, '--png', out('missing/dir/h.png')],
    /missing\/dir\/h\.png: cannot write: folder .* does not exist/, [json], 5000);
  // a folder named as an output file
  fs.mkdirSync(out('adir'));
  assertOneLineExit2(['explain', DEMO_MODEL, DEMO_DIGIT(1), '--json', json, '--npy', out('adir')], /adir: cannot write: it is a folder/, [json], 5000);
  // the same file twice
  assertOneLineExit2(['explain', DEMO_MODEL, DEMO_DIGIT(1), '--json', json, '--png', json], /given as two outputs/, [json], 5000);
  // a write that fails after the first file was written: none is left, the old file stays as it was
  const a = out('tx-a.json');
  const b = out('tx-b.bin');
  fs.writeFileSync(b, 'old');
  await assert.rejects(writeFilesAtomic([{ target: a, data: '{}' }, { target: b, data: 42 as unknown as string }]));
  assert.ok(!fs.existsSync(a), 'first output rolled back');
  assert.equal(fs.readFileSync(b, 'utf8'), 'old');
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp')), [], 'no temp files left');
  await writeFilesAtomic([{ target: a, data: '{"a":1}' }, { target: b, data: 'new' }]);
  assert.equal(fs.readFileSync(a, 'utf8'), '{"a":1}');
  assert.equal(fs.readFileSync(b, 'utf8'), 'new');
});

test('a layer whose name holds "=" is addressable by --rule (split at the last "=", or quoted)', () => {
  assert.deepEqual(splitRuleOverride('a=b=epsilon:0.5'), { layer: 'a=b', rule: 'epsilon:0.5' });
  assert.deepEqual(splitRuleOverride('"x=y"=gamma'), { layer: 'x=y', rule: 'gamma' });
  assert.deepEqual(splitRuleOverride('conv1=z-box:0,1'), { layer: 'conv1', rule: 'z-box:0,1' });
  assert.equal(splitRuleOverride('=epsilon'), undefined);
  assert.deepEqual(parseRule(splitRuleOverride('fc=1=alpha-beta:2,1')!.rule), { rule: 'alpha-beta', alpha: 2, beta: 1 });
  const m = demoCopy('eqname');
  const text = fs.readFileSync(m.model, 'utf8').replace(/"fc1(["/])/g, '"fc=1$1');
  fs.writeFileSync(m.model, text);
  for (const rule of ['fc=1=epsilon:0.5', '"fc=1"=epsilon:0.5']) {
    const json = out(`eq-${rule.length}.json`);
    const r = run(['explain', m.model, DEMO_DIGIT(3), '--rule', rule, '--json', json, '--backend', 'cpu', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.equal(j.layers.find((l: { name: string }) => l.name === 'fc=1').rule, 'epsilon:0.5', JSON.stringify(j.rules));
  }
});

test('a .npy input larger than the model input is refused before it is read', () => {
  const big = out('big.npy');
  const fd = fs.openSync(big, 'w');
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 28, 28, 1), }";
  const h = Buffer.from(header.padEnd(118) + '\n');
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]);
  fs.writeSync(fd, Buffer.concat([pre, h]));
  fs.ftruncateSync(fd, 512 * 1024 * 1024); // sparse: 512 MB on paper
  fs.closeSync(fd);
  assertOneLineExit2(['explain', DEMO_MODEL, big, '--backend', 'cpu'], /big\.npy: file is 512 MiB, over the limit of/);
});

test('HDF5: a chunk that inflates past the chunk limit, a dataset declaring terabytes: refused by name', () => {
  // fixtures from scripts/fixtures/make_hostile_fixtures.py (copies of cnn.h5 with the fc1 kernel replaced)
  const fx = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'hostile');
  assertOneLineExit2(['info', path.join(fx, 'h5_big_chunk.h5')],
    /h5_big_chunk\.h5: file: reading dataset 'model_weights\/fc1\/fc1\/kernel:0': a compressed chunk inflates past 1\.0 MiB \(the HDF5 chunk limit RELEVANCE_LENS_MAX_HDF5_CHUNK_MB/,
    [], 15_000, { RELEVANCE_LENS_MAX_HDF5_CHUNK_MB: '1' });
  assertOneLineExit2(['info', path.join(fx, 'h5_sparse_huge.h5')],
    /dataset 'model_weights\/fc1\/fc1\/kernel:0' declares shape \[1048576, 1048576\] \(4096\.0 GiB\), over the model limit of 1\.0 GiB/);
});

test('HDF5: an attribute whose item count is corrupt (found by the fuzz suite) fails at once instead of spinning', () => {
  const fx = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'hostile');
  assertOneLineExit2(['info', path.join(fx, 'h5_attr_count.h5')], /h5_attr_count\.h5: file is truncated or corrupt \(reading attribute 'weight_names'\)/, [], 5000);
});
