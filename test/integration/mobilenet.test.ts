/**
 * A real, large model: nsfwjs's MobileNetV2 (162 Keras layers, 224×224×3, five classes) with a photo.
 * Times are printed next to the LeNet ones, never asserted. Its runs take seconds, so they must show a
 * notification with Cancel, and Cancel must stop the worker's run, with nothing of it reaching the panel.
 */
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { RenderReport } from '../../src/shared/protocol';
import {
  type ActiveElement, MOBILENET, PHOTO, THEMES, byteDiff, hasDriver, lensApi, measure, nextEvent, nextRender, screenshot, setTheme, sleep, webview, workbench, wsFile,
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
      const convs = layers.filter((l) => /^(conv2d|depthwiseConv2d) /.test(l.description ?? ''));
      console.log(`MobileNetV2: ${layers.length} layers after canonization, ${convs.length} convolutions`);
      assert.ok(convs.length >= 50, `only ${convs.length} conv layers`);
      assert.ok(layers.some((l) => l.label === 'Conv_1'), 'no Conv_1');
    });

    it('explains a photo: command -> heatmap (panel open, then opening), the engine\'s pixels, the card\'s labels', async () => {
      const api = await lensApi();
      // Timed without the test-only pixel report (200,704 numbers sent back through the workbench);
      // the drawn pixels are read from the canvas by the browser driver afterwards.
      api.reportPixels(false);
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

    it('a rule change re-explains (backward pass only) and updates table and heatmap', async () => {
      const api = await lensApi();
      const before = api.current().explanation!;
      assert.match(before.layers.find((l) => l.name === 'Conv_1')?.rule ?? '', /^gamma/);
      const t0 = performance.now();
      const rendered = nextRender(api, () => api.current().explanation!.spec.rules.Conv_1 === 'alpha-beta', 60_000);
      assert.ok(api.drivePanel('rule:Conv_1', 'alpha-beta'));
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
        api.drivePanel('page', 'top');
        await sleep(200);
        await screenshot(`mobilenet-${name}`);
        api.drivePanel('rule:Conv_1', 'scroll');
        await sleep(200);
        await screenshot(`mobilenet-${name}-table`);
      }
      await setTheme(undefined);
    });

    it('a long run shows a notification with Cancel; Cancel stops the worker, nothing of the run is shown, the panel keeps working', async () => {
      const api = await lensApi();
      const shown = api.current().explanation!;
      const seen: { renders: RenderReport[]; explained: number[] } = { renders: [], explained: [] };
      const subs = [api.onDidRender((r) => seen.renders.push(r)), api.onDidExplain((e) => seen.explained.push(e.runId))];
      try {
        const cancelled = nextEvent(api.onDidCancel, () => true, 60_000, 'the run to stop');
        // Integrated Gradients: 64 forward + backward passes of MobileNetV2, about 15 s here.
        api.drivePanel('method', 'integrated-gradients');
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
          api.drivePanel('cancel', ''); // the panel's own Cancel button
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
        api.drivePanel('rule:Conv_1', '');
        const r = await rendered;
        measure('rule change right after a cancel -> heatmap (MobileNetV2)', performance.now() - t1);
        assert.strictEqual(r.method, 'lrp');
        assert.match(r.table.find((row) => row[0] === 'Conv_1')?.[2] ?? '', /composite/);

        if (hasDriver()) {
          // The panel's own Cancel, from the keyboard: Tab from the last prediction, Enter.
          const again = nextEvent(api.onDidCancel, () => true, 60_000, 'the second run to stop');
          api.drivePanel('method', 'integrated-gradients');
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
