import * as assert from 'assert';
import * as vscode from 'vscode';
import { DEMO_MODEL, lensApi, measure, wsFile } from './helpers';

export function defineSidePanelTests(): void {
  describe('side panel', () => {
    it('lists the workspace models', async () => {
      const api = await lensApi();
      await vscode.commands.executeCommand('workbench.view.extension.relevanceLens');
      const { models } = await api.views();
      const labels = models.map((m) => m.label);
      assert.ok(labels.some((l) => l.endsWith('lenet/model.json')), `models: ${labels.join(', ')}`);
      assert.ok(labels.some((l) => l.endsWith('bad-model/model.json')), `models: ${labels.join(', ')}`);
    });

    it('opening the demo model (Explorer right-click command) lists its layers with op, shape, params and rule', async () => {
      const api = await lensApi();
      const t0 = performance.now();
      await vscode.commands.executeCommand('relevanceLens.openModel', wsFile(...DEMO_MODEL));
      measure('open model (worker start + backend + load), LeNet', performance.now() - t0);
      const startup = api.engineStartupMs();
      if (startup !== undefined) measure('engine worker startup (backend init)', startup);
      const { layers, models } = await api.views();
      const names = layers.map((l) => l.label);
      for (const n of ['conv1', 'conv2', 'fc1', 'fc2', 'fc3']) assert.ok(names.includes(n), `layer ${n} missing in ${names.join(', ')}`);
      const conv1 = layers.find((l) => l.label === 'conv1')!;
      // the rule first: a narrow side bar cuts the end of the description, never the rule
      assert.match(conv1.description ?? '', /^z-box:0,1 · conv2d \[28×28×\d+\] · \d+ params/);
      assert.strictEqual(conv1.contextValue, 'layer.ruleable');
      const fc3 = layers.find((l) => l.label === 'fc3')!;
      assert.match(fc3.description ?? '', /^epsilon:0\.000001 · dense \[10\] · 850 params/);
      assert.ok(layers.some((l) => l.contextValue === 'layer'), 'pass-through layers have no rule menu');
      assert.strictEqual(models.find((m) => m.label.endsWith('lenet/model.json'))?.description, 'active');
    });
  });
}
