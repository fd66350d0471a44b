// The 10,000-image run: writes the Fashion-MNIST test set (Debian dataset-fashion-mnist) as PNGs with a
// list file of their classes, explains all of them with demo/fashion (explain-set, both cores), then runs
// SpRAy on the run. Prints time and peak RSS. Run: npm run fashion-run [-- WORK_DIR] (default /tmp/relevance-lens-fashion)
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PNG } from 'pngjs';
import { readFashion } from './fashionData';

const ROOT = path.resolve(__dirname, '..', '..');
const work = path.resolve(process.argv[2] ?? '/tmp/relevance-lens-fashion');
const images = path.join(work, 'images');
const list = path.join(images, 'list.tsv');
const run = path.join(work, 'run');

if (!fs.existsSync(list)) {
  const t = readFashion('t10k');
  fs.mkdirSync(images, { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < t.count; i++) {
    const png = new PNG({ width: t.cols, height: t.rows });
    png.data = Buffer.from(t.images.subarray(i * t.rows * t.cols, (i + 1) * t.rows * t.cols));
    const name = `test-${String(i).padStart(5, '0')}.png`;
    fs.writeFileSync(path.join(images, name), PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 }));
    lines.push(`${name}\t${t.labels[i]}`);
  }
  fs.writeFileSync(list, lines.join('\n') + '\n');
  console.log(`wrote ${t.count} test images and ${list}`);
}
const cli = path.join(ROOT, 'dist', 'cli.js');
const model = path.join(ROOT, 'demo', 'fashion', 'model.json');
for (const args of [
  ['explain-set', model, list, '--out', run, '--composite', 'epsilon-plus', ...process.argv.slice(3)],
  ['spray', run],
]) {
  const t0 = Date.now();
  console.log(`$ relevance-lens ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  console.log(`(${((Date.now() - t0) / 1000).toFixed(1)} s wall, exit ${r.status})`);
  if (r.status !== 0) process.exit(r.status ?? 1);
}
