/** relevance-lens: the engine from the command line (contract in DESIGN.md). */
import { runInfo } from './commands/info';
import { runExplain } from './commands/explain';
import { reportError, UsageError } from './errors';

const HELP = `relevance-lens — explain image classifiers

  relevance-lens info MODEL                      layers, shapes, params, rules
  relevance-lens explain MODEL INPUT [options]   one explanation (see 'explain --help')

exit codes: 0 success, 2 bad usage or input, 1 internal error`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  info: runInfo,
  explain: runExplain,
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
