import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { DEMO_MODEL, digit, lensApi, outDir, startAtDefaults } from './helpers';
import { readNpy } from '../../src/core/io/npy';
import { readImageFile } from '../../src/core/image/decode';

export function defineExportTests(): void {
  describe('export', () => {
    const dir = () => path.join(outDir(), 'exports');
    before(() => startAtDefaults(DEMO_MODEL, digit(7)));

    it('writes the heatmap as PNG, the input relevance as .npy and the result as JSON', async () => {
      const api = await lensApi();
      fs.rmSync(dir(), { recursive: true, force: true });
      fs.mkdirSync(dir(), { recursive: true });
      const ex = api.current().explanation!;
      for (const kind of ['png', 'heatmap-png', 'npy', 'json']) {
        await vscode.commands.executeCommand('relevanceLens.exportHeatmap', kind, path.join(dir(), kind === 'heatmap-png' ? 'heatmap-only.png' : `heatmap.${kind}`));
      }
      const png = fs.readFileSync(path.join(dir(), 'heatmap.png'));
      assert.deepStrictEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
      // both PNGs at the image's own resolution (a small one enlarged by an integer factor to ≥ 224 px)
      const photo = readImageFile(ex.spec.imagePath);
      const side = Math.max(photo.width, photo.height);
      const k = side < 224 ? Math.ceil(224 / side) : 1;
      for (const f of ['heatmap.png', 'heatmap-only.png']) {
        const img = readImageFile(path.join(dir(), f));
        assert.deepStrictEqual([img.width, img.height], [photo.width * k, photo.height * k], f);
      }
      const npy = readNpy(fs.readFileSync(path.join(dir(), 'heatmap.npy')), 'heatmap.npy');
      assert.deepStrictEqual(npy.shape, ex.relevance.shape);
      assert.deepStrictEqual(Array.from(npy.data), Array.from(ex.relevance.data));
      const json = JSON.parse(fs.readFileSync(path.join(dir(), 'heatmap.json'), 'utf8'));
      assert.strictEqual(json.method, ex.spec.method);
      assert.strictEqual(json.target.class, ex.target.class);
      assert.strictEqual(json.layers.length, ex.layers.length);
      assert.strictEqual(json.prediction.length, 5);
      assert.deepStrictEqual(fs.readdirSync(dir()).sort(), ['heatmap-only.png', 'heatmap.json', 'heatmap.npy', 'heatmap.png'], 'no temp files left behind');
    });
  });
}
