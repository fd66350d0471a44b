/**
 * A short seeded fuzz run (the long one is `npm run fuzz`): mutated copies of one real file per format
 * (TF.js layers + graph, .h5, .keras, .onnx, PNG, JPEG, BMP, .npy) each end in a result or a one-line
 * LensError, in a child process with a per-case time limit and a heap ceiling.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatReport, runFuzz } from '../../scripts/fuzz/run';

test('fuzz (short seeded run): no crash, no hang, bounded memory', { timeout: 170_000 }, async () => {
  const r = await runFuzz({ cases: 720, seed: 20261206, timeoutMs: 15_000, maxRss: 1024 * 1024 * 1024, log: (l) => console.log(l) });
  console.log(formatReport(r));
  assert.equal(r.total.cases, 720);
  assert.deepEqual(r.failures.map((f) => `${f.format} #${f.index} ${f.how}: ${f.outcome} ${f.message.split('\n')[0]}`), []);
  assert.equal(r.total.crash + r.total.hang + r.total.memory, 0);
  // every format produced both outcomes or at least ran: the mutations reach the parsers
  for (const [f, c] of r.byFormat) assert.equal(c.cases, 80, f);
  assert.ok(r.total.ok > 80 && r.total.lensError > 80, `results ${r.total.ok}, LensErrors ${r.total.lensError}`);
  // the child's live tensors do not grow with the cases (the first explanation's kernel cache aside)
  assert.ok(r.tensorsEnd - r.tensorsStart <= 40, `tensors ${r.tensorsStart} -> ${r.tensorsEnd}`);
});
