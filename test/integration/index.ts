/**
 * Entry point VS Code loads as extensionTestsPath: runs the mocha suites inside the extension host,
 * in order (they share one window: the model opened by one spec is used by the next).
 * The spec modules export `define()` functions rather than calling describe() at import time, because
 * the bundle evaluates imports before mocha has installed its globals.
 */
import Mocha from 'mocha';
import { defineActivationTests } from './activation.test';
import { defineSidePanelTests } from './sidePanel.test';
import { defineExplainTests } from './explain.test';
import { defineRuleTests } from './rules.test';
import { defineErrorTests } from './errors.test';
import { defineExportTests } from './export.test';
import { defineMethodTests } from './methods.test';
import { definePanelTests } from './panel.test';
import { writeMeasurements } from './helpers';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: 'spec', bail: false });
  mocha.suite.emit('pre-require', globalThis, 'suite.js', mocha);
  defineActivationTests();
  defineSidePanelTests();
  defineExplainTests();
  defineRuleTests();
  defineErrorTests();
  defineExportTests();
  defineMethodTests();
  definePanelTests();
  return new Promise((resolve, reject) => {
    mocha.run((failures) => {
      writeMeasurements();
      const total = mocha.suite.total();
      // The plain closing line CI reads ("N passed, N failed").
      console.log(`${total - failures} passed, ${failures} failed`);
      if (failures) reject(new Error(`${failures} integration test(s) failed`));
      else resolve();
    });
  });
}
