import * as assert from 'assert';
import * as vscode from 'vscode';
import { lensApi, measure, nextRender, screenshot, sleep } from './helpers';

async function setTheme(theme: string): Promise<void> {
  await vscode.workspace.getConfiguration('workbench').update('colorTheme', theme, vscode.ConfigurationTarget.Global);
  await sleep(800); // the workbench and the webview re-read the theme's CSS variables
}

export function definePanelTests(): void {
  describe('panel', () => {
    it('shows relevance maps of a layer selected in the side panel', async () => {
      const api = await lensApi();
      const t0 = performance.now();
      await vscode.commands.executeCommand('relevanceLens.showLayerMaps', 'conv1');
      measure('layer selected -> per-channel maps computed (conv1)', performance.now() - t0);
      assert.ok(api.current().panelOpen);
    });

    it('compares methods side by side', async () => {
      const api = await lensApi();
      const errors: string[] = [];
      const sub = api.onDidShowError((e) => errors.push(e.message));
      const t0 = performance.now();
      const methods = ['lrp', 'deep-taylor', 'gradient', 'gradient-x-input', 'guided-backprop', 'integrated-gradients'];
      const result = (await vscode.commands.executeCommand('relevanceLens.compareMethods', methods)) as { entries: { method: string; heatmap?: unknown; error?: string }[] } | undefined;
      sub.dispose();
      measure(`compare ${methods.length} methods (LeNet)`, performance.now() - t0);
      assert.ok(result, 'no comparison');
      assert.deepStrictEqual(result.entries.map((e) => e.method), methods);
      for (const e of result.entries) assert.ok(e.heatmap, `${e.method}: ${e.error}`);
      assert.deepStrictEqual(errors, []);
    });

    it('is restored after its page reloads (ready -> snapshot -> explanation)', async () => {
      const api = await lensApi();
      const shown = api.current().explanation!;
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await sleep(300);
      assert.strictEqual(api.current().panelOpen, false);
      const rendered = nextRender(api, () => true);
      await vscode.commands.executeCommand('relevanceLens.showPanel');
      const r = await rendered;
      assert.strictEqual(r.targetClass, shown.target.class);
    });

    it('screenshots in a dark and a light theme', async function () {
      this.timeout(60_000);
      const api = await lensApi();
      await vscode.commands.executeCommand('notifications.clearAll');
      await vscode.commands.executeCommand('workbench.view.extension.relevanceLens');
      await vscode.commands.executeCommand('relevanceLens.showLayerMaps', 'conv2');
      const shots: (string | undefined)[] = [];
      // 'Default Dark+' rather than the default theme: setting the default changes nothing on screen.
      for (const [name, theme] of [['dark', 'Default Dark+'], ['light', 'Default Light Modern'], ['high-contrast', 'Default High Contrast']]) {
        await setTheme(theme);
        api.drivePanel('page', 'top');
        await sleep(300);
        shots.push(await screenshot(`panel-${name}`));
        api.drivePanel('section:conservation', 'scroll');
        await sleep(300);
        shots.push(await screenshot(`panel-${name}-table`));
        api.drivePanel('section:layer', 'scroll');
        await sleep(300);
        shots.push(await screenshot(`panel-${name}-layer-maps`));
        api.drivePanel('section:compare', 'scroll');
        await sleep(300);
        shots.push(await screenshot(`panel-${name}-compare`));
      }
      await vscode.workspace.getConfiguration('workbench').update('colorTheme', undefined, vscode.ConfigurationTarget.Global);
      const [dark, light] = [shots[0], shots[4]];
      console.log(dark ? `screenshots: ${dark}, ${light}` : 'screenshots skipped (no browser driver)');
      // Theme changes must not disturb the panel.
      const rendered = nextRender(api, (x) => x.targetClass === 2);
      api.drivePanel('class', '2');
      await rendered;
      const back = nextRender(api, () => true);
      api.drivePanel('class', 'top');
      await back;
    });
  });
}
