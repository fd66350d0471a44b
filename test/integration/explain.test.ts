import * as assert from 'assert';
import * as vscode from 'vscode';
import { DEMO_MODEL, byteDiff, digit, hooks, lensApi, measure, nextRender, wsFile } from './helpers';
import { referenceExplain, type ReferenceRun } from './engineReference';
import type { RenderReport } from '../../src/shared/protocol';
import type { RelevanceLensApi } from '../../src/extension/api';

/** The drawn heatmap and the explanation are the engine's, run in the test (engineReference.ts). */
function assertMatchesReference(api: RelevanceLensApi, report: RenderReport, ref: ReferenceRun): void {
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
}

export function defineExplainTests(): void {
  describe('explain an image', () => {
    // the demo model active, every choice at its default (the first explanation is the specs' own)
    before(async () => {
      const api = await lensApi();
      hooks(api).reportPixels(true);
      if (api.current().model?.path !== wsFile(...DEMO_MODEL).fsPath) await vscode.commands.executeCommand('relevanceLens.openModel', wsFile(...DEMO_MODEL));
      await hooks(api).resetChoices();
    });

    it('the right-click command on a workspace image opens the panel and draws the engine\'s heatmap', async () => {
      const api = await lensApi();
      const image = wsFile(...digit(3));
      const t0 = performance.now();
      const rendered = nextRender(api, (r) => r.rgba.length > 0 && api.current().explanation?.spec.imagePath === image.fsPath);
      await vscode.commands.executeCommand('relevanceLens.explainImage', image);
      const report = await rendered;
      measure('command -> first heatmap drawn (LeNet, model loaded)', performance.now() - t0);
      assert.ok(api.current().panelOpen, 'panel not open');
      assertMatchesReference(api, report, await referenceExplain(wsFile(...DEMO_MODEL).fsPath, image.fsPath));
      // The table the panel drew has a row per layer the relevance passed, with the engine's rule.
      const conv1 = report.table.find((row) => row[0] === 'conv1');
      assert.ok(conv1, `no conv1 row in ${JSON.stringify(report.table.map((r) => r[0]))}`);
    });

    it('a second image explains with the loaded model', async () => {
      const api = await lensApi();
      const image = wsFile(...digit(7));
      const t0 = performance.now();
      const rendered = nextRender(api, (r) => r.rgba.length > 0 && api.current().explanation?.spec.imagePath === image.fsPath);
      await vscode.commands.executeCommand('relevanceLens.explainImage', image);
      const report = await rendered;
      measure('command -> heatmap drawn, second image (warm)', performance.now() - t0);
      assert.strictEqual(api.current().model?.path, wsFile(...DEMO_MODEL).fsPath, 'the model changed');
      assertMatchesReference(api, report, await referenceExplain(wsFile(...DEMO_MODEL).fsPath, image.fsPath));
      assert.strictEqual(report.targetClass, 7, 'the demo LeNet reads digit-7.png as a 7');
    });
  });
}
