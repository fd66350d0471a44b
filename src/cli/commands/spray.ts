/**
 * `relevance-lens spray RUN_DIR`: Spectral Relevance Analysis over an explain-set run (src/core/dataset/spray):
 * clusters per class sorted by unusualness, written as JSON and one PNG contact sheet per cluster.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { DEFAULT_SPRAY, spray } from '../../core/dataset/spray';
import { readHeatmap } from '../../core/dataset/runFormat';
import { contactSheetPng } from '../../core/dataset/contactSheet';
import { writeFileAtomicSync } from '../../core/io/atomicWrite';
import { num, table } from '../format';
import { UsageError } from '../errors';
import { integer } from './explain';

const OPTIONS = {
  out: { type: 'string', short: 'o' },
  size: { type: 'string' },
  neighbours: { type: 'string' },
  'max-clusters': { type: 'string' },
  'max-per-class': { type: 'string' },
  seed: { type: 'string' },
  by: { type: 'string' },
  members: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `usage: relevance-lens spray RUN_DIR [options]
  Spectral Relevance Analysis of a run made by explain-set: per class, heatmaps downsized and normalised,
  a k-nearest-neighbour graph, its normalised Laplacian's eigenvectors, k chosen by the largest eigengap,
  k-means on the spectral rows; clusters sorted by unusualness (see README "Data sets").
  --out DIR              where spray.json and the contact sheets go (default RUN_DIR/spray)
  --size N               features: heatmaps area-resampled to N×N (default ${DEFAULT_SPRAY.size})
  --neighbours K         k of the nearest-neighbour graph (default ${DEFAULT_SPRAY.neighbours})
  --max-clusters K       largest k the eigengap may choose per class (default ${DEFAULT_SPRAY.maxClusters})
  --max-per-class N      cluster a seeded sample of N per class, the rest join their nearest (default ${DEFAULT_SPRAY.maxPerClass})
  --seed N               sampling and k-means seed (default ${DEFAULT_SPRAY.seed})
  --by predicted|label   group by predicted class (default) or by the class the image list gave
  --members N            member tiles per contact sheet (default 63)`;

export async function runSpray(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('usage: relevance-lens spray RUN_DIR [--out DIR] [options] (see --help)');
  const [run] = positionals;
  const by = values.by ?? 'predicted';
  if (by !== 'predicted' && by !== 'label') throw new UsageError(`--by must be predicted or label, got '${by}'`);
  const opts = {
    size: integer(values.size, 'size', 2, 256) ?? DEFAULT_SPRAY.size,
    neighbours: integer(values.neighbours, 'neighbours', 1, 1000) ?? DEFAULT_SPRAY.neighbours,
    maxClusters: integer(values['max-clusters'], 'max-clusters', 1, 50) ?? DEFAULT_SPRAY.maxClusters,
    maxPerClass: integer(values['max-per-class'], 'max-per-class', 10, 5000) ?? DEFAULT_SPRAY.maxPerClass,
    seed: integer(values.seed, 'seed', 0, 2 ** 31 - 1) ?? DEFAULT_SPRAY.seed,
    by: by as 'predicted' | 'label',
  };
  const memberTiles = integer(values.members, 'members', 0, 10000) ?? 63;
  const t0 = performance.now();
  const r = spray(run, opts);
  const out = values.out ?? path.join(run, 'spray');
  fs.mkdirSync(out, { recursive: true });
  const sheets: string[] = [];
  r.clusters.forEach((c, rank) => {
    const name = `rank${String(rank + 1).padStart(3, '0')}-class${c.class}-cluster${c.cluster}.png`;
    const maps = c.members.slice(0, memberTiles).map((m) => readHeatmap(run, m.id, r.grid));
    writeFileAtomicSync(path.join(out, name), contactSheetPng(c.mean, maps, r.grid));
    sheets.push(name);
  });
  writeFileAtomicSync(path.join(out, 'spray.json'), JSON.stringify({ ...r, clusters: r.clusters.map((c, i) => ({ ...c, sheet: sheets[i] })) }));
  if (!values.quiet) {
    const lbl = (c: { class: number; label?: string }): string => `${c.class}${c.label !== undefined ? ` (${c.label})` : ''}`;
    const lines = [
      `SpRAy on ${run}: ${r.classes.length} classes, ${r.clusters.length} clusters (${((performance.now() - t0) / 1000).toFixed(1)} s)`, '',
      table(['rank', 'class', 'cluster', 'size', 'of class', 'unusualness', 'sheet'],
        r.clusters.slice(0, 30).map((c, i) => [String(i + 1), lbl(c), String(c.cluster), String(c.size), `${(100 * c.fraction).toFixed(1)} %`, num(c.unusualness, 4), sheets[i]]),
        [true, false, true, true, true, true, false]),
      ...(r.clusters.length > 30 ? [`… ${r.clusters.length - 30} more in spray.json`] : []), '',
      table(['class', 'images', 'clustered', 'k', 'eigengaps λ(k+1)−λ(k), k = 1…'],
        r.classes.map((c) => [lbl(c), String(c.count), String(c.clustered), String(c.k), c.gaps.map((g) => g.toFixed(3)).join(' ')]),
        [false, true, true, true, false]),
      '', `written: ${path.join(out, 'spray.json')} and ${sheets.length} contact sheets`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }
  return 0;
}
