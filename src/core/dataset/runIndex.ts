/**
 * The human-readable index of a run, rebuilt from the per-image records: index.json (one row per
 * image), index.csv (the same rows for a spreadsheet) and index.md (counts, accuracy when the list gave
 * classes, per-class counts, the conservation ratio's spread, failed images). Rows are small, so the
 * index of 10,000 images is about a megabyte in memory.
 */
import * as path from 'path';
import { writeFileAtomicSync } from '../io/atomicWrite';
import { readRecord, type RunManifest } from './runFormat';

export interface IndexRow {
  id: string;
  rel: string;
  label?: number;
  predicted?: number;
  predictedLabel?: string;
  score?: number;
  explained?: number;
  logit?: number;
  inputRelevanceSum?: number;
  ratio?: number;
  unbalancedLayers?: number;
  error?: string;
}

export interface IndexSummary {
  total: number;
  done: number;
  failed: number;
  /** fraction of labelled finished images predicted right */
  accuracy?: number;
  perClass: { class: number; label?: string; count: number }[];
  ratio?: { min: number; median: number; max: number };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

const csvCell = (v: unknown): string => {
  if (v === undefined || v === null) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function indexRows(run: string, manifest: RunManifest): IndexRow[] {
  const rows: IndexRow[] = [];
  for (const im of manifest.images) {
    const r = readRecord(run, im.id);
    if (!r) continue;
    const row: IndexRow = { id: im.id, rel: im.rel, ...(im.label !== undefined ? { label: im.label } : {}) };
    if (r.error) row.error = r.error;
    else {
      const top = r.prediction[0];
      Object.assign(row, {
        predicted: top.class, ...(top.label !== undefined ? { predictedLabel: top.label } : {}), score: top.score,
        explained: r.target.class, logit: r.target.logit, inputRelevanceSum: r.inputRelevanceSum,
        ratio: r.conservation.ratio, unbalancedLayers: r.conservation.unbalancedLayers,
      });
    }
    rows.push(row);
  }
  return rows;
}

export function summarize(manifest: RunManifest, rows: IndexRow[]): IndexSummary {
  const ok = rows.filter((r) => !r.error);
  const counts = new Map<number, number>();
  for (const r of ok) counts.set(r.predicted!, (counts.get(r.predicted!) ?? 0) + 1);
  const labelled = ok.filter((r) => r.label !== undefined);
  const ratios = ok.map((r) => r.ratio!).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return {
    total: manifest.images.length, done: ok.length, failed: rows.length - ok.length,
    ...(labelled.length ? { accuracy: labelled.filter((r) => r.label === r.predicted).length / labelled.length } : {}),
    perClass: [...counts].sort((a, b) => a[0] - b[0]).map(([c, count]) => ({ class: c, ...(manifest.labels?.[c] !== undefined ? { label: manifest.labels[c] } : {}), count })),
    ...(ratios.length ? { ratio: { min: ratios[0], median: quantile(ratios, 0.5), max: ratios[ratios.length - 1] } } : {}),
  };
}

const COLUMNS: (keyof IndexRow)[] = ['id', 'rel', 'label', 'predicted', 'predictedLabel', 'score', 'explained', 'logit', 'inputRelevanceSum', 'ratio', 'unbalancedLayers', 'error'];

export function writeIndex(run: string, manifest: RunManifest): IndexSummary {
  const rows = indexRows(run, manifest);
  const s = summarize(manifest, rows);
  writeFileAtomicSync(path.join(run, 'index.json'), JSON.stringify({ model: manifest.model, options: manifest.options, grid: manifest.grid, summary: s, items: rows }));
  writeFileAtomicSync(path.join(run, 'index.csv'), [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n');
  const fmt = (x: number): string => (Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toFixed(4) : x.toExponential(3));
  const md: string[] = [
    `# explain-set run`, '',
    `- model: \`${manifest.model}\` (sha256 ${manifest.modelSha256.slice(0, 12)}…)`,
    `- options: \`${JSON.stringify(manifest.options)}\``,
    `- heatmaps: ${manifest.grid}×${manifest.grid} float32 in \`items/<id>.npy\` (input relevance summed over channels, area-resampled, sum kept)`,
    `- images: ${s.total}; done ${s.done}; failed ${s.failed}; not yet done ${s.total - s.done - s.failed}`,
    ...(s.accuracy !== undefined ? [`- accuracy against the list's classes: ${(100 * s.accuracy).toFixed(2)} %`] : []),
    ...(s.ratio ? [`- conservation (Σ input relevance / logit): min ${fmt(s.ratio.min)}, median ${fmt(s.ratio.median)}, max ${fmt(s.ratio.max)}`] : []),
    '', '| predicted class | images |', '|---|---|',
    ...s.perClass.map((c) => `| ${c.class}${c.label !== undefined ? ` (${c.label})` : ''} | ${c.count} |`),
  ];
  const failed = rows.filter((r) => r.error);
  if (failed.length) md.push('', '## Failed images', '', ...failed.slice(0, 50).map((r) => `- \`${r.rel}\`: ${r.error}`), ...(failed.length > 50 ? [`- … ${failed.length - 50} more in index.csv`] : []));
  md.push('', 'One row per image: `index.csv` / `index.json`; full records: `items/<id>.json`.', '');
  writeFileAtomicSync(path.join(run, 'index.md'), md.join('\n'));
  return s;
}
