/**
 * The panel driven from the keyboard alone, with real key presses (playwright's page.keyboard, through
 * the browser driver) in the webview's frame: Tab order, the rule picker changed with arrow keys and
 * with Enter, and a focus ring a user can see in every theme. Only the code-server run has a browser
 * to press keys in; under @vscode/test-electron these specs are skipped.
 */
import * as assert from 'assert';
import {
  DEMO_MODEL, THEMES, byteDiff, contrast, digit, hasDriver, hooks, lensApi, measure, nextRender, screenshot, setTheme, startAtDefaults, webview, wsFile, type ActiveElement,
} from './helpers';
import { referenceExplain } from './engineReference';

const ruleOf = (layer: string) => `[data-control="rule:${layer}"]`;

/** Checks the focused element can be seen: a drawn ring with 3:1 contrast (WCAG 1.4.11), not covered. */
function assertVisibleFocus(a: ActiveElement, where: string): void {
  assert.ok(a.control, `${where}: focus went to ${a.tag} instead of a control`);
  assert.ok(a.focusVisible, `${where}: ${a.control} does not match :focus-visible`);
  assert.ok(a.outline && a.outline.style !== 'none' && parseFloat(a.outline.width) >= 1,
    `${where}: ${a.control} has no focus ring (${JSON.stringify(a.outline)})`);
  const c = contrast(a.outline!.color, a.background!);
  assert.ok(c >= 3, `${where}: focus ring of ${a.control} has contrast ${c.toFixed(2)}:1 against ${a.background} (${a.outline!.color})`);
  assert.ok(a.unobscured, `${where}: ${a.control} is focused but hidden (off screen or under another element)`);
}

/**
 * Puts the keyboard in the conservation table (a click on its header, as a user would to start there)
 * and tabs to `layer`'s rule picker. Returns every element focused on the way.
 */
async function tabToRulePicker(layer: string): Promise<ActiveElement[]> {
  const [open] = await webview<[boolean]>({ eval: "document.querySelector('details#conservation').open" });
  if (!open) await webview({ click: 'summary[data-control="section:conservation"]' });
  const [, stops] = await webview<[unknown, ActiveElement[]]>({ click: 'table.conservation thead th' }, { tabUntil: ruleOf(layer), max: 16 });
  return stops;
}

export function defineKeyboardTests(): void {
  describe('keyboard', function () {
    before(function () {
      if (!hasDriver()) this.skip();
    });

    it('Tab walks the table in order to a layer\'s rule picker; every stop shows a visible focus ring', async () => {
      const api = await lensApi();
      await startAtDefaults(DEMO_MODEL, digit(7));
      const stops = await tabToRulePicker('conv2');
      console.log(`Tab order: ${stops.map((s) => s.control ?? s.tag).join(' → ')}`);
      assert.strictEqual(stops.at(-1)?.control, 'rule:conv2', 'Tab did not reach the rule picker of conv2');
      // The expected order is the table's: each row's layer button, then its rule picker (the
      // parameter field only when the rule takes one).
      const ruleable = new Set(api.current().model!.layers.filter((l) => l.ruleable).map((l) => l.name));
      const expected: string[] = [];
      for (const row of api.current().explanation!.layers) {
        expected.push(`select:${row.name}`);
        if (ruleable.has(row.name)) expected.push(`rule:${row.name}`);
        if (row.name === 'conv2') break;
      }
      assert.deepStrictEqual(stops.map((s) => s.control), expected);
      for (const s of stops) assertVisibleFocus(s, 'Tab');
    });

    it('Shift+Tab back up the page never leaves the focused control under the sticky toolbar', async () => {
      await startAtDefaults(DEMO_MODEL, digit(7));
      // From the end of the page: the layer and compare sections open, focus on the last control.
      for (const id of ['layer', 'compare']) {
        const [open] = await webview<[boolean]>({ eval: `document.querySelector('details#${id}').open` });
        if (!open) await webview({ click: `summary[data-control="section:${id}"]` });
      }
      const [, stops] = await webview<[unknown, ActiveElement[]]>(
        { focus: '[data-control="compare-run"]' },
        { tabUntil: '[data-control="select:conv1"]', key: 'Shift+Tab', max: 80 });
      // And the case the browser does not scroll for: the rows above are on screen but under the
      // sticky toolbar (scrolled so conv2's row sits just below it; conv2's channel maps below the
      // table make the page long enough).
      const [, , , , , near] = await webview<[unknown, unknown, unknown, unknown, unknown, ActiveElement[]]>(
        { click: '[data-control="select:conv2"]' },
        { waitFor: '#layer .grid' },
        { focus: '[data-control="rule:conv2"]' },
        { eval: `(() => { const bar = document.querySelector('.toolbar').getBoundingClientRect().bottom;
            const row = document.querySelector('[data-control="rule:conv2"]').getBoundingClientRect().top;
            window.scrollBy(0, row - bar - 4); })()` },
        { wait: 50 },
        { tabUntil: '[data-control="select:conv1"]', key: 'Shift+Tab', max: 10 });
      for (const [what, walk] of [['from the end', stops], ['from just below the toolbar', near]] as const) {
        const hidden = walk.filter((s) => !s.unobscured).map((s) => s.control ?? s.tag);
        console.log(`Shift+Tab ${what}: ${walk.length} stops, ${hidden.length} hidden under the toolbar or off screen ${hidden.join(', ')}`);
        assert.strictEqual(walk.at(-1)?.control, 'select:conv1', `Shift+Tab ${what} ended on ${walk.at(-1)?.control}`);
        for (const s of walk) assertVisibleFocus(s, `Shift+Tab ${what}`);
      }
    });

    it('arrow keys and Enter on the rule picker change the rule; table and heatmap update and focus stays', async () => {
      const api = await lensApi();
      hooks(api).reportPixels(true);
      await startAtDefaults(DEMO_MODEL, digit(7));
      const before = api.current().explanation!;
      await tabToRulePicker('conv2');

      // ArrowDown on the closed picker moves to the next rule at once: "(composite)" -> lrp-0.
      let rendered = nextRender(api, () => api.current().explanation!.spec.rules.conv2 === 'lrp-0');
      const [afterArrow] = await webview<[ActiveElement]>({ press: 'ArrowDown' });
      let r = await rendered;
      if (r.sinceInputMs !== undefined) measure('rule change by keyboard (ArrowDown) -> heatmap, in the page (LeNet)', r.sinceInputMs);
      assert.strictEqual(afterArrow.value, 'lrp-0');
      assert.strictEqual(r.table.find((row) => row[0] === 'conv2')?.[2], 'lrp-0');
      assert.ok(byteDiff(r.rgba, before.heatmap.rgba).count > 0, 'heatmap did not change');

      // Enter opens the list; ArrowDown ×3 walks it without committing; Enter commits once: alpha-beta.
      const runs: number[] = [];
      const sub = api.onDidExplain((e) => runs.push(e.runId));
      rendered = nextRender(api, () => api.current().explanation!.spec.rules.conv2 === 'alpha-beta');
      const [, , , focused] = await webview<[ActiveElement, ActiveElement, ActiveElement, ActiveElement]>(
        { press: 'Enter' }, { press: 'ArrowDown', times: 3, delay: 60 }, { press: 'Enter' }, { wait: 50 }, { active: true });
      r = await rendered;
      sub.dispose();
      if (r.sinceInputMs !== undefined) measure('rule change by keyboard (Enter, arrows, Enter) -> heatmap, in the page (LeNet)', r.sinceInputMs);
      assert.deepStrictEqual(runs.length, 1, `the open list committed ${runs.length} times`);
      assert.match(r.table.find((row) => row[0] === 'conv2')?.[2] ?? '', /^alpha-beta/);
      const ref = await referenceExplain(wsFile(...DEMO_MODEL).fsPath, before.spec.imagePath, { rules: { conv2: 'alpha-beta' } });
      assert.ok(byteDiff(r.rgba, ref.heatmap).max <= 1, 'heatmap after the keyboard change is not the engine\'s');

      // The table was rebuilt under the user's hands: focus must still be on the same picker.
      const [now] = await webview<[ActiveElement]>({ active: true });
      assert.strictEqual(now.control, 'rule:conv2', `focus moved to ${now.control ?? now.tag} after the table updated (was ${focused?.control})`);
      assertVisibleFocus(now, 'after update');

      // Home goes back to "(composite)".
      rendered = nextRender(api, () => api.current().explanation!.spec.rules.conv2 === undefined);
      await webview({ press: 'Home' });
      await rendered;
    });

    it('the focus ring is visible in dark, light and high-contrast themes (screenshots)', async function () {
      this.timeout(60_000);
      await startAtDefaults(DEMO_MODEL, digit(7));
      try {
        for (const [name, theme] of THEMES) {
          await setTheme(theme);
          const stops = await tabToRulePicker('conv2');
          const a = stops.at(-1)!;
          console.log(`${name}: focus ring ${a.outline?.style} ${a.outline?.width} ${a.outline?.color} on ${a.background} (${contrast(a.outline!.color, a.background!).toFixed(1)}:1)`);
          assertVisibleFocus(a, name);
          await screenshot(`keyboard-focus-${name}`);
        }
      } finally {
        await setTheme(undefined);
      }
    });
  });
}
