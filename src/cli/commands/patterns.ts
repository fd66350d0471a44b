/**
 * `relevance-lens patterns fit MODEL DATA --out FILE | merge A B --out FILE | info FILE`:
 * PatternNet statistics over a dataset (a folder of images preprocessed per the model card, or a
 * float32 .npy stack), streamed in batches with progress on stderr, written atomically.
 */
import { parseCommandArgs } from '../args';
import { initBackend, type BackendChoice } from '../../core/engine/backend';
import { openModel } from '../../core/pipeline';
import { openImageSource } from '../../core/patterns/data';
import { DEFAULT_HOLDOUT, DEFAULT_RHO, defaultBatch, fitPatterns } from '../../core/patterns/fit';
import { readPatternsStats, writePatternsFile } from '../../core/patterns/file';
import { mergeStats, type PatternStats } from '../../core/patterns/stats';
import type { RhoValues } from '../../core/patterns/rho';
import { reportError, UsageError } from '../errors';
import { checkOutputTargets } from '../../core/io/atomicWrite';

const USAGE = `usage: relevance-lens patterns fit MODEL DATA --out FILE [--batch N] [--holdout F] [--limit N]
                                 [--rho-neurons N] [--rho-positions N] [--no-rho] [--card FILE] [--backend B] [--quiet]
       relevance-lens patterns merge A B --out FILE
       relevance-lens patterns info FILE [--json]
  DATA: a folder of images (preprocessed per the model card) or a float32 .npy stack (N,H,W,C)`;

function int(v: string | undefined, flag: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new UsageError(`--${flag} expects an integer ≥ ${min}, got '${v}'`);
  return x;
}

function progressPrinter(quiet: boolean): (p: { done: number; total: number; fit: number; heldOut: number; elapsedMs: number }) => void {
  let last = 0;
  const tty = process.stderr.isTTY;
  return (p) => {
    const now = performance.now();
    if (quiet || (now - last < 1000 && p.done < p.total)) return;
    last = now;
    const rate = p.done / Math.max(p.elapsedMs / 1000, 1e-9);
    const line = `patterns fit: ${p.done}/${p.total} images (${p.fit} fit, ${p.heldOut} held out), ${rate.toFixed(1)} images/s`;
    process.stderr.write(tty ? `\r${line}${p.done === p.total ? '\n' : ''}` : `${line}\n`);
  };
}

async function fit(args: string[]): Promise<number> {
  const { positionals, values } = parseCommandArgs('patterns fit', {
    args, allowPositionals: true, options: {
      out: { type: 'string' }, batch: { type: 'string' }, holdout: { type: 'string' }, limit: { type: 'string' },
      'rho-neurons': { type: 'string' }, 'rho-positions': { type: 'string' }, 'no-rho': { type: 'boolean' },
      card: { type: 'string' }, backend: { type: 'string' }, quiet: { type: 'boolean', short: 'q' },
    },
  });
  if (positionals.length !== 2 || !values.out) throw new UsageError(USAGE);
  checkOutputTargets([values.out]);
  const [modelFile, data] = positionals;
  let holdout = DEFAULT_HOLDOUT;
  if (values.holdout !== undefined) {
    holdout = Number(values.holdout);
    if (!(holdout >= 0 && holdout < 1)) throw new UsageError(`--holdout expects a fraction in [0, 1), got '${values.holdout}'`);
  }
  const rho = values['no-rho'] ? null : {
    ...DEFAULT_RHO,
    neurons: int(values['rho-neurons'], 'rho-neurons', 1) ?? DEFAULT_RHO.neurons,
    positions: int(values['rho-positions'], 'rho-positions', 1) ?? DEFAULT_RHO.positions,
  };
  const backend = await initBackend((values.backend ?? 'auto') as BackendChoice);
  const model = await openModel(modelFile, values.card);
  const want = model.graph.nodes[model.graph.input].shape;
  const source = openImageSource(data, model.card, want);
  const batch = int(values.batch, 'batch', 1) ?? defaultBatch(model.graph);
  const quiet = !!values.quiet;
  if (!quiet) {
    const card = model.cardPath ? `card ${model.cardPath}` : 'no model card: default preprocessing (pixels/255)';
    process.stderr.write(`patterns fit: ${model.graph.name} on ${source.count} images from ${data}, batch ${batch}, backend ${backend}, ${card}\n`);
  }
  let stats: PatternStats;
  const t0 = performance.now();
  try {
    stats = fitPatterns(model.graph, source, {
      batchSize: batch, holdout, rho, limit: int(values.limit, 'limit', 1), onProgress: progressPrinter(quiet), patterns: false,
    });
  } finally {
    source.close();
  }
  await writePatternsFile(values.out, stats);
  if (!quiet) {
    const s = (performance.now() - t0) / 1000;
    process.stderr.write(`patterns fit: ${stats.images.fit + stats.images.heldOut} images in ${s.toFixed(1)} s `
      + `(${((stats.images.fit + stats.images.heldOut) / s).toFixed(1)} images/s), wrote ${values.out}\n`);
  }
  return 0;
}

async function merge(args: string[]): Promise<number> {
  const { positionals, values } = parseCommandArgs('patterns merge', { args, allowPositionals: true, options: { out: { type: 'string' }, quiet: { type: 'boolean', short: 'q' } } });
  if (positionals.length !== 2 || !values.out) throw new UsageError(USAGE);
  const [a, b] = positionals;
  const sa = readPatternsStats(a).stats;
  const sb = readPatternsStats(b).stats;
  const merged = mergeStats(sa, sb, [a, b]);
  await writePatternsFile(values.out, merged);
  if (!values.quiet) process.stderr.write(`patterns merge: ${merged.images.fit} + ${merged.images.heldOut} held-out images, wrote ${values.out}\n`);
  return 0;
}

function fmt(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : v.toFixed(3);
}

export function formatInfo(file: string, s: PatternStats): string {
  const lines: string[] = [];
  lines.push(`${file}: patterns of '${s.model.name}' (${s.model.fingerprint})`);
  lines.push(`images: ${s.images.fit} fitted, ${s.images.heldOut} held out for ρ${Number.isFinite(s.holdout) ? ` (fraction ${s.holdout})` : ''}; created ${s.created}`);
  if (s.rhoConfig) {
    lines.push(`ρ(S) = 1 − max_v corr(y, vᵀ(x − S(x))) on held-out rows (up to ${s.rhoConfig.neurons} neurons per layer, ${s.rhoConfig.positions} positions per image):`);
    lines.push('higher is better; 1 = the distractor the estimator leaves carries no information on the output y = wᵀx');
  }
  lines.push('');
  const head = ['layer', 'op', 'kernel', 'regime', 'fit rows', 'held-out', 'ρ(S_a+-)', 'ρ(S_a)', 'ρ(S_w)', 'ρ(S_x)', 'ρ(rand)', 'neurons'];
  const rows = s.layers.map((l) => {
    const r: RhoValues | undefined = l.rhoValues;
    return [l.name, l.op, l.kernelShape.join('×'), l.regime, String(l.all.count[0]), r ? String(r.rows) : '—',
      fmt(r?.relu), fmt(r?.linear), fmt(r?.filter), r ? '1*' : '—', fmt(r?.random),
      r ? (r.neurons ? String(r.neurons) : `0: ${r.note ?? 'none usable'}`) : (l.rhoSkipped ?? '—')];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i >= 4 && i <= 10 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  lines.push(line(head));
  for (const r of rows) lines.push(line(r));
  lines.push('');
  lines.push('* S_x(x) = x leaves no distractor (d = 0), so ρ(S_x) = 1 by construction: the measure cannot see');
  lines.push('  distractor kept in the signal. Compare the learned S_a+- / S_a with S_w (the gradient\'s) and random directions.');
  return lines.join('\n');
}

async function info(args: string[]): Promise<number> {
  const { positionals, values } = parseCommandArgs('patterns info', { args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  if (positionals.length !== 1) throw new UsageError(USAGE);
  const { header, stats } = readPatternsStats(positionals[0]);
  if (values.json) {
    const layers = header.layers.map((l) => ({ name: l.name, op: l.op, kernelShape: l.kernelShape, regime: l.regime, rows: stats.layers.find((x) => x.name === l.name)!.all.count[0], rho: l.rho?.values ?? null, rhoSkipped: l.rhoSkipped ?? null }));
    process.stdout.write(JSON.stringify({ version: header.version, model: header.model, images: header.images, holdout: header.holdout, rhoConfig: header.rhoConfig, created: header.created, layers }, null, 2) + '\n');
  } else process.stdout.write(formatInfo(positionals[0], stats) + '\n');
  return 0;
}

/** Entry point of `relevance-lens patterns …`; returns the exit code (0, 2 bad usage/input, 1 bug). */
export async function runPatternsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case 'fit': return await fit(rest);
      case 'merge': return await merge(rest);
      case 'info': return await info(rest);
      case '--help': case '-h': case 'help':
        process.stdout.write(USAGE + '\n');
        return 0;
      default:
        throw new UsageError(sub ? `unknown patterns command '${sub}'\n${USAGE}` : USAGE);
    }
  } catch (e) {
    return reportError(e);
  }
}
