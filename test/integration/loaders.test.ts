/**
 * Models in the other formats the engine reads: the same small CNN as Keras 2 .h5, Keras 3 .keras and
 * ONNX (test/fixtures/loaders, made by one PyTorch script) opens in the side panel and explains a photo;
 * an ONNX model with an operator the engine lacks is refused with the operator and node named.
 */
import * as assert from 'assert';
import * as vscode from 'vscode';
import { PHOTO, hooks, lensApi, nextEvent, nextRender, wsFile } from './helpers';

export function defineLoaderTests(): void {
  describe('Keras and ONNX models', () => {
    const top: Record<string, number> = {};
    // the composite's rules are asserted below: every choice at its default; no panel open, so opening
    // a model starts no run of its own on the picture on screen
    before(async () => {
      await hooks(await lensApi()).resetChoices();
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    for (const file of ['cnn.h5', 'cnn.keras', 'cnn.onnx']) {
      it(`${file} opens in the side panel (layers, rules) and explains an image`, async () => {
        const api = await lensApi();
        await vscode.commands.executeCommand('relevanceLens.openModel', wsFile('loaders', file));
        const { models, layers } = await api.views();
        assert.strictEqual(models.find((m) => m.label === `loaders/${file}`)?.description, 'active', JSON.stringify(models.map((m) => m.label)));
        const convs = layers.filter((l) => / · conv2d \[/.test(l.description ?? ''));
        assert.ok(convs.length >= 3, `conv layers: ${layers.map((l) => `${l.label} ${l.description}`).join('; ')}`);
        // epsilon-gamma-box: z^B on the first conv, γ on the others, ε on dense layers.
        assert.match(convs[0].description ?? '', /^z-box/);
        assert.ok(convs.slice(1).some((l) => /^gamma/.test(l.description ?? '')));
        assert.ok(layers.some((l) => /^epsilon\S* · dense /.test(l.description ?? '')), 'no dense layer with ε');
        assert.ok(layers.every((l) => l.contextValue !== undefined));

        const rendered = nextRender(api, () => api.current().explanation?.spec.modelPath === wsFile('loaders', file).fsPath
          && api.current().explanation?.spec.imagePath === wsFile(...PHOTO).fsPath);
        await vscode.commands.executeCommand('relevanceLens.explainImage', wsFile(...PHOTO));
        const r = await rendered;
        assert.deepStrictEqual([r.width, r.height], [16, 16]);
        assert.ok(r.table.length >= convs.length, 'conservation table is short');
        top[file] = r.targetClass;
      });
    }

    it('the three files of one network agree on the explained class', () => {
      assert.strictEqual(Object.keys(top).length, 3, 'a format failed above');
      assert.strictEqual(new Set(Object.values(top)).size, 1, JSON.stringify(top));
    });

    it('an ONNX operator the engine lacks is named with its node, and the active model stays', async () => {
      const api = await lensApi();
      const active = api.current().model?.path;
      const shown = nextEvent(api.onDidShowError, () => true, 30_000, 'an error message');
      await vscode.commands.executeCommand('relevanceLens.openModel', wsFile('loaders', 'broken_unsupported.onnx'));
      const e = await shown;
      console.log(`error shown: ${e.message}`);
      assert.strictEqual(e.user, true);
      assert.match(e.message, /broken_unsupported\.onnx/);
      assert.match(e.message, /Resize/);
      assert.strictEqual(api.current().model?.path, active);
    });
  });
}
