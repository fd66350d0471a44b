/**
 * Node's parseArgs with one-line usage errors: an unknown flag names the closest valid option instead
 * of Node's advice about positionals after '--' (which never applies to a typo).
 */
import { parseArgs, type ParseArgsConfig } from 'util';
import { UsageError } from './errors';

/** Edit distance (insert, delete, substitute, swap adjacent), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The valid option closest to `flag` (without dashes), if any is close enough to be a typo of it. */
export function closestOption(flag: string, options: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = o.startsWith(flag) && flag.length >= 2 ? 0.5 : editDistance(flag, o);
    if (d < bestD) [best, bestD] = [o, d];
  }
  return bestD <= Math.max(2, Math.floor(flag.length / 3)) ? best : undefined;
}

/** parseArgs for `relevance-lens <command>`: an unknown option is one line naming the closest valid one. */
export function parseCommandArgs<T extends ParseArgsConfig>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    const err = e as Error & { code?: string };
    const m = /Unknown option '(-{1,2})([^']*)'/.exec(err.message);
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && m) {
      const names = Object.keys(config.options ?? {});
      const near = closestOption(m[2].split('=')[0], names);
      const hint = near ? `did you mean --${near}?` : `valid options: ${names.map((n) => `--${n}`).join(' ')}`;
      throw new UsageError(`${command}: unknown option '${m[1]}${m[2]}'; ${hint} (relevance-lens ${command} --help)`);
    }
    throw e;
  }
}

/** `--pattern-type`, checked: relu, linear or not given. */
export function patternTypeOption(value: string | undefined): 'relu' | 'linear' | undefined {
  if (value !== undefined && value !== 'relu' && value !== 'linear') throw new UsageError(`--pattern-type must be relu or linear, got '${value}'`);
  return value;
}
