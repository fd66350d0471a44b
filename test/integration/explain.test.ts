import * as assert from 'assert';
import * as vscode from 'vscode';
import { DEMO_MODEL, byteDiff, digit, lensApi, measure, nextRender, wsFile } from './helpers';
import { referenceExplain } from './engineReference';

export function defineExplainTests(): void {
  describe('explain an image', () => {
    it('the right-click command on a workspace image opens the panel and draws the engine\'s heatmap', async () => {
      const api = await lensApi();
      api.reportPixels(true);
      const image = wsFile(...digit(3));
      const t0 = performance.now();
      const rendered = nextRender(api, (r) => r.rgba.length > 0);
      await vscode.commands.executeCommand('relevanceLens.explainImage', image);
      const report = await rendered;
      measure('command -> first heatmap drawn (LeNet, model loaded)', performance.now() - t0);
      assert.ok(api.current().panelOpen, 'panel not open');

      const ref = await referenceExplain(wsFile(...DEMO_MODEL).fsPath, image.fsPath);
      assert.strictEqual(report.targetClass, ref.targetClass);
      assert.strictEqual(report.width, ref.width);
      assert.strictEqual(report.height, ref.height);
      const d = byteDiff(report.rgba, ref.heatmap);
      assert.ok(d.max <= 1, `drawn heatmap differs from the engine's: max |Δ| ${d.max} in ${d.count} bytes`);
      console.log(`drawn vs engine heatmap: max |Δ| ${d.max} over ${report.rgba.length} bytes (${d.count} differ)`);
      const rel = api.current().explanation!.relevance.data;
      let maxRel = 0;
      let maxAbs = 0;
      for (let i = 0; i < rel.length; i++) {
        maxRel = Math.max(maxRel, Math.abs(rel[i] - ref.relevance[i]));
        maxAbs = Math.max(maxAbs, Math.abs(ref.relevance[i]));
      }
      assert.ok(maxRel <= 1e-5 * Math.max(1, maxAbs), `relevance differs by ${maxRel}`);
      // The table the panel drew has a row per layer the relevance passed, with the engine's rule.
      const conv1 = report.table.find((row) => row[0] === 'conv1');
      assert.ok(conv1, `no conv1 row in ${JSON.stringify(report.table.map((r) => r[0]))}`);
    });

    it('a second image explains with the loaded model', async () => {
      const api = await lensApi();
      const t0 = performance.now();
      const rendered = nextRender(api, (r) => r.targetClass === 7);
      await vscode.commands.executeCommand('relevanceLens.explainImage', wsFile(...digit(7)));
      await rendered;
      measure('command -> heatmap drawn, second image (warm)', performance.now() - t0);
    });
  });
}
