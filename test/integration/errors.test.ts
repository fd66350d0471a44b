import * as assert from 'assert';
import * as vscode from 'vscode';
import { DEMO_MODEL, digit, hooks, lensApi, nextEvent, nextRender, startAtDefaults, wsFile } from './helpers';

export function defineErrorTests(): void {
  describe('errors', () => {
    beforeEach(() => startAtDefaults(DEMO_MODEL, digit(7)));

    it('a model the engine cannot read shows a clear error and keeps the active model', async () => {
      const api = await lensApi();
      const shown = nextEvent(api.onDidShowError, () => true, 30_000, 'an error message');
      await vscode.commands.executeCommand('relevanceLens.openModel', wsFile('fixtures', 'bad-model', 'model.json'));
      const e = await shown;
      console.log(`error shown: ${e.message}`);
      assert.strictEqual(e.user, true, 'a bad model is the user\'s problem, not a bug');
      assert.match(e.message, /bad-model[\\/]model\.json/);
      assert.doesNotMatch(e.message, /\n|at .*\(/, 'no stack trace');
      assert.strictEqual(api.current().model?.path, wsFile(...DEMO_MODEL).fsPath);
    });

    it('an image that cannot be decoded shows a clear error, and the panel keeps working', async () => {
      const api = await lensApi();
      const good = api.current().explanation!;
      const shown = nextEvent(api.onDidShowError, () => true, 30_000, 'an error message');
      await vscode.commands.executeCommand('relevanceLens.explainImage', wsFile('fixtures', 'not-an-image.png'));
      const e = await shown;
      console.log(`error shown: ${e.message}`);
      assert.strictEqual(e.user, true);
      assert.match(e.message, /not-an-image\.png: cannot decode image/);
      assert.strictEqual(api.current().explanation?.spec.imagePath, good.spec.imagePath, 'the last good explanation stays');
      // The panel still answers: a rule change re-explains the last good image.
      const rendered = nextRender(api, (r) => r.table.some((row) => row[0] === 'fc1' && row[2].startsWith('z-plus')));
      hooks(api).drivePanel('rule:fc1', 'z-plus');
      await rendered;
      assert.strictEqual(api.current().explanation!.spec.imagePath, good.spec.imagePath);
      const reset = nextRender(api, (r) => r.table.some((row) => row[0] === 'fc1' && /composite/.test(row[2])));
      hooks(api).drivePanel('rule:fc1', '');
      await reset;
    });

    it('a file that is not an image is refused before the engine runs', async () => {
      const api = await lensApi();
      const shown = nextEvent(api.onDidShowError, () => true, 10_000, 'an error message');
      await vscode.commands.executeCommand('relevanceLens.explainImage', wsFile('lenet', 'model.lens.json'));
      assert.match((await shown).message, /not a PNG, JPEG or BMP image/);
    });
  });
}
