/**
 * Fuzz runner: `node out/scripts/fuzz/run.js [--cases N] [--seed S] [--timeout MS] [--formats a,b]`.
 * Mutates each seed file (scripts/fuzz/seeds.ts) with seeded mutations and hands each case to a child
 * process (scripts/fuzz/child.ts) with a heap ceiling; a case that takes longer than the time limit is a
 * hang (the child is killed and replaced), a child that dies or answers with anything but a result or a
 * one-line LensError is a crash, an RSS above the ceiling is a memory failure. Failing cases are saved
 * under test-output/fuzz/ with their seed to reproduce. Prints counts per format; exit 1 on any failure.
 */
import { fork, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadSeeds, ROOT, type Seed } from './seeds';
import { mutate, rng } from './mutate';
import type { CaseMsg, ResultMsg } from './child';

export interface FuzzOptions {
  cases: number;
  seed: number;
  timeoutMs: number;
  /** RSS ceiling of the child, bytes */
  maxRss: number;
  formats?: string[];
  /** log every case after which more tensors are alive */
  traceTensors?: boolean;
  log?: (line: string) => void;
}

export interface FuzzCounts {
  cases: number;
  ok: number;
  lensError: number;
  crash: number;
  hang: number;
  memory: number;
}

export interface FuzzReport {
  total: FuzzCounts;
  byFormat: Map<string, FuzzCounts & { mutations: Map<string, number> }>;
  failures: { format: string; index: number; how: string; outcome: string; message: string }[];
  rssStart: number;
  rssEnd: number;
  rssMax: number;
  tensorsStart: number;
  tensorsEnd: number;
  ms: number;
}

const zero = (): FuzzCounts => ({ cases: 0, ok: 0, lensError: 0, crash: 0, hang: 0, memory: 0 });

class Child {
  proc!: ChildProcess;
  private pending?: { resolve: (r: ResultMsg | { outcome: 'died'; message: string }) => void };
  ready!: Promise<void>;

  constructor(private readonly heapMb: number) {
    this.start();
  }

  start(): void {
    this.proc = fork(path.join(__dirname, 'child.js'), [], {
      execArgv: [`--max-old-space-size=${this.heapMb}`], stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    this.proc.stderr?.on('data', (d) => {
      stderr = (stderr + String(d)).slice(-2000);
    });
    this.ready = new Promise((resolve, reject) => {
      const onMsg = (m: unknown): void => {
        if ((m as { ready?: boolean }).ready) {
          this.proc.off('message', onMsg);
          resolve();
        }
      };
      this.proc.on('message', onMsg);
      this.proc.once('exit', (code) => reject(new Error(`fuzz child failed to start (${code}): ${stderr}`)));
    });
    this.proc.on('message', (m: ResultMsg) => {
      if ('id' in m) {
        const p = this.pending;
        this.pending = undefined;
        p?.resolve(m);
      }
    });
    this.proc.on('exit', (code, signal) => {
      const p = this.pending;
      this.pending = undefined;
      p?.resolve({ outcome: 'died', message: `child exited (${signal ?? code}): ${stderr.split('\n').filter(Boolean).slice(-3).join(' | ')}` });
    });
  }

  run(c: CaseMsg, timeoutMs: number): Promise<ResultMsg | { outcome: 'died' | 'hang'; message: string }> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        resolve({ outcome: 'hang', message: `no answer within ${timeoutMs} ms` });
      }, timeoutMs);
      this.pending = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      this.proc.send(c);
    });
  }

  async restart(): Promise<void> {
    const old = this.proc;
    old.removeAllListeners('exit');
    old.kill('SIGKILL');
    this.start();
    await this.ready;
  }

  stop(): void {
    this.proc.removeAllListeners('exit');
    this.proc.kill('SIGKILL');
  }
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const log = o.log ?? (() => undefined);
  const seeds = loadSeeds().filter((s) => !o.formats || o.formats.includes(s.format));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-fuzz-'));
  const failDir = path.join(ROOT, 'test-output', 'fuzz');
  const child = new Child(768);
  await child.ready;
  const report: FuzzReport = {
    total: zero(), byFormat: new Map(), failures: [], rssStart: 0, rssEnd: 0, rssMax: 0, tensorsStart: -1, tensorsEnd: 0, ms: 0,
  };
  const t0 = Date.now();
  try {
    for (let i = 0; i < o.cases; i++) {
      const seed: Seed = seeds[i % seeds.length];
      const r = rng((o.seed * 1_000_003 + i) >>> 0);
      // one case: a folder per format holding the seed's files, one of them mutated
      const dir = path.join(work, seed.format);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir);
      const target = seed.files.length > 1 && r() < 0.5 ? 1 : 0;
      let how = '';
      for (let f = 0; f < seed.files.length; f++) {
        const file = seed.files[f];
        let data = file.data;
        if (f === target) {
          const m = mutate(file.data, r, seed.format, !!file.json);
          data = m.data;
          how = `${m.how} of ${file.name}`;
        }
        fs.writeFileSync(path.join(dir, file.name), data);
      }
      const entry = path.join(dir, seed.files[0].name);
      const res = await child.run({ id: i, kind: seed.kind, file: entry }, o.timeoutMs);
      const fc = report.byFormat.get(seed.format) ?? { ...zero(), mutations: new Map<string, number>() };
      report.byFormat.set(seed.format, fc);
      fc.mutations.set(how.split(' ')[0], (fc.mutations.get(how.split(' ')[0]) ?? 0) + 1);
      fc.cases++;
      report.total.cases++;
      let outcome: string = res.outcome;
      if ('rss' in res) {
        if (report.tensorsStart >= 0 && res.tensors > report.tensorsEnd && o.traceTensors) log(`tensors +${res.tensors - report.tensorsEnd} at ${seed.format} case ${i} (${how}, ${res.outcome}): ${res.message?.split('\n')[0] ?? ''}`);
        if (report.tensorsStart < 0) {
          report.tensorsStart = res.tensors;
          report.rssStart = res.rss;
        }
        report.rssEnd = res.rss;
        report.tensorsEnd = res.tensors;
        report.rssMax = Math.max(report.rssMax, res.rss);
        if (res.rss > o.maxRss) outcome = 'memory';
      }
      const KEYS: Record<string, Exclude<keyof FuzzCounts, 'cases'>> = { ok: 'ok', 'lens-error': 'lensError', crash: 'crash', died: 'crash', hang: 'hang', memory: 'memory' };
      const key = KEYS[outcome];
      fc[key]++;
      report.total[key]++;
      if (key === 'crash' || key === 'hang' || key === 'memory') {
        const message = (res as { message?: string }).message ?? '';
        report.failures.push({ format: seed.format, index: i, how, outcome, message });
        fs.mkdirSync(failDir, { recursive: true });
        fs.cpSync(dir, path.join(failDir, `${seed.format}-seed${o.seed}-case${i}`), { recursive: true });
        log(`FAIL ${outcome} ${seed.format} case ${i} (${how}): ${message.split('\n').slice(0, 3).join(' | ')}`);
        // a hung, dead or bloated child is replaced; a crash that answered leaves a usable one
        if (outcome === 'hang' || outcome === 'died' || outcome === 'memory') await child.restart();
      }
      if ((i + 1) % 500 === 0) log(`  ${i + 1}/${o.cases} cases, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  } finally {
    child.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  report.ms = Date.now() - t0;
  return report;
}

const MB = 1024 * 1024;

export function formatReport(r: FuzzReport): string {
  const lines = [`fuzz: ${r.total.cases} cases in ${(r.ms / 1000).toFixed(1)} s — results ${r.total.ok}, LensErrors ${r.total.lensError}, `
    + `crashes ${r.total.crash}, hangs ${r.total.hang}, memory ${r.total.memory}`];
  lines.push('  format        cases     ok  LensError  crash  hang  memory   mutations');
  for (const [f, c] of r.byFormat) {
    const muts = [...c.mutations].map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(`  ${f.padEnd(12)} ${String(c.cases).padStart(6)} ${String(c.ok).padStart(6)} ${String(c.lensError).padStart(10)} ${String(c.crash).padStart(6)} ${String(c.hang).padStart(5)} ${String(c.memory).padStart(7)}   ${muts}`);
  }
  lines.push(`  child RSS ${(r.rssStart / MB).toFixed(0)} MB after the first case, ${(r.rssEnd / MB).toFixed(0)} MB at the end, max ${(r.rssMax / MB).toFixed(0)} MB; `
    + `live tensors ${r.tensorsStart} -> ${r.tensorsEnd}`);
  return lines.join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (name: string, def: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const fi = args.indexOf('--formats');
  void runFuzz({
    cases: opt('cases', 5000), seed: opt('seed', 1), timeoutMs: opt('timeout', 10_000), maxRss: opt('max-rss-mb', 1536) * MB,
    formats: fi >= 0 ? args[fi + 1].split(',') : undefined, traceTensors: args.includes('--trace-tensors'),
    log: (l) => process.stdout.write(l + '\n'),
  }).then((r) => {
    process.stdout.write(formatReport(r) + '\n');
    process.exitCode = r.total.crash + r.total.hang + r.total.memory > 0 ? 1 : 0;
  });
}
