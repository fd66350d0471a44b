import * as assert from 'assert';
import * as fs from 'fs';
import { PHOTO, byteDiff, fitAndShowPatternAttribution, hooks, lensApi, nextRender, screenshot, setTheme, showExplanation, sleep, wsFile } from './helpers';
import { referenceTokens } from './engineReference';

/** A small torchvision VisionTransformer (32×32, 8×8 patches: a 4 × 4 grid) laid out by workspace.mjs. */
export const VIT = ['transformers', 'vit.onnx'];

export function defineTokenTests(): void {
  describe('vision transformer: per-patch-token view', () => {
    it('offers the token map beside the pixel map and draws the engine\'s per-patch relevance', async function () {
      this.timeout(90_000);
      const api = await lensApi();
      hooks(api).reportPixels(true);
      await showExplanation(VIT, PHOTO);
      const ex = api.current().explanation!;
      assert.ok(ex.tokens, 'the explanation of a ViT has no token stage');
      assert.deepStrictEqual(ex.tokens.grid, [4, 4]);

      const tokens = await nextRender(api, (r) => r.view === 'tokens', 20_000, () => hooks(api).drivePanel('heatmap-view', 'tokens'));
      const ref = await referenceTokens(wsFile(...VIT).fsPath, wsFile(...PHOTO).fsPath);
      assert.strictEqual(tokens.width, ref.grid[1]);
      assert.strictEqual(tokens.height, ref.grid[0]);
      const d = byteDiff(tokens.rgba, ref.heatmap);
      assert.ok(d.max <= 1, `drawn token map differs from the engine's: max |Δ| ${d.max} in ${d.count} bytes`);
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < ref.values.length; i++) {
        worst = Math.max(worst, Math.abs(ex.tokens.values[i] - ref.values[i]));
        scale = Math.max(scale, Math.abs(ref.values[i]));
      }
      assert.ok(scale > 0 && worst <= 1e-5 * scale, `per-token relevance differs by ${worst} (max |R| ${scale})`);
      // the class token is shown apart from the patches, with its own figure
      assert.ok(ref.classToken !== undefined && tokens.tokenFigures?.some((f) => f.startsWith('class token')), `figures: ${JSON.stringify(tokens.tokenFigures)}`);
      console.log(`token view: ${tokens.width}×${tokens.height} patches, max |Δ| ${d.max}; ${tokens.tokenFigures?.join(', ')}`);

      await setTheme('Default Dark+');
      hooks(api).drivePanel('page', 'top');
      await sleep(300);
      const shot = await screenshot('panel-dark-tokens');
      console.log(shot ? `screenshot: ${shot}` : 'screenshot skipped (no browser driver)');
      await setTheme(undefined);

      const pixels = await nextRender(api, (r) => r.view === 'pixels', 20_000, () => hooks(api).drivePanel('heatmap-view', 'pixels'));
      assert.strictEqual(pixels.width, ex.heatmap.width, 'back to the pixel map');
    });

    it('fits patterns for the ViT on the workspace photos and shows PatternAttribution over its patch tokens', async function () {
      this.timeout(120_000);
      const api = await lensApi();
      await showExplanation(VIT, PHOTO);
      const r = await fitAndShowPatternAttribution(['images'], '2 photos (ViT, 32×32)');
      try {
        // the patch embedding and every dense layer of the two encoder blocks and the head
        assert.strictEqual(r.layers, 10);
        const ex = r.ex;
        assert.ok(ex.tokens && ex.tokens.values.every(Number.isFinite) && ex.tokens.values.some((v) => v !== 0), 'no per-token map of the signal');
        const tokens = await nextRender(api, (x) => x.view === 'tokens' && x.method === 'pattern-attribution', 20_000, () => hooks(api).drivePanel('heatmap-view', 'tokens'));
        assert.deepStrictEqual([tokens.height, tokens.width], ex.tokens.grid);
        hooks(api).drivePanel('page', 'top');
        await sleep(300);
        const shot = await screenshot('panel-vit-pattern-attribution-tokens');
        console.log(shot ? `screenshot: ${shot}` : 'screenshot skipped (no browser driver)');
        await nextRender(api, (x) => x.view === 'pixels', 20_000, () => hooks(api).drivePanel('heatmap-view', 'pixels'));
        const back = nextRender(api, (x) => x.method === 'lrp');
        hooks(api).drivePanel('method', 'lrp');
        await back;
      } finally {
        fs.rmSync(r.outPath, { force: true });
      }
    });
  });
}
