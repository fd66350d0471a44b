import * as assert from 'assert';
import { PHOTO, byteDiff, hooks, lensApi, nextRender, screenshot, setTheme, showExplanation, sleep, wsFile } from './helpers';
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
  });
}
