/**
 * `relevance-lens compare-runs RUN_A RUN_B [--fail-below R]`: per image, the Spearman correlation of the
 * two runs' heatmaps and the change of prediction (src/core/dataset/compare); exit 3 when the mean
 * correlation is below R, so a baseline run kept in a repository can guard a model in CI.
 */
import { parseArgs } from 'util';
import { compareRuns } from '../../core/dataset/compare';
import { writeFileAtomic } from '../../core/io/atomicWrite';
import { num, table } from '../format';
import { UsageError } from '../errors';
import { integer, number } from './explain';

const OPTIONS = {
  'fail-below': { type: 'string' },
  'fail-on': { type: 'string' },
  top: { type: 'string' },
  size: { type: 'string' },
  json: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `usage: relevance-lens compare-runs RUN_A RUN_B [options]
  Images are matched by their path relative to the set's folder or list.
  --top N            most changed images to list (default 10)
  --size N           compare the heatmaps area-resampled to N×N (default: the runs' grid); coarser = regions
  --json FILE        every image's figures and the summary
  --fail-below R     exit 3 when the correlation is below R (-1..1)
  --fail-on mean|min which correlation --fail-below tests: the mean over images (default) or the lowest one
exit codes: 0 ok, 3 below the threshold, 2 bad usage or input, 1 internal error`;

export async function runCompareRuns(argv: string[]): Promise<number> {
  // '--fail-below -0.2': a negative value would read as an option
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--fail-below' && argv[i + 1] !== undefined && /^-(\d|\.\d)/.test(argv[i + 1])) joined.push(`--fail-below=${argv[++i]}`);
    else joined.push(argv[i]);
  }
  const { positionals, values } = parseArgs({ args: joined, allowPositionals: true, options: OPTIONS });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('usage: relevance-lens compare-runs RUN_A RUN_B [--fail-below R] [--top N] [--json FILE]');
  const threshold = number(values['fail-below'], 'fail-below');
  if (threshold !== undefined && (threshold < -1 || threshold > 1)) throw new UsageError(`--fail-below expects a correlation in -1..1, got '${values['fail-below']}'`);
  const failOn = values['fail-on'] ?? 'mean';
  if (failOn !== 'mean' && failOn !== 'min') throw new UsageError(`--fail-on must be mean or min, got '${failOn}'`);
  const top = integer(values.top, 'top', 0, 100000) ?? 10;
  const size = integer(values.size, 'size', 2, 256);
  const r = compareRuns(positionals[0], positionals[1], size);
  if (values.json) await writeFileAtomic(values.json, JSON.stringify(r));
  const tested = failOn === 'mean' ? r.meanRho : r.minRho;
  const failed = threshold !== undefined && tested < threshold;
  if (!values.quiet) {
    const lines = [
      `${r.compared} images in both runs${r.onlyInA || r.onlyInB ? ` (${r.onlyInA} only in A, ${r.onlyInB} only in B)` : ''}`,
      `heatmap Spearman correlation (${r.size}×${r.size}): mean ${num(r.meanRho, 4)}, median ${num(r.medianRho, 4)}, min ${num(r.minRho, 4)}`,
      `prediction changed for ${r.predictionChanges} (${(100 * r.predictionChanges / r.compared).toFixed(1)} %)`,
      '', `most changed:`,
      table(['image', 'rho', 'predicted A', 'predicted B', 'score change'],
        r.images.slice(0, top).map((c) => [c.rel, num(c.rho, 4), String(c.predictedA), String(c.predictedB) + (c.predictionChanged ? ' *' : ''), num(c.scoreChange, 4)]),
        [false, true, true, true, true]),
      ...(threshold !== undefined ? ['', `${failOn} correlation ${num(tested, 4)} ${failed ? '<' : '≥'} ${threshold}: ${failed ? 'FAIL' : 'ok'}`] : []),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }
  return failed ? 3 : 0;
}
