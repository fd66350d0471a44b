/**
 * `relevance-lens card init MODEL [--force] [--size HxW] [--labels FILE|a,b,c]`: writes the model card
 * `<model-stem>.lens.json` next to the model with defaults guessed from it, for the user to edit.
 * Prints the path written (stdout) and what was guessed (stderr).
 */
import { parseCommandArgs } from '../args';
import * as fs from 'fs';
import * as readline from 'node:readline/promises';
import { loadModel } from '../../core/loaders/registry';
import { cardInit, cardPathFor } from '../../core/card/cardInit';
import { LensError } from '../../core/errors';
import { LIMITS, readTextBounded } from '../../core/io/boundedRead';
import { UsageError } from '../errors';
import { RESIZE_HELP, RESIZE_MODES, type CardResize } from '../../core/card/modelCard';

const USAGE = `usage: relevance-lens card init MODEL [--force] [--size HxW] [--labels FILE|a,b,c] [--resize ${RESIZE_MODES.join('|')}] [--quiet]`;

/** The question `card init` asks on a terminal when --resize is not given. */
export function resizeQuestion(): string {
  return ['How does the model\'s own pipeline resize images? (the same photo can give probabilities ~1e-2 apart)',
    ...RESIZE_MODES.map((m, i) => `  ${i + 1}. ${m}: ${RESIZE_HELP[m]}`), `choice [1-${RESIZE_MODES.length}, default 1]: `].join('\n');
}

/** An answer to resizeQuestion: a number, a mode's name, or empty for the default. */
export function parseResizeAnswer(answer: string): CardResize | undefined {
  const a = answer.trim();
  if (a === '') return 'bilinear';
  const n = Number(a);
  if (Number.isInteger(n) && n >= 1 && n <= RESIZE_MODES.length) return RESIZE_MODES[n - 1];
  return RESIZE_MODES.find((m) => m === a);
}

async function askResize(): Promise<CardResize> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    for (;;) {
      const mode = parseResizeAnswer(await rl.question(resizeQuestion()));
      if (mode) return mode;
    }
  } finally {
    rl.close();
  }
}
const MAX_SIDE = 65536;

export function parseSize(v: string): [number, number] {
  const m = /^\s*(\d+)\s*[x×X,]\s*(\d+)\s*$/.exec(v);
  const h = m ? Number(m[1]) : NaN;
  const w = m ? Number(m[2]) : NaN;
  if (!(h >= 1 && h <= MAX_SIDE && w >= 1 && w <= MAX_SIDE)) throw new UsageError(`--size expects HxW (e.g. 224x224), got '${v}'`);
  return [h, w];
}

/** A labels file (one label per line) when the value names a file, else a comma-separated list. */
export function parseLabels(v: string): string[] {
  let isFile = false;
  try {
    isFile = fs.statSync(v).isFile();
  } catch {
    isFile = false;
  }
  if (isFile) {
    const lines = readTextBounded(v, { what: 'labels file', maxBytes: LIMITS.cardBytes, code: 'bad-input' }).replace(/^\uFEFF/, '').split(/\r?\n/);
    while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
    if (lines.length === 0) throw new LensError('bad-input', 'labels file is empty', v);
    return lines;
  }
  if (!v.includes(',')) {
    throw new UsageError(`--labels: '${v}' is not a file; give a labels file (one per line) or a comma-separated list a,b,c`);
  }
  const labels = v.split(',').map((s) => s.trim());
  if (labels.some((l) => l === '')) throw new UsageError(`--labels: empty label in '${v}'`);
  return labels;
}

async function init(args: string[]): Promise<number> {
  const { positionals, values } = parseCommandArgs('card init', {
    args, allowPositionals: true,
    options: {
      force: { type: 'boolean' }, size: { type: 'string' }, labels: { type: 'string' }, resize: { type: 'string' }, quiet: { type: 'boolean', short: 'q' },
    },
  });
  if (positionals.length !== 1) throw new UsageError(USAGE);
  const modelFile = positionals[0];
  const size = values.size !== undefined ? parseSize(values.size) : undefined;
  const labels = values.labels !== undefined ? parseLabels(values.labels) : undefined;
  if (values.resize !== undefined && !RESIZE_MODES.includes(values.resize as CardResize)) {
    throw new UsageError(`--resize must be one of ${RESIZE_MODES.join(', ')}, got '${values.resize}'`);
  }
  const target = cardPathFor(modelFile);
  // refuse before loading the model (cardInit checks again, for callers of the library)
  if (!values.force && fs.existsSync(target)) {
    throw new LensError('bad-usage', 'a model card already exists (use --force to overwrite)', target);
  }
  if (!fs.existsSync(modelFile)) throw new LensError('bad-model', 'model file not found or not readable', modelFile);
  const graph = await loadModel(modelFile, size ? { inputSize: size } : {});
  const inShape = graph.nodes[graph.input].shape;
  if (size && (inShape[0] !== size[0] || inShape[1] !== size[1])) {
    throw new UsageError(`--size ${size.join('x')}: the model's input size is fixed at ${inShape[0]}x${inShape[1]} (leave --size out)`);
  }
  // the resize convention cannot be read from the model: asked on a terminal, else bilinear (said below)
  const resize = (values.resize as CardResize | undefined) ?? (process.stdin.isTTY && !values.quiet ? await askResize() : undefined);
  const { cardPath, card } = cardInit(modelFile, graph, { force: !!values.force, size, labels, ...(resize ? { resize } : {}) });
  process.stdout.write(cardPath + '\n');
  if (!values.quiet) {
    const i = card.input;
    const classes = graph.nodes[graph.output].shape;
    process.stderr.write(`card init: input ${i.height}×${i.width}×${i.channels}, ${i.channelOrder}, resize ${i.resize}, scaling ${JSON.stringify(i.scaling)}`
      + `${card.labels ? `, ${card.labels.length} labels` : `, no labels (${classes.join('×')} outputs)`}: guessed from the model; `
      + `edit scaling / channelOrder to match how the model was trained${values.resize === undefined ? `; resize: --resize ${RESIZE_MODES.join('|')}` : ''}\n`);
  }
  return 0;
}

/** Entry point of `relevance-lens card …`. */
export async function runCard(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'init': return init(rest);
    case '--help': case '-h': case 'help':
      process.stdout.write(USAGE + '\n');
      return 0;
    default:
      throw new UsageError(sub ? `unknown card command '${sub}' (${USAGE})` : USAGE);
  }
}
