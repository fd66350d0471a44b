/**
 * A real, large model: nsfwjs's MobileNetV2 (162 Keras layers, 224×224×3, five classes) with a photo.
 * Times are printed next to the LeNet ones, never asserted. Its runs take seconds, so they must show a
 * notification with Cancel, and Cancel must stop the worker's run, with nothing of it reaching the panel.
 */
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { RenderReport } from '../../src/shared/protocol';
import {
  MOBILENET, PHOTO, THEMES, byteDiff, hasDriver, hooks, lensApi, measure, nextEvent, nextRender, screenshot, setTheme, sleep, startAtDefaults, webview, workbench, wsFile, type ActiveElement,
} from './helpers';
import { referenceExplain } from './engineReference';

/** The main heatmap canvas's pixels, as the page holds them. */
const DRAWN_PIXELS = `(() => {
  const c = document.querySelector('figure.heatmap canvas.layer-heat');
  return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
})()`;

/** scikit-image's coffee.png (CC0); chelsea.png (PHOTO) is on screen from the loader specs. */
const PHOTO_2 = ['images', 'coffee.png'];

/** nsfwjs's class order (dist/cjs/nsfw_classes.js), which the model card must follow. */
const NSFW_LABELS = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];
/** Integrated Gradients steps for the cancel spec: a run of minutes, cancelled long before it ends. */
const LONG_RUN_STEPS = 2048;

export function defineMobileNetTests(): void {
  describe('MobileNetV2 (nsfwjs 4.3.0)', function () {
    this.timeout(90_000);

    it('opens with its model card: 224×224×3 input, nsfwjs\'s five labels, its layers in the side panel', async () => {
      const api = await lensApi();
      const t0 = performance.now();
      await vscode.commands.executeCommand('relevanceLens.openModel', wsFile(...MOBILENET));
      measure('open model (load + canonize + prepare), MobileNetV2', performance.now() - t0);
      // With the panel open, the picture on screen follows the new model (a run of its own): let it end.
      for (let i = 0; i < 600 && api.current().busy; i++) await sleep(50);
      const model = api.current().model!;
      assert.strictEqual(model.path, wsFile(...MOBILENET).fsPath);
      assert.deepStrictEqual(model.labels, NSFW_LABELS);
      assert.deepStrictEqual(model.inputShape.slice(-3), [224, 224, 3]);
      const { layers } = await api.views();
      // the description starts with the rule (the end of a long description is cut off in a narrow side bar)
      const convs = layers.filter((l) => / · (conv2d|depthwiseConv2d) \[/.test(l.description ?? ''));
      assert.match(layers.find((l) => l.label === 'Conv_1')?.description ?? '', /^gamma:0\.25,nobias · conv2d \[/);
      console.log(`MobileNetV2: ${layers.length} layers after canonization, ${convs.length} convolutions`);
      assert.ok(convs.length >= 50, `only ${convs.length} conv layers`);
      assert.ok(layers.some((l) => l.label === 'Conv_1'), 'no Conv_1');
    });

    it('explains a photo: command -> heatmap (panel open, then opening), the engine\'s pixels, the card\'s labels', async () => {
      const api = await lensApi();
      await startAtDefaults(MOBILENET, PHOTO);
      // Timed without the test-only pixel report (200,704 numbers sent back through the workbench);
      // the drawn pixels are read from the canvas by the browser driver afterwards.
      hooks(api).reportPixels(false);
      // Another photo than the one on screen (chelsea.png, from the loader specs), in the open panel.
      const image = wsFile(...PHOTO_2);
      let t0 = performance.now();
      await nextRender(api, () => api.current().explanation?.spec.imagePath === image.fsPath, 60_000,
        () => vscode.commands.executeCommand('relevanceLens.explainImage', image));
      measure('command -> heatmap drawn, panel open (MobileNetV2, model loaded)', performance.now() - t0);
      const ex = api.current().explanation!;
      measure('engine: forward + LRP backward (MobileNetV2, worker)', ex.timings.totalMs ?? NaN);
      console.log(`MobileNetV2 on ${PHOTO_2.join('/')}: ${ex.prediction.map((p) => `${p.label} ${p.score.toFixed(3)}`).join(', ')}`);
      assert.ok(ex.prediction.every((p) => p.label === NSFW_LABELS[p.class]), 'labels not from the card');
      assert.strictEqual(ex.target.label, NSFW_LABELS[ex.target.class]);

      const ref = await referenceExplain(wsFile(...MOBILENET).fsPath, image.fsPath);
      assert.strictEqual(ex.target.class, ref.targetClass);
      const drawn = hasDriver()
        ? (await webview<[number[]]>({ eval: DRAWN_PIXELS }))[0]
        : Array.from(ex.heatmap.rgba); // no browser to read the canvas: what the host sent to it
      const d = byteDiff(drawn, ref.heatmap);
      console.log(`${hasDriver() ? 'drawn' : 'sent'} vs engine heatmap (MobileNetV2): max |Δ| ${d.max} over ${drawn.length} bytes (${d.count} differ)`);
      assert.ok(d.max <= 1, `the panel's heatmap differs from the engine's: max |Δ| ${d.max}`);

      // As for the LeNet figure, from a closed panel: the time includes creating the page.
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      const photo = wsFile(...PHOTO);
      t0 = performance.now();
      const r = await nextRender(api, () => api.current().explanation?.spec.imagePath === photo.fsPath, 60_000,
        () => vscode.commands.executeCommand('relevanceLens.explainImage', photo));
      measure('command -> first heatmap drawn, panel opening (MobileNetV2, model loaded)', performance.now() - t0);
      assert.strictEqual(r.width, 224);
    });

    it('the cat photo: the default keeps most of the logit; below 10 % the panel offers the bias-free switch; table tools; shared-scale channel maps (screenshots, three themes)', async function () {
      this.timeout(240_000);
      const api = await lensApi();
      const kept = (e = api.current().explanation!) => e.inputRelevanceSum / e.target.logit;
      await startAtDefaults(MOBILENET, PHOTO);
      let ex = api.current().explanation!;
      assert.strictEqual(ex.spec.composite, 'auto');
      assert.strictEqual(ex.composite, 'epsilon-gamma-box-dw-wsquare-nobias');
      console.log(`MobileNetV2 on chelsea.png, default composite ${ex.composite}: input relevance ${(100 * kept()).toFixed(1)} % of the logit`);
      assert.ok(kept() >= 0.5, `the default keeps ${kept()}`);
      const dom = async (js: string) => (hasDriver() ? (await webview<[unknown]>({ eval: js }))[0] : undefined);
      if (hasDriver()) {
        const shown = await dom(`document.querySelector('[data-testid="composite-used"]')?.textContent ?? ''`) as string;
        assert.match(shown, /epsilon-gamma-box-dw-wsquare-nobias \(auto: the model’s default: 52 BatchNorm layers folded/);
        assert.strictEqual(await dom(`!!document.querySelector('[data-testid="low-kept"]')`), false);
      }
      await vscode.commands.executeCommand('notifications.clearAll');
      for (const [name, theme] of THEMES) {
        await setTheme(theme);
        hooks(api).drivePanel('page', 'top');
        await sleep(300);
        if (hasDriver()) await screenshot(`trust-cat-default-${name}`);
      }
      // with biases kept: < 10 % at the input, the one-line notice and its one-click switch
      await setTheme(THEMES[0][1]);
      await nextRender(api, (r) => r.method === 'lrp' && api.current().explanation?.composite === 'epsilon-gamma-box', 60_000,
        () => hooks(api).drivePanel('composite', 'epsilon-gamma-box'));
      console.log(`  epsilon-gamma-box: ${(100 * kept()).toFixed(2)} % of the logit`);
      assert.ok(Math.abs(kept()) < 0.1);
      if (hasDriver()) {
        const notice = await dom(`document.querySelector('[data-testid="low-kept"]')?.textContent ?? ''`) as string;
        assert.match(notice, /^Only 0\.\d+ % of the logit reaches the input.*Use epsilon-gamma-box-dw-wsquare-nobias$/);
        hooks(api).drivePanel('page', 'top');
        await sleep(300);
        if (hasDriver()) await screenshot('trust-cat-biases-kept-dark');
      }
      await nextRender(api, () => api.current().explanation?.composite === 'epsilon-gamma-box-dw-wsquare-nobias', 60_000,
        () => hooks(api).drivePanel('use-bias-free', 'click'));
      ex = api.current().explanation!;
      assert.ok(kept(ex) >= 0.5);
      // the table: counts, jump to the worst row, only the leaking rows
      if (hasDriver()) {
        const counts = await dom(`document.querySelector('[data-testid="table-counts"]')?.textContent ?? ''`) as string;
        assert.match(counts, new RegExp(`^${ex.layers.length} rows, \\d+ out of balance · worst: `));
        hooks(api).drivePanel('jump-worst', 'click');
        await sleep(300);
        const flashed = await dom(`document.querySelector('table.conservation tr.flash')?.dataset.layer ?? ''`) as string;
        const worst = ex.layers.reduce((a, b) => (Math.abs(b.ratio - 1) > Math.abs(a.ratio - 1) ? b : a));
        assert.strictEqual(flashed, worst.name);
        for (const [name, theme] of THEMES) {
          await setTheme(theme);
          await sleep(300);
          await screenshot(`trust-cat-table-${name}`);
        }
        await setTheme(THEMES[0][1]);
        hooks(api).drivePanel('only-leaking', 'true');
        await sleep(500);
        const rows = await dom(`document.querySelectorAll('table.conservation tbody tr').length`) as number;
        const leaking = ex.layers.filter((l) => Math.abs(l.ratio - 1) > 0.05 || !Number.isFinite(l.ratio)).length;
        assert.strictEqual(rows, leaking);
        await screenshot('trust-cat-table-only-leaking-dark');
        hooks(api).drivePanel('only-leaking', 'false');
        await sleep(300);
      }
      // channel maps: one scale, a colour bar, Σ per map, transparent where R = 0
      await vscode.commands.executeCommand('relevanceLens.showLayerMaps', 'block_16_project');
      await sleep(1500);
      if (hasDriver()) {
        const info = await dom(`(() => {
          const bars = document.querySelectorAll('#layer [data-testid="colour-bar"]').length;
          const caps = [...document.querySelectorAll('#layer figcaption')].map((f) => f.textContent);
          const c = [...document.querySelectorAll('#layer canvas.layer-heat')].pop();
          const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let clear = 0; for (let i = 3; i < px.length; i += 4) if (px[i] < 32) clear++;
          return { bars, caps, clearShare: clear / (px.length / 4) };
        })()`) as { bars: number; caps: string[]; clearShare: number };
        assert.strictEqual(info.bars, 1, 'one shared colour bar');
        assert.ok(info.caps.length > 1 && info.caps.every((c) => /Σ /.test(c)), JSON.stringify(info.caps.slice(0, 3)));
        assert.ok(info.clearShare > 0.5, `the weakest map is mostly transparent (${info.clearShare})`);
        for (const [name, theme] of THEMES) {
          await setTheme(theme);
          hooks(api).drivePanel('section:layer', 'scroll');
          await sleep(300);
          await screenshot(`trust-cat-layer-maps-${name}`);
        }
      }
      await setTheme(undefined);
      await nextRender(api, () => api.current().explanation?.spec.composite === 'auto', 60_000, () => hooks(api).drivePanel('composite', 'auto'));
    });

    it('a rule change re-explains (backward pass only) and updates table and heatmap', async () => {
      const api = await lensApi();
      await startAtDefaults(MOBILENET, PHOTO);
      const before = api.current().explanation!;
      assert.match(before.layers.find((l) => l.name === 'Conv_1')?.rule ?? '', /^gamma/);
      const t0 = performance.now();
      const rendered = nextRender(api, () => api.current().explanation!.spec.rules.Conv_1 === 'alpha-beta', 60_000);
      assert.ok(hooks(api).drivePanel('rule:Conv_1', 'alpha-beta'));
      const r = await rendered;
      measure('rule change -> updated heatmap drawn, test-side round trip (MobileNetV2)', performance.now() - t0);
      if (r.sinceInputMs !== undefined) measure('rule change -> updated heatmap drawn, in the page: input event to pixels (MobileNetV2)', r.sinceInputMs);
      const after = api.current().explanation!;
      measure('engine: LRP backward after a rule change (MobileNetV2, worker)', after.timings.totalMs ?? NaN);
      assert.match(r.table.find((row) => row[0] === 'Conv_1')?.[2] ?? '', /^alpha-beta/);
      assert.ok(byteDiff(after.heatmap.rgba, before.heatmap.rgba).count > 0, 'heatmap did not change');
      await vscode.commands.executeCommand('notifications.clearAll');
      for (const [name, theme] of THEMES.slice(0, 2)) {
        await setTheme(theme);
        hooks(api).drivePanel('page', 'top');
        await sleep(200);
        if (hasDriver()) await screenshot(`mobilenet-${name}`);
        hooks(api).drivePanel('rule:Conv_1', 'scroll');
        await sleep(200);
        if (hasDriver()) await screenshot(`mobilenet-${name}-table`);
      }
      await setTheme(undefined);
    });

    it('a long run shows a notification with Cancel; Cancel stops the worker, nothing of the run is shown, the panel keeps working', async () => {
      const api = await lensApi();
      await startAtDefaults(MOBILENET, PHOTO);
      const shown = api.current().explanation!;
      const seen: { renders: RenderReport[]; explained: number[] } = { renders: [], explained: [] };
      const subs = [api.onDidRender((r) => seen.renders.push(r)), api.onDidExplain((e) => seen.explained.push(e.runId))];
      try {
        const cancelled = nextEvent(api.onDidCancel, () => true, 60_000, 'the run to stop');
        // Integrated Gradients with 2,048 steps: minutes on either backend, so the toast and the click land while
        // it runs however starved of CPU the page is (64 steps took 9.8 s on onnx, and once the click came after it)
        hooks(api).setMethodParams({ steps: LONG_RUN_STEPS });
        hooks(api).drivePanel('method', 'integrated-gradients');
        let t0: number;
        if (hasDriver()) {
          // The user's way: the progress notification's Cancel button (shown after 0.8 s).
          const toast = '.notifications-toasts .notification-list-item:has-text("Relevance Lens: explaining chelsea.png")';
          await workbench({ waitFor: toast, timeout: 15_000 });
          t0 = performance.now();
          await workbench({ click: `${toast} .monaco-button:has-text("Cancel")` });
        } else {
          await sleep(1500);
          t0 = performance.now();
          hooks(api).drivePanel('cancel', ''); // the panel's own Cancel button
        }
        const c = await cancelled;
        measure('Cancel pressed -> worker run stopped (MobileNetV2, Integrated Gradients)', performance.now() - t0);
        console.log(`cancelled run ${c.runId}: ${c.how} after ${c.stoppedMs.toFixed(0)} ms; choices reverted: ${c.reverted}`);
        assert.strictEqual(c.how, 'stopped', 'the engine did not stop by itself (the worker had to be terminated, or the run finished)');
        assert.strictEqual(c.reverted, true, 'the pickers were not put back to the explanation on screen');

        await sleep(1000); // a late result would arrive now
        assert.ok(!seen.explained.includes(c.runId), 'the cancelled run produced an explanation');
        assert.ok(!seen.renders.some((r) => r.runId === c.runId || r.method === 'integrated-gradients'), 'the panel drew the cancelled run');
        assert.strictEqual(api.current().explanation, shown, 'the explanation on screen changed');
        assert.strictEqual(api.current().busy, false);
        if (hasDriver()) {
          const [toasts, method] = await Promise.all([
            workbench<[string[]]>({ eval: "[...document.querySelectorAll('.notifications-toasts .notification-list-item')].map((e) => e.textContent)" }),
            webview<[string]>({ eval: "document.querySelector('[data-control=\"method\"]').value" }),
          ]);
          assert.ok(!toasts[0].some((t) => /explaining/.test(t)), `progress notification still shown: ${toasts[0].join(' | ')}`);
          assert.strictEqual(method[0], 'lrp', 'the method picker does not show the method of the heatmap on screen');
        }

        // The panel keeps working: the next change runs at once (the worker is free) and is drawn.
        const t1 = performance.now();
        const rendered = nextRender(api, () => api.current().explanation!.spec.rules.Conv_1 === undefined, 60_000);
        hooks(api).drivePanel('rule:Conv_1', '');
        const r = await rendered;
        measure('rule change right after a cancel -> heatmap (MobileNetV2)', performance.now() - t1);
        assert.strictEqual(r.method, 'lrp');
        assert.match(r.table.find((row) => row[0] === 'Conv_1')?.[2] ?? '', /composite/);

        if (hasDriver()) {
          // The panel's own Cancel, from the keyboard: Tab from the last prediction, Enter.
          const again = nextEvent(api.onDidCancel, () => true, 60_000, 'the second run to stop');
          hooks(api).setMethodParams({ steps: LONG_RUN_STEPS }); // the cancel put the parameters back
          hooks(api).drivePanel('method', 'integrated-gradients');
          const lastPrediction = shown.prediction.at(-1)!.class;
          const [, , onCancel] = await webview<[unknown, unknown, ActiveElement]>(
            { waitFor: '[data-control="cancel"]' }, { focus: `[data-control="prediction:${lastPrediction}"]` }, { press: 'Tab' });
          assert.strictEqual(onCancel.control, 'cancel', `Tab from the predictions went to ${onCancel.control ?? onCancel.tag}`);
          await webview({ press: 'Enter' });
          const c2 = await again;
          assert.strictEqual(c2.how, 'stopped');
          assert.ok(!seen.explained.includes(c2.runId));
          // The button is gone with the run; focus stays in the same region, on a visible control.
          const [, after] = await webview<[unknown, ActiveElement]>({ wait: 200 }, { active: true });
          console.log(`after the panel's Cancel, focus is on ${after.control ?? after.tag}`);
          assert.ok(after.control?.startsWith('prediction:'), `focus fell to ${after.control ?? after.tag}`);
        }
      } finally {
        subs.forEach((s) => s.dispose());
      }
    });
  });
}
