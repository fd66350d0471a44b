// The README's main job: explain real MNIST digits with the bundled LeNet-5, write heatmap PNGs,
// print the conservation table. Runs the built CLI (dist/cli.js) in-process.
import { createRequire } from 'module';
import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';

const require = createRequire(import.meta.url);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { main } = require(path.join(root, 'dist', 'cli.js'));
const model = path.join(root, 'demo', 'lenet', 'model.json');
const outDir = path.join(root, 'demo-out');
fs.mkdirSync(outDir, { recursive: true });

const run = async (args) => {
  const code = await main(args);
  if (code !== 0) process.exit(code);
};

console.log('== relevance-lens info ==');
await run(['info', model]);
console.log('\n== relevance-lens explain (LRP, the model\'s default composite), digit 3 ==');
await run(['explain', model, path.join(root, 'demo', 'digits', 'digit-3.png'), '--png', path.join(outDir, 'digit-3-lrp.png')]);

console.log('\n== all ten digits: heatmaps in demo-out/ ==');
const rows = [];
for (let d = 0; d < 10; d++) {
  const input = path.join(root, 'demo', 'digits', `digit-${d}.png`);
  const json = path.join(outDir, `digit-${d}-lrp.json`);
  await run(['explain', model, input, '--quiet', '--png', path.join(outDir, `digit-${d}-lrp.png`), '--json', json]);
  const r = JSON.parse(fs.readFileSync(json, 'utf8'));
  // logit − input relevance is what the bias and stabilizer terms took (negative: biases gave some back)
  const bias = r.layers.reduce((a, l) => a + (l.biasLeak ?? 0), 0);
  const kept = (100 * r.inputRelevanceSum) / r.target.logit;
  rows.push(`digit ${d}: predicted ${r.prediction[0].label} (${(100 * r.prediction[0].score).toFixed(2)} %), logit ${r.target.logit.toFixed(3)}, `
    + `input relevance ${r.inputRelevanceSum.toFixed(3)} (${kept.toFixed(0)} % of the logit; bias terms took ${bias.toFixed(3)}), ${r.timings.totalMs.toFixed(0)} ms`);
}
console.log(rows.join('\n'));
console.log(`
Reading the numbers: LRP starts from the logit. Under ${JSON.parse(fs.readFileSync(path.join(outDir, 'digit-0-lrp.json'), 'utf8')).composite} every layer's bias
takes its share (the table's 'bias share' column) and the ε stabilizers a tiny one, so the input relevance is
the logit minus those shares: below 100 % when positive biases absorbed relevance, above 100 % when negative
biases gave some back. '--composite epsilon-gamma-box-nobias' leaves biases out and keeps 100 %.`);
console.log(`\nheatmaps (red = evidence for, blue = against), 224×224: ${path.relative(process.cwd(), outDir)}/digit-N-lrp.png`);
