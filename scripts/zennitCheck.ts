/**
 * `npm run zennit-check`: the engine against Zennit on real torchvision nets (random weights, seeded, see
 * scripts/models/export_torchvision.py). Per net × composite it runs the CLI (`explain … --npy --json`),
 * reads Zennit's relevance from scripts/fixtures/zennit_reference.py and prints the max relative
 * difference max|ours − zennit| / max|zennit|, the input-sum and worst per-layer-sum differences (as a
 * fraction of the explained logit), both times, and Zennit's own time per explanation (1 and 2 threads).
 *
 *   ZENNIT_SRC=DIR npm run zennit-check -- [--models resnet18,resnet50,vgg16,alexnet] [--composites a,b | --all]
 *       [--tol 1e-3] [--timing] [--reuse]
 *
 * Default: every composite Zennit has a counterpart for, except the pairs of KNOWN_APART (listed at the end of
 * the output with the reason), so that the default run passes and can run in CI.
 *
 * ZENNIT_SRC: a checkout of github.com/chr5tphr/zennit (tag 0.5.1). Models: $RELEVANCE_LENS_ZOO or
 * ~/.cache/relevance-lens/zoo (exported when missing); Zennit's and our outputs: $ZENNIT_OUT or
 * ~/.cache/relevance-lens/zennit (Zennit's are kept between runs; ours too with --reuse).
 * Exit 1 when a class differs, the 99th percentile of |ours − zennit| / max|zennit| exceeds --tol (default
 * 1e-4), or the input sum or a layer's sum differs by more than tol·|f_c|. Not the max: on real nets a few
 * pixels legitimately differ. Max pooling routes relevance to the window's winner, and a window whose two
 * largest inputs differ by a few float32 ulps can pick the other winner in either implementation (ResNet-18:
 * 7 such windows, the 68 input pixels under one of them differ by up to 7.4e-3 of max|R|, every other pixel
 * by < 2e-6); on ResNet-50 a few ill-conditioned pixels differ by 4e-4 (Zennit in float32 vs Zennit in float64
 * there: 1.7e-4). A rule change moves the bulk: γ = 0.26 for 0.25 on ResNet-18 gives p99 1.4e-3, sum 2.9e-3.
 * lrp-0 and epsilon (ε = 1e-6, i.e. LRP-0) are ill-conditioned in float32 on deep nets: on ResNet-50 Zennit
 * in float32 is itself 1.1e-4 (p99) from Zennit in float64, the engine 2.1e-4; they get 10 × tol.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { readNpy } from '../src/core/io/npy';
import { COMPOSITE_NAMES, NO_BIAS } from '../src/core/composites/presets';
import { GAMMA_NOBIAS, maxRelDiff, moduleName, NOT_IN_ZENNIT, quantileRelDiff, WEIGHTED_OPS, type ZennitComposite } from '../test/unit/helpers/zennit';

const ROOT = path.resolve(__dirname, '..', '..'); // from out/scripts/
const PY = '/usr/bin/python3';

interface ZennitSummary {
  zennit: string;
  maxPoolNearTies?: number;
  composites: Record<string, ZennitComposite>;
  timing?: { loadavg: number } & Record<string, { median_s: number; cpu_median_s?: number }>;
}
interface OurJson {
  target: { class: number; logit: number };
  inputRelevanceSum: number;
  layers: { name: string; op: string; outputRelevanceSum: number }[];
  timings: { totalMs: number };
}

/** The composites Zennit has a counterpart for (scripts/fixtures/zennit_reference.py's COMPOSITES). */
const ZENNIT_COMPOSITES = COMPOSITE_NAMES.filter((c) => !NOT_IN_ZENNIT.test(c));

/**
 * Pairs the default run leaves out, because they are known to differ from Zennit for a reason that is not a
 * fault (measured 2026-12-06; ask for them with --composites, or all with --all):
 */
const KNOWN_APART: { nets: RegExp; composites: (c: string) => boolean; why: string }[] = [
  {
    nets: /^(?!vgg16$)/, composites: (c) => GAMMA_NOBIAS.has(c),
    why: 'bias-free γ picks its branch by z without bias, Zennit by the output with bias (test/unit/helpers/zennit.ts '
      + 'GAMMA_NOBIAS); ResNet-18/50 layer sums 8e-3 / 3e-2 of f_c apart. VGG16\'s biases are 0, so it is compared',
  },
  {
    nets: /^alexnet$/, composites: (c) => c.endsWith(NO_BIAS) && !GAMMA_NOBIAS.has(c) && !/^(alpha-beta|z-plus)/.test(c),
    why: 'bias-free ε on AlexNet\'s dense layers divides by z ≈ 1e-6 of its terms (README "Float32 floor of a row"): '
      + 'Zennit in float32 is itself 2.4e-3 (p99) from Zennit in float64 on epsilon-plus-nobias, the engine 5.1e-4',
  },
  {
    nets: /^vgg16$/, composites: (c) => /-flat(-nobias)?$/.test(c),
    why: 'VGG16 *-flat: p99 1.0e-4 – 1.1e-4, one max-pool winner flipped between near-tied inputs (44 such windows): '
      + 'the differing pixels lie in one 72 × 72 receptive field, Zennit float32 is within 4e-6 of float64 elsewhere',
  },
];

function run(cmd: string, args: string[]): void {
  // the CLI's own report is not wanted here, its errors are
  const r = spawnSync(cmd, args, { stdio: cmd === PY ? 'inherit' : ['ignore', 'ignore', 'inherit'], cwd: ROOT });
  if (r.status !== 0) {
    console.error(`zennit-check: ${path.basename(args[0] ?? cmd)} failed (exit ${r.status})`);
    process.exit(r.status === 2 ? 2 : 1);
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      models: { type: 'string', default: 'resnet18,resnet50,vgg16,alexnet' },
      composites: { type: 'string' },
      all: { type: 'boolean', default: false },
      tol: { type: 'string', default: '1e-4' },
      timing: { type: 'boolean', default: false },
      reuse: { type: 'boolean', default: false },
    },
  });
  if (!process.env.ZENNIT_SRC) {
    console.error('zennit-check: set ZENNIT_SRC to a checkout of github.com/chr5tphr/zennit (tag 0.5.1), see README "Zennit check"');
    process.exit(2);
  }
  const models = values.models.split(',').filter(Boolean);
  const composites = (values.composites ?? ZENNIT_COMPOSITES.join(',')).split(',').filter(Boolean);
  // the default run is what is meant to pass: KNOWN_APART pairs only when asked for
  const skip = (net: string, c: string): string | undefined => (values.composites || values.all ? undefined
    : KNOWN_APART.find((k) => k.nets.test(net) && k.composites(c))?.why);
  const bad = composites.filter((c) => !ZENNIT_COMPOSITES.includes(c));
  if (bad.length) {
    console.error(`zennit-check: no Zennit counterpart for composite(s) ${bad.join(', ')} (known: ${ZENNIT_COMPOSITES.join(', ')})`);
    process.exit(2);
  }
  const tol = Number(values.tol);
  const zoo = process.env.RELEVANCE_LENS_ZOO ?? path.join(os.homedir(), '.cache', 'relevance-lens', 'zoo');
  const out = process.env.ZENNIT_OUT ?? path.join(os.homedir(), '.cache', 'relevance-lens', 'zennit');
  fs.mkdirSync(out, { recursive: true });

  run(PY, ['scripts/models/export_torchvision.py', '--models', models.join(','), '--out', zoo]);
  run(PY, ['scripts/fixtures/zennit_reference.py', 'zoo', '--models', models.join(','), '--composites', composites.join(','),
    '--zoo', zoo, '--out', out, ...(values.timing ? ['--timing'] : [])]);

  const rows: string[] = [];
  let failed = false;
  const head = `${'net'.padEnd(16)}${'composite'.padEnd(27)}class  max rel diff  p99 rel  input sum  layer sums  ours (s)  Zennit 1 / 2 thr (s)`;
  const ties: string[] = [];
  const skipped: string[] = [];
  for (const net of models) {
    const summary = JSON.parse(fs.readFileSync(path.join(out, `${net}.zennit.json`), 'utf8')) as ZennitSummary;
    const t = summary.timing;
    ties.push(`${net}: ${summary.maxPoolNearTies ?? '?'} max-pool windows whose top two inputs differ by < 1e-5 (relative)`);
    // wall medians, and 1-thread CPU time: on a shared machine the wall time is stretched, the CPU time not
    const zt = t ? `${t.threads1.median_s.toFixed(2)} / ${t.threads2.median_s.toFixed(2)} (1-thread CPU `
      + `${t.threads1.cpu_median_s?.toFixed(2) ?? '?'}, load ${t.loadavg.toFixed(1)})` : '-';
    for (const composite of composites) {
      const why = skip(net, composite);
      if (why) {
        skipped.push(`${net} ${composite}: ${why}`);
        continue;
      }
      const z = summary.composites[composite];
      const npyFile = path.join(out, `${net}.${composite}.ours.npy`);
      const jsonFile = path.join(out, `${net}.${composite}.ours.json`);
      if (!values.reuse || !fs.existsSync(npyFile) || !fs.existsSync(jsonFile)) {
        // the card next to the model gives the z^B bounds, as for a user
        run(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'explain', path.join(zoo, `${net}.onnx`),
          path.join(zoo, `${net}.input.npy`), '--composite', composite, '--npy', npyFile, '--json', jsonFile]);
      }
      const ours = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as OurJson;
      const ref = path.join(out, z.file);
      const [o, zr] = [readNpy(fs.readFileSync(npyFile), npyFile).data, readNpy(fs.readFileSync(ref), ref).data];
      const rel = maxRelDiff(o, zr);
      const p99 = quantileRelDiff(o, zr, 0.99);
      const scale = Math.abs(z.logit);
      const inSum = Math.abs(ours.inputRelevanceSum - z.inputSum) / scale;
      let layerSum = 0;
      let matched = 0;
      for (const row of ours.layers) {
        const want = z.layerOutputSums[moduleName(row.name)];
        if (want === undefined || !WEIGHTED_OPS.includes(row.op)) continue;
        matched++;
        layerSum = Math.max(layerSum, Math.abs(row.outputRelevanceSum - want) / scale);
      }
      const sameClass = ours.target.class === z.class;
      const ctol = composite === 'lrp-0' || composite === 'epsilon' ? 10 * tol : tol;
      const ok = sameClass && p99 <= ctol && inSum <= ctol && layerSum <= ctol && matched === Object.keys(z.layerOutputSums).length;
      failed ||= !ok;
      rows.push(`${net.padEnd(16)}${composite.padEnd(27)}${(sameClass ? 'same' : `${ours.target.class}≠${z.class}`).padEnd(7)}`
        + `${rel.toExponential(2).padStart(12)}  ${p99.toExponential(2).padStart(7)}  ${inSum.toExponential(2).padStart(9)}  ${layerSum.toExponential(2).padStart(10)}`
        + `  ${(ours.timings.totalMs / 1000).toFixed(2).padStart(8)}  ${composite === 'epsilon-gamma-box' ? zt : ''}`
        + `${matched === Object.keys(z.layerOutputSums).length ? '' : `  (${matched}/${Object.keys(z.layerOutputSums).length} layers matched)`}`
        + (ok ? '' : '  <-- outside tolerance'));
      console.log(rows[rows.length - 1]);
    }
  }
  console.log(`\nengine vs Zennit (max and p99 of |ours − zennit| / max|zennit|; sums as a fraction of |f_c|; tolerance on p99 and sums ${tol}, for lrp-0 / epsilon ${10 * tol}):\n${head}\n${rows.join('\n')}\n${ties.join('\n')}`
    + (skipped.length ? `\nleft out (known to differ, not a fault; --all runs them):\n${skipped.map((k) => `- ${k}`).join('\n')}` : ''));
  process.exit(failed ? 1 : 0);
}

main();
