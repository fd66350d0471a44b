import { POLARITIES } from '../shared/settings';

/**
 * A command's one-line usage, derived from its parseArgs option table so that the two cannot drift:
 * each flag's value placeholder is written once here, for every command that takes the flag.
 */
const VALUE: Record<string, string> = {
  method: 'M', composite: 'NAME', rule: 'LAYER=RULE[:p,...]', epsilon: 'E', gamma: 'G', alpha: 'A', beta: 'B', low: 'L', high: 'H',
  class: 'N|top', backend: 'auto|onnx|tensorflow|wasm|cpu', samples: 'N', sigma: 'S', seed: 'N', steps: 'N',
  baseline: 'zeros|constant:V|blur[:SIGMA]|FILE.npy', root: 'nearest|origin|lrp', patterns: 'FILE', 'pattern-type': 'relu|linear',
  workers: 'N', json: 'FILE', npy: 'FILE', png: 'FILE', 'token-png': 'FILE', card: 'FILE', colormap: 'NAME', percentile: 'P', polarity: POLARITIES.join('|'),
  opacity: 'O', size: 'WxH|N', upscale: 'K', order: 'morf|lerf', perturbation: 'zeros|mean|uniform|blur[:SIGMA]', region: 'R',
  random: 'N',
};

/**
 * `usage: relevance-lens HEAD [--flag VALUE]...` over the table in its order; flags HEAD already shows
 * (required ones) and --help are left out, a repeatable flag ends in `...`.
 */
export function usageLine(head: string, options: Readonly<Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>>): string {
  const parts = [`usage: relevance-lens ${head}`];
  for (const [flag, o] of Object.entries(options)) {
    if (flag === 'help' || new RegExp(`--${flag}\\b`).test(head)) continue;
    if (o.type === 'string' && VALUE[flag] === undefined) throw new Error(`usage: no value placeholder for --${flag}`);
    parts.push(`[--${flag}${o.type === 'string' ? ` ${VALUE[flag]}` : ''}]${o.multiple ? '...' : ''}`);
  }
  return parts.join(' ');
}
