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
console.log('\n== relevance-lens explain (LRP epsilon-gamma-box), digit 3 ==');
await run(['explain', model, path.join(root, 'demo', 'digits', 'digit-3.png'), '--png', path.join(outDir, 'digit-3-lrp.png'), '--upscale', '8']);

console.log('\n== all ten digits: heatmaps in demo-out/ ==');
const rows = [];
for (let d = 0; d < 10; d++) {
  const input = path.join(root, 'demo', 'digits', `digit-${d}.png`);
  const json = path.join(outDir, `digit-${d}-lrp.json`);
  await run(['explain', model, input, '--quiet', '--png', path.join(outDir, `digit-${d}-lrp.png`), '--upscale', '8', '--json', json]);
  const r = JSON.parse(fs.readFileSync(json, 'utf8'));
  const worst = Math.max(...r.layers.map((l) => Math.abs(l.ratio - 1)));
  rows.push(`digit ${d}: predicted ${r.prediction[0].label} (p=${r.prediction[0].score.toFixed(3)}), logit ${r.target.logit.toFixed(3)}, `
    + `input relevance ${r.inputRelevanceSum.toFixed(3)}, worst layer |ratio-1| ${worst.toExponential(1)}, ${r.timings.totalMs.toFixed(0)} ms`);
}
console.log(rows.join('\n'));
console.log(`\nheatmaps (red = evidence for, blue = against): ${path.relative(process.cwd(), outDir)}/digit-N-lrp.png`);
