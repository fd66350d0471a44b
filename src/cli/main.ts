/** relevance-lens: the engine from the command line (contract in DESIGN.md). */
import { runInfo } from './commands/info';
import { runExplain } from './commands/explain';
import { runEvaluate } from './commands/evaluate';
import { runCard } from './commands/card';
import { runPatternsCommand } from './commands/patterns';
import { runExplainSetCommand } from './commands/explainSet';
import { runSpray } from './commands/spray';
import { runCompareRuns } from './commands/compareRuns';
import { reportError, UsageError } from './errors';

const HELP = `relevance-lens — explain image classifiers

  relevance-lens info MODEL [--card FILE] [--json] [--loaded]
                                                 every node: op, shape, params, rule, supported methods
  relevance-lens explain MODEL INPUT [options]   one explanation (see 'explain --help')
  relevance-lens evaluate MODEL INPUT --methods a,b,...
                                                 pixel-flipping curves and AOPC per method (see 'evaluate --help')
  relevance-lens card init MODEL [--force] [--size HxW] [--labels FILE|a,b,c]
                                                 write <model>.lens.json with guessed defaults to edit
  relevance-lens patterns fit MODEL DATA --out FILE   PatternNet statistics over a dataset
  relevance-lens patterns merge A B --out FILE   merge two statistics files
  relevance-lens patterns info FILE [--json]     layers and rho quality of a patterns file
  relevance-lens explain-set MODEL FOLDER|LIST --out RUN_DIR [options]
                                                 explain a whole set, resumable (see 'explain-set --help')
  relevance-lens spray RUN_DIR [--out DIR]       SpRAy: spectral clusters of a run's heatmaps per class
  relevance-lens compare-runs RUN_A RUN_B [--fail-below R]
                                                 heatmap rank correlation and prediction changes per image

exit codes: 0 success, 2 bad usage or input, 1 internal error`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  info: runInfo,
  explain: runExplain,
  evaluate: runEvaluate,
  card: runCard,
  patterns: runPatternsCommand,
  'explain-set': runExplainSetCommand,
  spray: runSpray,
  'compare-runs': runCompareRuns,
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP + '\n');
    return cmd ? 0 : 2;
  }
  const run = COMMANDS[cmd];
  try {
    if (!run) throw new UsageError(`unknown command '${cmd}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
    return await run(rest);
  } catch (e) {
    return reportError(e);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
