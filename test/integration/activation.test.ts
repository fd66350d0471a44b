import * as assert from 'assert';
import * as vscode from 'vscode';
import { EXTENSION_ID, measure } from './helpers';

export function defineActivationTests(): void {
  describe('activation', () => {
    it('activates light: no engine worker, no TensorFlow.js on the extension host', async () => {
      const ext = vscode.extensions.getExtension(EXTENSION_ID);
      assert.ok(ext, `${EXTENSION_ID} not installed`);
      const t0 = performance.now();
      const api = await ext.activate();
      measure('activation (ext.activate() as seen by the test)', performance.now() - t0);
      measure('activation (inside activate())', api.activationMs);
      assert.strictEqual(ext.isActive, true);
      assert.strictEqual(api.engineStartupMs(), undefined, 'the engine worker must start lazily, not at activation');
      const tfjsOnHost = Object.keys(require.cache).filter((k) => k.includes('@tensorflow'));
      assert.deepStrictEqual(tfjsOnHost, [], 'TensorFlow.js must not load on the extension host');
    });

    it('registers its commands and right-click menus', async () => {
      const all = await vscode.commands.getCommands(true);
      for (const c of ['openModel', 'explainImage', 'explainWithMethod', 'compareMethods', 'exportHeatmap', 'fitPatterns', 'setLayerRule']) {
        assert.ok(all.includes(`relevanceLens.${c}`), `relevanceLens.${c} not registered`);
      }
      const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
      const explorer: { command: string; when: string }[] = pkg.contributes.menus['explorer/context'];
      const imageWhen = explorer.find((m) => m.command === 'relevanceLens.explainImage')!.when;
      for (const ext of ['png', 'jpg', 'jpeg', 'bmp', 'PNG']) assert.match(`.${ext}`, new RegExp(imageWhen.match(/=~ \/(.*)\/i/)![1], 'i'));
      assert.ok(explorer.some((m) => m.command === 'relevanceLens.openModel' && m.when.includes('model.json')));
    });
  });
}
