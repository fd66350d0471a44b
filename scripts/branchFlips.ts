/**
 * How often float32 picks the other branch of the bias-free γ rule. That rule sends a unit's relevance
 * R_k down the branch of sign(z_k), z_k = Σ a·w without the bias: where z_k is within float32's rounding of
 * zero, two float32 implementations (wasm, onnxruntime) may choose differently, and the unit's whole R_k
 * then goes to the inputs of the other sign of w — a jump, not a rounding. Per conv layer this prints the
 * units whose float32 z (wasm, as the rule computes it) has another sign than the same sum in float64 from
 * the same a and w, and the share of the layer's |R| they carry under the composite.
 *
 *   node out/scripts/branchFlips.js MODEL [--dir DIR] [--composite NAME] [--layers REGEX]
 *
 * MODEL: a torchvision export of scripts/models/export_torchvision.py (DIR, default ~/.cache/relevance-lens/zoo).
 */
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs-core';
import { Explainer } from '../src/core/methods/explain';
import { PreparedGraph } from '../src/core/engine/prepared';
import { forward } from '../src/core/engine/forward';
import { conv2dFwd } from '../src/core/engine/convOps';
import type { ExplicitPad, Node } from '../src/core/graph/ir';
import { openZooExport } from './zooExport';

function fail(msg: string): never {
  process.stderr.write(`branchFlips: ${msg}\n`);
  process.exit(2);
}

/** z = conv(a, w) without bias in float64 (NHWC, kernel [kh, kw, inC, outC], zero weights skipped). */
function convF64(a: Float32Array, inShape: number[], w: Float32Array, kShape: number[], outShape: number[], node: Node, pads: ExplicitPad): Float64Array {
  const [H, W, C] = inShape;
  const [kh, kw, , O] = kShape;
  const [oh, ow] = outShape;
  const { strides: [sh, sw], dilations: [dh, dw] } = node.attrs.conv!;
  const taps: number[][] = Array.from({ length: O }, () => []); // per output channel: (i, j, c, w) flattened
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < C; c++) {
    const base = ((i * kw + j) * C + c) * O;
    for (let o = 0; o < O; o++) { const v = w[base + o]; if (v !== 0) taps[o].push(i, j, c, v); }
  }
  const z = new Float64Array(oh * ow * O);
  for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) for (let o = 0; o < O; o++) {
    const t = taps[o];
    let s = 0;
    for (let q = 0; q < t.length; q += 4) {
      const yy = y * sh - pads[0][0] + t[q] * dh;
      const xx = x * sw - pads[1][0] + t[q + 1] * dw;
      if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
      s += a[(yy * W + xx) * C + t[q + 2]] * t[q + 3];
    }
    z[(y * ow + x) * O + o] = s;
  }
  return z;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { dir: { type: 'string' }, composite: { type: 'string' }, layers: { type: 'string' } },
  });
  const model = positionals[0] ?? fail('name a model, e.g. resnext50_32x4d');
  const { g, input } = await openZooExport(model, values.dir, fail);
  const shape = input.shape;
  const composite = values.composite ?? 'epsilon-gamma-box-nobias';
  const filter = new RegExp(values.layers ?? '.');
  const convs = g.nodes.filter((n) => n.op === 'conv2d' && n.inputs[0] !== g.input && filter.test(n.name));

  const w = new Explainer(g);
  const out = w.explain(input, { method: 'lrp', composite }, { keepLayers: convs.map((n) => n.name) });
  w.dispose();
  const prep = new PreparedGraph(g);
  const acts = forward(prep, tf.tensor4d(input.data, [1, ...shape] as [number, number, number, number]));

  process.stdout.write(`${model} ${composite}: units whose bias-free z changes sign between float32 (wasm) and float64\n`
    + `${'flips'.padStart(6)} ${'units'.padStart(8)}  ${'Σ|R| flipped / Σ|R|'.padStart(20)}  ${'max |R| flipped / max |R|'.padStart(26)}  `
    + `${'median |z| flipped / Σ|a·w|'.padStart(28)}  layer\n`);
  let flipsAll = 0;
  let unitsAll = 0;
  for (const n of convs) {
    const R = out.layerRelevance?.[n.name]?.data;
    if (!R) continue;
    const a = acts[n.inputs[0]].dataSync() as Float32Array;
    const t = prep.tensors[n.id];
    const z32 = tf.tidy(() => conv2dFwd(acts[n.inputs[0]] as tf.Tensor4D, t.kernel as tf.Tensor4D, n.attrs.conv!, t.pads!).dataSync()) as Float32Array;
    const z64 = convF64(a, g.nodes[n.inputs[0]].shape, n.params.kernel!.data, n.params.kernel!.shape, n.shape, n, t.pads!);
    const absW = Float32Array.from(n.params.kernel!.data, Math.abs);
    const mass = convF64(Float32Array.from(a, Math.abs), g.nodes[n.inputs[0]].shape, absW, n.params.kernel!.shape, n.shape, n, t.pads!);
    let flips = 0; let rFlip = 0; let rAll = 0; let rMaxFlip = 0; let rMax = 0;
    const rel: number[] = [];
    for (let k = 0; k < z64.length; k++) {
      const r = Math.abs(R[k]);
      rAll += r; rMax = Math.max(rMax, r);
      if ((z32[k] < 0) !== (z64[k] < 0)) {
        flips++; rFlip += r; rMaxFlip = Math.max(rMaxFlip, r);
        rel.push(Math.abs(z64[k]) / mass[k]);
      }
    }
    flipsAll += flips; unitsAll += z64.length;
    rel.sort((p, q) => p - q);
    if (flips > 0) {
      process.stdout.write(`${String(flips).padStart(6)} ${String(z64.length).padStart(8)}  ${(rFlip / rAll).toExponential(2).padStart(20)}  `
        + `${(rMaxFlip / rMax).toExponential(2).padStart(26)}  ${rel[rel.length >> 1].toExponential(2).padStart(28)}  ${n.name}\n`);
    }
  }
  process.stdout.write(`${flipsAll} of ${unitsAll} units in ${convs.length} conv layers take the other branch in float32\n`);
  for (const t of acts) t.dispose();
  prep.dispose();
}

main().catch((e) => {
  process.stderr.write(`branchFlips: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
