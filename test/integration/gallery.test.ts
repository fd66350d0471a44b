import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { DEMO_MODEL, THEMES, hasDriver, hooks, lensApi, meanLevel, measure, screenshot, setTheme, sleep, wsFile } from './helpers';
import type { ExplainSetSummary, GalleryCompare, GallerySpray } from '../../src/shared/datasetProtocol';

type FolderResult = { summary: ExplainSetSummary; spray?: GallerySpray };

export function defineGalleryTests(): void {
  describe('data set gallery', () => {
    // a folder is explained with the current method: the first run must be LRP's
    before(async () => hooks(await lensApi()).resetChoices());

    it('explains a folder in the worker (resumable), shows SpRAy clusters, compares two runs, opens a member', async function () {
      this.timeout(180_000);
      const api = await lensApi();
      await vscode.commands.executeCommand('relevanceLens.openModel', wsFile(...DEMO_MODEL));
      const folder = wsFile('digit-set');
      const drawn = new Promise<{ clusters: number; pairs: number }>((resolve) => {
        const sub = api.onDidRenderGallery((r) => {
          if (r.clusters > 0) {
            sub.dispose();
            resolve(r);
          }
        });
      });
      const t0 = performance.now();
      const lrp = (await vscode.commands.executeCommand('relevanceLens.explainFolder', folder)) as FolderResult;
      measure('explain folder (200 digits, LeNet) + SpRAy', performance.now() - t0);
      assert.ok(lrp?.spray, 'no run');
      assert.strictEqual(lrp.summary.total, 200);
      assert.strictEqual(lrp.summary.computed + lrp.summary.skipped, 200);
      assert.ok(fs.existsSync(path.join(lrp.summary.out, 'index.md')));
      const spray = lrp.spray;
      assert.ok(spray.clusters.length >= new Set(spray.clusters.map((c) => c.class)).size);
      for (let i = 1; i < spray.clusters.length; i++) assert.ok(spray.clusters[i - 1].unusualness >= spray.clusters[i].unusualness, 'sorted by unusualness');
      assert.strictEqual((await drawn).clusters, spray.clusters.length, 'the gallery drew every cluster');
      // the same command again resumes: nothing recomputed
      const again = (await vscode.commands.executeCommand('relevanceLens.explainFolder', folder)) as FolderResult;
      assert.strictEqual(again.summary.computed, 0);
      assert.strictEqual(again.summary.skipped, 200);
      // a second run with the gradient (the method of the last explanation), compared with the LRP run
      await vscode.commands.executeCommand('relevanceLens.explainWithMethod', vscode.Uri.file(spray.clusters[0].members[0].file), 'gradient');
      const grad = (await vscode.commands.executeCommand('relevanceLens.explainFolder', folder)) as FolderResult;
      assert.notStrictEqual(grad.summary.out, lrp.summary.out);
      const pairsDrawn = new Promise<{ clusters: number; pairs: number }>((resolve) => {
        const sub = api.onDidRenderGallery((r) => {
          if (r.pairs > 0) {
            sub.dispose();
            resolve(r);
          }
        });
      });
      const cmp = (await vscode.commands.executeCommand('relevanceLens.compareRuns', vscode.Uri.file(lrp.summary.out), vscode.Uri.file(grad.summary.out))) as GalleryCompare;
      assert.strictEqual(cmp.compared, 200);
      assert.ok(cmp.meanRho < 1, 'LRP and the gradient differ');
      for (let i = 1; i < cmp.pairs.length; i++) assert.ok(cmp.pairs[i - 1].rho <= cmp.pairs[i].rho, 'most changed first');
      // the comparison joins the clusters in the gallery (content sent again: buffers are copied each time)
      const both = await pairsDrawn;
      assert.strictEqual(both.pairs, cmp.pairs.length);
      assert.strictEqual(both.clusters, grad.spray!.clusters.length);
      // a click on an image opens its explanation with the run's model
      const member = grad.spray!.clusters[0].members[0];
      const opened = new Promise<void>((resolve) => {
        const sub = api.onDidExplain(({ explanation }) => {
          if (explanation.spec.imagePath === member.file) {
            sub.dispose();
            resolve();
          }
        });
      });
      assert.ok(await api.openGalleryImage(grad.spray!.model, member.file));
      await opened;
      await vscode.commands.executeCommand('relevanceLens.explainWithMethod', vscode.Uri.file(member.file), 'lrp');
    });

    it('screenshots of the gallery in the three themes (SpRAy clusters, most changed images)', async function () {
      if (!hasDriver()) this.skip(); // only the code-server run has a browser to take them
      this.timeout(120_000);
      await vscode.commands.executeCommand('notifications.clearAll');
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      const runs = wsFile('.relevance-lens', 'runs').fsPath;
      const [lrpRun, gradRun] = ['lrp', 'gradient'].map((m) => path.join(runs, fs.readdirSync(runs).find((n) => n.endsWith(m) || n.includes(`-${m}-`))!));
      await vscode.commands.executeCommand('relevanceLens.showRun', vscode.Uri.file(lrpRun));
      await sleep(800);
      const spray: string[] = [];
      for (const [name, theme] of THEMES) {
        await setTheme(theme);
        await sleep(500);
        spray.push(await screenshot(`gallery-spray-${name}`));
        console.log(`screenshot ${spray.at(-1)}`);
      }
      // the themes reach the gallery's page: the dark window is darker than the light one
      const [dark, light] = [meanLevel(spray[0]), meanLevel(spray[1])];
      assert.ok(dark + 40 < light, `mean level dark ${dark.toFixed(0)}, light ${light.toFixed(0)}`);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await vscode.commands.executeCommand('relevanceLens.compareRuns', vscode.Uri.file(lrpRun), vscode.Uri.file(gradRun));
      await sleep(800);
      for (const [name, theme] of THEMES) {
        await setTheme(theme);
        await sleep(500);
        await screenshot(`gallery-compare-${name}`);
      }
      await setTheme(undefined);
      // leave the window as the next specs expect it: no gallery
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });
  });
}
