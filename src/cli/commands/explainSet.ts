/**
 * `relevance-lens explain-set MODEL FOLDER|LIST --out RUN_DIR [explain options]`: explains every image
 * of a set into a run folder (src/core/dataset), with a progress bar, Ctrl-C (what is done stays; the
 * same command resumes) and both cores (images are shared out to the sample worker pool).
 */
import * as path from 'path';
import { parseArgs } from 'util';
import { initBackend, type BackendChoice } from '../../core/engine/backend';
import { openModel } from '../../core/pipeline';
import type { BaselineSpec, MethodName } from '../../core/methods/types';
import { methodNames } from '../../core/methods/method';
import { assertSupported } from '../../core/graph/summary';
import { loadPatterns } from '../../core/patterns/file';
import { premultiplyPatterns } from '../../core/methods/patternNet';
import { setOptions } from '../../core/dataset/setOptions';
import { listImages } from '../../core/dataset/imageList';
import { DEFAULT_GRID, runExplainSet, type ExplainSetProgress } from '../../core/dataset/explainSet';
import { sha256File } from '../../core/dataset/runFormat';
import { SampleWorkerPool } from '../../core/parallel/pool';
import { UsageError } from '../errors';
import { patternTypeOption } from '../args';
import { SETTING_DEFAULTS } from '../../shared/settings';
import {
  bound, integer, joinNegativeValues, METHOD_FLAGS, number, OPTIONS as EXPLAIN_OPTIONS, parseBaseline, parseRuleOverrides, workerCount,
} from './explain';

// explain's output flags do not apply to a run folder (the run stores heatmaps itself)
const {
  json: _j, npy: _n, png: _p, 'token-png': _t, colormap: _c, percentile: _pc, polarity: _pl, opacity: _o, size: _s, 'heatmap-only': _h, upscale: _u,
  ...INHERITED
} = EXPLAIN_OPTIONS;
export const OPTIONS = {
  ...INHERITED,
  out: { type: 'string', short: 'o' },
  grid: { type: 'string' },
  chunk: { type: 'string' },
} as const;

const HELP = `usage: relevance-lens explain-set MODEL FOLDER|LIST --out RUN_DIR [options]
  FOLDER: every .png/.jpg/.jpeg/.bmp below it (path order); LIST: a text file, one image per line,
          optionally PATH<TAB>CLASS (an index or a label of the model card; paths relative to the list)
  --out RUN_DIR     the run: run.json, items/<id>.json + items/<id>.npy per image, index.json/.csv/.md.
                    An interrupted run (Ctrl-C, kill) resumes when the same command is run again:
                    finished images are not recomputed. Other options into an existing run are refused.
  --grid N          heatmap resolution stored per image, N×N float32 (default ${DEFAULT_GRID})
  --workers N       threads that explain images (default min(2, CPU cores); 1 = this thread only)
  --chunk N         images decoded and handed out per round (default 32)
  every option of 'explain' that decides the explanation: --method, --composite, --rule, --epsilon,
  --gamma, --alpha, --beta, --low, --high, --class, --samples, --sigma, --seed, --steps, --baseline,
  --root, --patterns, --pattern-type, --backend, --card (see 'explain --help')
  --quiet, -q       no progress bar or summary
exit codes: 0 done, 130 interrupted (rerun to resume), 2 bad usage or input, 1 internal error`;

const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`;

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** A one-line bar on a terminal, a line per tenth otherwise (logs, CI). */
function progressPrinter(): (p: ExplainSetProgress) => void {
  const tty = process.stderr.isTTY;
  let lastTenth = -1;
  return (p) => {
    const done = p.skipped + p.computed + p.failed;
    const frac = p.total ? done / p.total : 1;
    const rate = p.computed / Math.max(1e-3, p.elapsedMs / 1000);
    const eta = rate > 0 ? ((p.total - done) / rate) * 1000 : NaN;
    const text = `${done}/${p.total} (${p.computed} computed, ${p.skipped} resumed${p.failed ? `, ${p.failed} failed` : ''})  ${rate.toFixed(1)} img/s  ETA ${Number.isFinite(eta) ? duration(eta) : '?'}  RSS ${mb(p.rssBytes)}`;
    if (tty) {
      const width = 24;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '-');
      process.stderr.write(`\r[${bar}] ${text}\x1b[K`);
    } else {
      const tenth = Math.floor(frac * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        process.stderr.write(`${text}\n`);
      }
    }
  };
}

export async function runExplainSetCommand(argv: string[]): Promise<number> {
  const args = joinNegativeValues(argv, OPTIONS);
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (positionals.length !== 2 || !values.out) throw new UsageError('usage: relevance-lens explain-set MODEL FOLDER|LIST --out RUN_DIR [options] (see --help)');
  const [modelFile, source] = positionals;
  const method = (values.method ?? SETTING_DEFAULTS.defaultMethod) as MethodName;
  if (!methodNames().includes(method)) throw new UsageError(`--method must be one of ${methodNames().join(', ')}; got '${values.method}'`);
  for (const [flag, methods] of Object.entries(METHOD_FLAGS)) {
    if (flag === 'workers') continue; // here: images in parallel, for every method
    if (values[flag as keyof typeof values] !== undefined && !methods.includes(method)) {
      throw new UsageError(`--${flag} applies to --method ${methods.join(' / ')}, not ${method}`);
    }
  }
  let targetClass: number | 'top' = 'top';
  if (values.class !== undefined && values.class !== 'top') {
    const c = Number(values.class);
    if (!Number.isInteger(c) || c < 0) throw new UsageError(`--class expects a class index or 'top', got '${values.class}'`);
    targetClass = c;
  }
  const samples = integer(values.samples, 'samples', 1, 100000);
  const sigma = number(values.sigma, 'sigma');
  if (sigma !== undefined && sigma < 0) throw new UsageError(`--sigma expects a number ≥ 0, got '${values.sigma}'`);
  const seed = integer(values.seed, 'seed', 0, 2 ** 31 - 1);
  const steps = integer(values.steps, 'steps', 1, 100000);
  const baseline = values.baseline !== undefined ? parseBaseline(values.baseline) : undefined;
  if (baseline?.kind === 'file') throw new UsageError('--baseline FILE.npy is not supported by explain-set (one baseline for images of any content); use zeros, constant:V or blur');
  const root = values.root;
  if (root !== undefined && root !== 'nearest' && root !== 'origin' && root !== 'lrp') throw new UsageError(`--root must be nearest, origin or lrp, got '${root}'`);
  const patternType = patternTypeOption(values['pattern-type']);
  if ((method === 'pattern-net' || method === 'pattern-attribution') && values.patterns === undefined) {
    throw new UsageError(`--method ${method} needs --patterns FILE`);
  }
  const workers = workerCount(values.workers);
  const grid = integer(values.grid, 'grid', 2, 256) ?? DEFAULT_GRID;
  const chunk = integer(values.chunk, 'chunk', 1, 4096);
  const rules = parseRuleOverrides(values.rule);
  const ruleParams = {
    epsilon: number(values.epsilon, 'epsilon'), gamma: number(values.gamma, 'gamma'),
    alpha: number(values.alpha, 'alpha'), beta: number(values.beta, 'beta'),
    low: bound(values.low, 'low'), high: bound(values.high, 'high'),
  };
  const backend = await initBackend((values.backend ?? 'auto') as BackendChoice);
  const model = await openModel(modelFile, values.card);
  assertSupported(model.graph, modelFile);
  const images = listImages(source, model.labels);
  const patterns = values.patterns !== undefined ? loadPatterns(values.patterns, patternType ?? 'relu') : undefined;
  // PatternAttribution alone: its kernels W∘A made in the patterns' own arrays (no third kernel-sized copy)
  if (patterns && method === 'pattern-attribution') premultiplyPatterns(model.graph, patterns);
  const { opts, optionsKey } = setOptions(model, {
    method, composite: values.composite, rules, targetClass, params: ruleParams,
    ...(samples !== undefined ? { samples } : {}),
    ...(sigma !== undefined ? { sigma } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(steps !== undefined ? { steps } : {}),
    ...(baseline ? { baseline: baseline as BaselineSpec } : {}),
    ...(root ? { root } : {}),
    ...(patterns ? { patterns, patternsSha256: sha256File(values.patterns!) } : {}),
    ...(patternType ? { patternType } : {}),
  }, backend);
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    if (!values.quiet) process.stderr.write('\ninterrupting after the current image (Ctrl-C again to quit at once)…\n');
  };
  process.on('SIGINT', onSigint);
  const pool = workers > 1 ? new SampleWorkerPool(workers) : undefined;
  try {
    if (pool) await pool.warm(model.graph);
    const r = await runExplainSet(
      { model, images, out: values.out, opts, optionsKey, grid, pool, ...(chunk !== undefined ? { chunk } : {}) },
      { progress: values.quiet ? undefined : progressPrinter(), cancelled: () => interrupts > 0 },
    );
    if (!values.quiet) {
      if (process.stderr.isTTY) process.stderr.write('\n');
      const secs = r.elapsedMs / 1000;
      const lines = [
        `${r.total} images with ${modelFile}: ${method}${opts.composite ? ' ' + opts.composite : ''} on ${backend}, ${workers} thread${workers > 1 ? 's' : ''}`,
        `computed ${r.computed}, resumed ${r.skipped}, failed ${r.failed}${r.cancelled ? `, interrupted (${r.total - r.skipped - r.computed - r.failed} left: run the same command again to resume)` : ''}`,
        `time ${secs.toFixed(1)} s (${(r.computed / Math.max(secs, 1e-3)).toFixed(1)} images/s); peak RSS ${mb(r.peakRssBytes)}; RSS over the run: ${r.rssTrace.map(([n, b]) => `${n}:${mb(b)}`).join(' ') || mb(r.rssBytes)}`,
        ...(r.index.accuracy !== undefined ? [`accuracy against the list's classes ${(100 * r.index.accuracy).toFixed(2)} %`] : []),
        `index: ${path.join(values.out, 'index.md')}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    }
    return r.cancelled ? 130 : 0;
  } finally {
    process.off('SIGINT', onSigint);
    pool?.dispose();
  }
}
