/**
 * The conservation table's closed form: for every row, what a rule does not pass on (out − in) is
 * exactly the bias share plus the stabilizer share it reports, for every composite, on the demo model.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/core/engine/backend';
import { openModel, readInput } from '../../src/core/pipeline';
import { Explainer } from '../../src/core/methods/explain';
import { COMPOSITE_NAMES } from '../../src/core/composites/presets';
import { DEMO_DIGIT, DEMO_MODEL } from './helpers/cli';

test('out − in = bias share + stabilizer share on every row, every composite', async () => {
  await initBackend('cpu');
  const m = await openModel(DEMO_MODEL);
  const e = new Explainer(m.graph);
  const input = readInput(DEMO_DIGIT(4), m).input;
  let rowsWithLeak = 0;
  for (const composite of COMPOSITE_NAMES) {
    for (const epsilon of [1e-6, 0.25]) {
      const r = e.explain(input, { method: 'lrp', composite, conservationDetail: true, params: { epsilon, low: 0, high: 1 } });
      for (const l of r.layers) {
        if (l.biasLeak === undefined) continue;
        rowsWithLeak++;
        const absorbed = l.outputRelevanceSum - l.inputRelevanceSum;
        const predicted = l.biasLeak + (l.stabilizerLeak ?? 0);
        assert.ok(Math.abs(absorbed - predicted) <= 2e-5 * Math.abs(l.outputRelevanceSum) + 1e-6,
          `${composite} ε=${epsilon} ${l.name} (${l.rule}): absorbed ${absorbed}, closed form ${predicted}`);
      }
      // rules without a bias term report no bias share
      for (const l of r.layers.filter((x) => /^(flat|w-square|z-box|z-plus:nobias)/.test(x.rule))) assert.equal(l.biasLeak, 0);
    }
  }
  assert.ok(rowsWithLeak >= COMPOSITE_NAMES.length * 2 * 5, `leak rows: ${rowsWithLeak}`);
  // a large ε absorbs visibly: the epsilon composite's dense rows show a positive ε share
  const big = e.explain(input, { method: 'lrp', composite: 'epsilon', conservationDetail: true, params: { epsilon: 1 } });
  assert.ok(big.layers.some((l) => (l.stabilizerLeak ?? 0) > 1e-2), 'ε = 1 absorbs relevance');
  e.dispose();
});
