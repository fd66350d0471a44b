import * as assert from 'assert';
import * as fs from 'fs';
import { DEMO_MODEL, digit, fitAndShowPatternAttribution, hooks, lensApi, measure, nextRender, startAtDefaults, wsFile } from './helpers';

export function defineMethodTests(): void {
  describe('methods and patterns', () => {
    beforeEach(() => startAtDefaults(DEMO_MODEL, digit(7)));

    it('the method picker switches to a gradient method and back', async () => {
      const api = await lensApi();
      const rendered = nextRender(api, (r) => r.method === 'gradient-x-input');
      hooks(api).drivePanel('method', 'gradient-x-input');
      const r = await rendered;
      if (r.sinceInputMs !== undefined) measure('method change (gradient×input) -> heatmap, in the page (LeNet)', r.sinceInputMs);
      // Gradient methods do not conserve relevance: no LRP-style table, the method's own figures instead.
      assert.deepStrictEqual(r.table, []);
      assert.ok(r.figures?.some((f) => /^sum of attributions:/.test(f)), JSON.stringify(r.figures));
      const back = nextRender(api, (x) => x.method === 'lrp');
      hooks(api).drivePanel('method', 'lrp');
      await back;
    });

    it('fits PatternNet patterns on the workspace digits and explains with PatternAttribution', async function () {
      this.timeout(120_000);
      const api = await lensApi();
      const patterns = wsFile('lenet', 'model.patterns');
      fs.rmSync(patterns.fsPath, { force: true });
      const r = await fitAndShowPatternAttribution(['digits'], '10 digits (LeNet)');
      assert.strictEqual(r.outPath, patterns.fsPath);
      assert.ok(r.layers > 0);
      const back = nextRender(api, (x) => x.method === 'lrp');
      hooks(api).drivePanel('method', 'lrp');
      await back;
    });
  });
}
