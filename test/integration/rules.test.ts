import * as assert from 'assert';
import { DEMO_MODEL, byteDiff, digit, hooks, lensApi, measure, nextRender, startAtDefaults, wsFile } from './helpers';
import { referenceExplain } from './engineReference';

export function defineRuleTests(): void {
  describe('rule pickers', () => {
    // each spec from digit 7 explained with the defaults (conv2 takes the composite's γ)
    before(async () => hooks(await lensApi()).reportPixels(true));
    beforeEach(() => startAtDefaults(DEMO_MODEL, digit(7)));

    it('changing a layer\'s rule in the panel re-explains and updates table and heatmap', async () => {
      const api = await lensApi();
      const before = api.current().explanation!;
      const image = before.spec.imagePath;
      const beforeRow = before.layers.find((l) => l.name === 'conv2')!;
      assert.match(beforeRow.rule, /^gamma/);

      // The user picks "alpha-beta" for conv2 in the table's rule picker.
      const t0 = performance.now();
      const rendered = nextRender(api, (r) => r.table.some((row) => row[0] === 'conv2' && row[2].startsWith('alpha-beta')));
      assert.ok(hooks(api).drivePanel('rule:conv2', 'alpha-beta'));
      const report = await rendered;
      measure('rule change -> updated heatmap drawn, test-side round trip (LeNet)', performance.now() - t0);
      if (report.sinceInputMs !== undefined) measure('rule change -> updated heatmap drawn, in the page: input event to pixels (LeNet)', report.sinceInputMs);

      const after = api.current().explanation!;
      const afterRow = after.layers.find((l) => l.name === 'conv2')!;
      assert.match(afterRow.rule, /^alpha-beta/);
      assert.notStrictEqual(afterRow.inputRelevanceSum, beforeRow.inputRelevanceSum, 'conservation row did not change');
      const ref = await referenceExplain(wsFile(...DEMO_MODEL).fsPath, image, { rules: { conv2: 'alpha-beta' } });
      const d = byteDiff(report.rgba, ref.heatmap);
      assert.ok(d.max <= 1, `heatmap after the rule change differs from the engine's: max |Δ| ${d.max}`);
      assert.ok(byteDiff(report.rgba, before.heatmap.rgba).count > 0, 'heatmap did not change');
      const shownRow = report.table.find((row) => row[0] === 'conv2')!;
      const refRow = ref.layers.find((l) => l.name === 'conv2')!;
      assert.strictEqual(Number(shownRow[4]).toPrecision(3), refRow.inputRelevanceSum.toPrecision(3), `table shows ${shownRow.join(' | ')}`);
    });

    it('a rule parameter typed in the table applies, and the side panel shows the override', async () => {
      const api = await lensApi();
      const t0 = performance.now();
      const rendered = nextRender(api, (r) => r.table.some((row) => row[0] === 'conv2' && row[2] === 'epsilon:0.5'));
      hooks(api).drivePanel('rule:conv2', 'epsilon');
      await nextRender(api, (r) => r.table.some((row) => row[0] === 'conv2' && row[2].startsWith('epsilon')));
      hooks(api).drivePanel('rule-param:conv2', '0.5');
      const r = await rendered;
      measure('rule parameter change -> updated heatmap drawn, test-side round trip (LeNet)', performance.now() - t0);
      if (r.sinceInputMs !== undefined) measure('rule parameter change -> heatmap, in the page (LeNet)', r.sinceInputMs);
      const { layers } = await api.views();
      const conv2 = layers.find((l) => l.label === 'conv2')!;
      assert.match(conv2.description ?? '', /epsilon:0\.5 \* · /);
      assert.strictEqual(conv2.contextValue, 'layer.ruleable.overridden');
    });

    it('choosing "(composite)" resets the layer to the composite\'s rule', async () => {
      const api = await lensApi();
      await nextRender(api, (r) => r.table.some((row) => row[0] === 'conv2' && row[2].startsWith('flat')), 20_000, () => hooks(api).drivePanel('rule:conv2', 'flat'));
      assert.strictEqual(api.current().explanation!.spec.rules.conv2, 'flat');
      const rendered = nextRender(api, (r) => r.table.some((row) => row[0] === 'conv2' && /composite/.test(row[2])));
      hooks(api).drivePanel('rule:conv2', '');
      await rendered;
      assert.strictEqual(api.current().explanation!.spec.rules.conv2, undefined, 'the override stayed');
      assert.match(api.current().explanation!.layers.find((l) => l.name === 'conv2')!.rule, /^gamma/);
    });

    it('the class picker explains another class', async () => {
      const api = await lensApi();
      const rendered = nextRender(api, (r) => r.targetClass === 1);
      hooks(api).drivePanel('class', '1');
      const r = await rendered;
      assert.strictEqual(r.targetClass, 1);
      if (r.sinceInputMs !== undefined) measure('class change -> heatmap, in the page (LeNet)', r.sinceInputMs);
      const back = nextRender(api, (x) => x.targetClass === 7);
      hooks(api).drivePanel('class', 'top');
      await back;
    });

    it('a colormap change recolours without re-explaining', async () => {
      const api = await lensApi();
      const before = api.current().explanation!;
      const rendered = nextRender(api, () => true);
      hooks(api).drivePanel('colormap', 'coldnhot');
      const r = await rendered;
      if (r.sinceInputMs !== undefined) measure('colormap change -> recoloured heatmap, in the page (LeNet)', r.sinceInputMs);
      assert.ok(byteDiff(r.rgba, before.heatmap.rgba).count > 0);
      assert.strictEqual(api.current().explanation!.timings.totalMs, before.timings.totalMs, 'it re-explained');
      const back = nextRender(api, () => true);
      hooks(api).drivePanel('colormap', 'seismic');
      await back;
    });
  });
}
