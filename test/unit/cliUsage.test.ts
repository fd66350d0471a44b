/**
 * The CLI's usage lines are derived from the option tables (src/cli/usage.ts); the --help texts are
 * written by hand, so each is checked here to name every flag its command's parser takes.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { runCli } from './helpers/cli';
import { usageLine } from '../../src/cli/usage';
import { OPTIONS as EXPLAIN } from '../../src/cli/commands/explain';
import { OPTIONS as EVALUATE } from '../../src/cli/commands/evaluate';
import { OPTIONS as EXPLAIN_SET } from '../../src/cli/commands/explainSet';

test('usageLine: flags in table order, required ones and --help left out, repeatable ones marked', () => {
  const line = usageLine('evaluate MODEL INPUT --methods M[,M...]', {
    methods: { type: 'string' }, rule: { type: 'string', multiple: true }, quiet: { type: 'boolean' }, help: { type: 'boolean' },
  });
  assert.equal(line, 'usage: relevance-lens evaluate MODEL INPUT --methods M[,M...] [--rule LAYER=RULE[:p,...]]... [--quiet]');
  assert.throws(() => usageLine('x', { 'no-such-flag': { type: 'string' } }), /no value placeholder for --no-such-flag/);
});

test('explain, evaluate and explain-set: --help names every flag the command takes, the usage line too', () => {
  for (const [command, options] of [['explain', EXPLAIN], ['evaluate', EVALUATE], ['explain-set', EXPLAIN_SET]] as const) {
    const help = runCli([command, '--help']);
    assert.equal(help.code, 0, help.stderr);
    const usage = runCli([command]);
    assert.equal(usage.code, 2);
    for (const flag of Object.keys(options).filter((f) => f !== 'help')) {
      assert.match(help.stdout, new RegExp(`--${flag}\\b`), `${command} --help lacks --${flag}`);
      if (command !== 'explain-set') assert.match(usage.stderr, new RegExp(`--${flag}\\b`), `${command} usage lacks --${flag}`);
    }
  }
});
