/**
 * Kernel variants and flipped layouts made in JS (`arrayKernels`: the backward-only graph and the
 * products' model) against the same graph deriving them in its nodes, which onnxruntime folds: the
 * universal backward-only graph gives the same relevance and conservation sums to the bit under every
 * kind of rule change, on kernels from an ONNX file (OIHW), a grouped convolution, and a net whose
 * channel counts cross the flip's 32-channel tiles (3 × 3, 1 × 1, depthwise, strided).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { initBackend } from '../../src/core/engine/backend';
import { ruleParamsFor, type InputArray } from '../../src/core/methods/explain';
import { OnnxExplainer, universalChoices } from '../../src/core/onnx/onnxExplainer';
import { compileExplanation, compileForward, readSums, type CompiledModel } from '../../src/core/onnx/compile';
import { derivedKernel } from '../../src/core/onnx/emitter';
import { collectGarbage } from '../../src/core/onnx/oneRun';
import { createSession, ortModule } from '../../src/core/onnx/runtime';
import { choiceStructure } from '../../src/core/onnx/rules';
import { loadModel } from '../../src/core/loaders/registry';
import { canonize } from '../../src/core/graph/canonize';
import { GraphBuilder } from '../../src/core/graph/builder';
import { sizeOf, type Graph } from '../../src/core/graph/ir';
import type { ExplainOptions } from '../../src/core/methods/types';
import type { RuleSpec } from '../../src/shared/ruleSpec';
import { Rand, param } from './helpers/methodNets';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'loaders');

const same = (s = 1) => ({ conv: { strides: [s, s] as [number, number], padding: 'same' as const, dilations: [1, 1] as [number, number] } });

/** 37 → 45 → 70 channels: tiles of the flip cut inside both channel counts. */
function wideNet(): Graph {
  const r = new Rand(11);
  const b = new GraphBuilder('wide');
  const bias = (n: number) => ({ shape: [n], data: r.array(n, 0.05) });
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [6, 6, 3] });
  const layer = (name: string, op: 'conv2d' | 'depthwiseConv2d', shape: number[], fanIn: number, s = 1) => {
    x = b.add({ name, op, inputs: [x], attrs: same(s), params: { kernel: param(r, shape, fanIn), bias: bias(op === 'conv2d' ? shape[3] : shape[2] * shape[3]) } });
    x = b.add({ name: `${name}_relu`, op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
  };
  layer('c1', 'conv2d', [3, 3, 3, 37], 27);
  layer('c2', 'conv2d', [3, 3, 37, 45], 333);
  layer('c3', 'conv2d', [1, 1, 45, 70], 45);
  layer('dw', 'depthwiseConv2d', [3, 3, 70, 1], 9);
  layer('c4', 'conv2d', [3, 3, 70, 8], 630, 2);
  x = b.add({ name: 'flat', op: 'flatten', inputs: [x] });
  const out = b.add({ name: 'logits', op: 'dense', inputs: [x], params: { kernel: param(r, [72, 5], 72), bias: bias(5) } });
  return b.build('wide', 'test', out);
}

async function check(g: Graph, input: InputArray, changes: ExplainOptions[]): Promise<void> {
  const ort = ortModule();
  const o = new OnnxExplainer(g, { universal: true });
  const planOf = (opts: ExplainOptions) => {
    const plan = o.plan(opts, ruleParamsFor(g, input, opts));
    assert.ok(!('reason' in plan) && plan.family.kind === 'lrp');
    return plan.family;
  };
  const fam = planOf(changes[0]);
  const family = { ...fam, choices: universalChoices(g, fam.rules) };
  const spec = { family, leaks: true, actsAsInputs: true, externalWeights: true };
  const models: CompiledModel[] = [true, false].map((arrayKernels) => compileExplanation(g, { ...spec, arrayKernels }));
  const fwd = compileForward(g, { externalWeights: true });
  const sessions = await Promise.all([...models, fwd].map((m) => createSession(m.proto.finish(), m.external, 'basic')));
  try {
    const k = g.nodes[g.output].shape[0];
    const acts = await sessions[2].run({ x: new ort.Tensor('float32', input.data, [1, ...input.shape]) });
    for (const opts of changes) {
      const rules = planOf(opts).rules;
      const outs = [];
      for (const [i, m] of models.entries()) {
        const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
          onehot: new ort.Tensor('float32', new Float32Array(k), [1, k]), top: new ort.Tensor('float32', new Float32Array([1]), [1]),
        };
        for (const p of m.params) {
          const v = p.read(rules);
          feeds[p.name] = new ort.Tensor('float32', v, p.shapeOf?.(v) ?? p.dims);
        }
        for (const sel of m.selectors) {
          const at = sel.keys.indexOf(choiceStructure(rules.get(sel.id)!));
          assert.ok(at >= 0, `${g.name} ${opts.composite}: layer ${sel.id}'s rule is a choice`);
          feeds[sel.name] = new ort.Tensor('int64', new BigInt64Array([BigInt(at)]), [1]);
        }
        for (const name of sessions[i].inputNames) if (acts[name]) feeds[name] = acts[name];
        const r = await sessions[i].run(feeds);
        outs.push({ relevance: r.relevance.data as Float32Array, sums: readSums(m, r) });
      }
      const [a, b] = outs;
      assert.ok(a.relevance.some((v) => v !== 0), `${g.name} ${opts.composite}: zero relevance`);
      assert.deepEqual(a.relevance, b.relevance, `${g.name} ${opts.composite} ${JSON.stringify(opts.rules ?? {})}: relevance`);
      assert.deepEqual(a.sums, b.sums, `${g.name} ${opts.composite}: conservation sums`);
    }
  } finally {
    for (const s of sessions) await s.release();
    await o.dispose();
  }
}

function randomInput(g: Graph, seed: number): InputArray {
  const shape = g.nodes[g.input].shape;
  return { shape, data: new Rand(seed).array(sizeOf(shape), 1, 0) };
}

/** Composite changes covering every kernel variant (w, w⁺, w⁻, ones) and layout, plus per-layer rules. */
function changesFor(layerRules?: Record<string, RuleSpec>): ExplainOptions[] {
  const base = { method: 'lrp' as const, params: { low: -1, high: 1 } };
  const composites = ['epsilon-gamma-box', 'epsilon-plus', 'epsilon-alpha2-beta1', 'alpha-beta', 'z-plus', 'epsilon-plus-flat', 'epsilon-gamma-box-nobias'];
  return [...composites.map((composite) => ({ ...base, composite })), ...(layerRules ? [{ ...base, composite: 'epsilon-gamma-box', rules: layerRules }] : [])];
}

test('kernels made in JS = kernels folded by onnxruntime, to the bit: universal rule changes on OIHW, grouped and tile-crossing convolutions', async () => {
  await initBackend('wasm');
  const wide = wideNet();
  await check(wide, randomInput(wide, 3), changesFor({ c1: { rule: 'w-square' }, dw: { rule: 'w-square' }, c3: { rule: 'alpha-beta', alpha: 2, beta: 1 }, c2: { rule: 'z-plus' } }));
  // cnn.onnx keeps its kernels as the file lays them out (OIHW); small_grouped.onnx's grouped conv is a
  // block-diagonal conv2d and its depthwise one has 2 outputs per channel (the flip's groups)
  for (const [file, oihw] of [['cnn.onnx', true], ['small_grouped.onnx', false]] as const) {
    const g = canonize(await loadModel(path.join(FIXTURES, file)));
    assert.equal(g.nodes.some((n) => n.params.kernel?.oihw), oihw, `${file}: kernel layout`);
    await check(g, randomInput(g, 5), changesFor());
  }
});

test('a kernel made from a weight array is made once while something reads it, and is garbage after', async () => {
  const source = new Float32Array([1, -2, 3, -4]);
  let made = 0;
  const make = () => {
    made++;
    return new Float32Array([1, 0, 3, 0]);
  };
  // while a session reads it (here: while these arrays are reachable)
  ((): void => {
    const first = derivedKernel(source, 'w+', make);
    const second = derivedKernel(source, 'w+', make);
    assert.equal(made, 1);
    assert.equal(second.buffer, first.buffer, 'the same buffer for a second compile');
    assert.deepEqual([...second], [1, 0, 3, 0]);
    assert.notEqual(derivedKernel(source, 'w-', () => new Float32Array(4)).buffer, first.buffer, 'another variant, another array');
  })();
  // nothing reads it any more (a released session): collected, and made again when asked for
  await new Promise((r) => setImmediate(r));
  collectGarbage();
  derivedKernel(source, 'w+', make);
  assert.equal(made, 2);
});
