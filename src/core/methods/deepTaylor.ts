/**
 * Deep Taylor Decomposition (Montavon et al. 2017) on the LRP engine. The explained output passes
 * through a ReLU (only positive evidence is explained): R = max(0, f_c(x))·onehot(c). Every dense/conv
 * layer takes the rule of its root point (DESIGN.md's DTD table): 'lrp' (v = a·1[w>0] → z⁺, the
 * default), 'nearest' (v = w → w²), 'origin' (v = a → z-rule), all without bias; deep-taylor-bounded
 * uses the box root (z^B) on the first layer. `--rule LAYER=deep-taylor:ROOT` (or any rule) overrides
 * one layer. The root point chosen at the input is returned in `extra.rootPoint` for inspection: per
 * pixel, the relevance-weighted mean of the first layer's per-neuron roots x̃⁽ᵏ⁾ = x − (z_k/d_k)·v_k.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Graph, Node } from '../graph/ir';
import type { RuleSpec, RuleParams } from '../../shared/ruleSpec';
import { firstWeightedLayer, resolveRules, takesRule } from '../composites/presets';
import { linearForward, linearTransposed } from '../rules/linearOps';
import { transposedWith } from '../patterns/kernelOps';
import { LensError } from '../errors';
import { assertReluNetwork } from './reluOnly';
import { runLrp, startRelevance } from './lrp';
import type { MethodContext, MethodRun } from './method';
import { registerMethod } from './method';

export type DtdRoot = 'nearest' | 'origin' | 'lrp' | 'bounded';
const ROOTS: readonly DtdRoot[] = ['nearest', 'origin', 'lrp', 'bounded'];

/** Rule spec per weighted node id: the DTD root of each layer, then the user's per-layer overrides. */
export function deepTaylorSpecs(ctx: Pick<MethodContext, 'opts'> & { prep: { graph: Graph } }, bounded: boolean): Map<number, RuleSpec> {
  const g = ctx.prep.graph;
  assertReluNetwork(g, bounded ? 'deep-taylor-bounded' : 'deep-taylor');
  const root = ctx.opts.root ?? 'lrp';
  if (!ROOTS.includes(root) || (root as DtdRoot) === 'bounded') {
    throw new LensError('bad-usage', `--root must be one of nearest, origin, lrp (got '${root}'); the box root is deep-taylor-bounded`);
  }
  const first = firstWeightedLayer(g);
  const specs = new Map<number, RuleSpec>();
  for (const n of g.nodes) {
    if (!takesRule(n)) continue;
    specs.set(n.id, { rule: 'deep-taylor', root: bounded && n.id === first ? 'bounded' : root });
  }
  const overrides = ctx.opts.rules ?? {};
  if (Object.keys(overrides).length) {
    // validates the layer names with the same messages as LRP's --rule
    const checked = resolveRules(g, 'z-plus', overrides);
    for (const name of Object.keys(overrides)) {
      const n = g.nodes.find((x) => x.name === name)!;
      specs.set(n.id, checked.get(n.id)!);
    }
  }
  return specs;
}

function boundImage(x: tf.Tensor, v: number | number[]): tf.Tensor {
  const c = x.shape[x.rank - 1];
  const vals = Array.isArray(v) ? v : new Array<number>(c).fill(v);
  if (vals.length !== c) throw new LensError('bad-usage', `z-box bounds have ${vals.length} values, the input has ${c} channels`);
  return tf.mul(tf.onesLike(x), tf.tensor1d(vals));
}

const positive = (w: tf.Tensor): tf.Tensor => tf.cast(tf.greater(w, 0), 'float32');
const negative = (w: tf.Tensor): tf.Tensor => tf.cast(tf.less(w, 0), 'float32');

/**
 * Root point of the first layer given the relevance r at its output: x − Σ_k R_k t_k v_k / Σ_k R_k
 * over the neurons k whose receptive field covers each pixel (t_k = z_k / d_k, d_k = Σ_i v_ik w_ik).
 */
export function inputRootPoint(
  ctx: { prep: MethodContext['prep']; x: tf.Tensor }, node: Node, root: DtdRoot, r: tf.Tensor, params: RuleParams,
): tf.Tensor {
  const { prep, x } = ctx;
  return tf.tidy(() => {
    const z = linearForward(prep, node, x, 'w');
    const coef = (d: tf.Tensor): tf.Tensor => tf.divNoNan(tf.mul(r, z), d);
    let num: tf.Tensor;
    switch (root) {
      case 'lrp': {
        const xp = tf.relu(x);
        const xn = tf.minimum(x, 0);
        const c = coef(tf.add(linearForward(prep, node, xp, 'w+'), linearForward(prep, node, xn, 'w-')));
        num = tf.add(tf.mul(xp, transposedWith(prep, node, c, 'ind:w>0', positive)), tf.mul(xn, transposedWith(prep, node, c, 'ind:w<0', negative)));
        break;
      }
      case 'nearest': {
        const c = coef(linearForward(prep, node, tf.onesLike(x), 'w2'));
        num = linearTransposed(prep, node, c, 'w');
        break;
      }
      case 'origin':
        num = tf.mul(x, linearTransposed(prep, node, coef(z), 'ones'));
        break;
      case 'bounded': {
        if (params.low === undefined || params.high === undefined) throw new LensError('bad-usage', 'z-box needs input bounds: give --low/--high or a model card');
        const l = boundImage(x, params.low);
        const h = boundImage(x, params.high);
        const d = tf.sub(tf.sub(z, linearForward(prep, node, l, 'w+')), linearForward(prep, node, h, 'w-'));
        const c = coef(d);
        num = tf.add(tf.mul(tf.sub(x, l), transposedWith(prep, node, c, 'ind:w>0', positive)), tf.mul(tf.sub(x, h), transposedWith(prep, node, c, 'ind:w<0', negative)));
        break;
      }
    }
    const den = linearTransposed(prep, node, r, 'ones');
    return tf.where(tf.greater(den, 0), tf.sub(x, tf.divNoNan(num, den)), x);
  });
}

function rootOf(spec: RuleSpec | undefined): DtdRoot | undefined {
  if (!spec) return undefined;
  if (spec.rule === 'deep-taylor') return spec.root;
  if (spec.rule === 'z-box') return 'bounded';
  if (spec.rule === 'w-square') return 'nearest';
  if (spec.rule === 'z-plus' && spec.bias === false) return 'lrp';
  return undefined;
}

/** The first weighted layer and its root, when a root point image can be computed there. */
export function rootPointPlan(g: Graph, specs: Map<number, RuleSpec>): { firstNode: Node; root: DtdRoot } | undefined {
  const first = firstWeightedLayer(g);
  const firstNode = first !== undefined ? g.nodes[first] : undefined;
  const root = rootOf(firstNode ? specs.get(firstNode.id) : undefined);
  // the first layer must see the input itself, or reshaped (flatten) — a root point is then an image
  let src = firstNode?.inputs[0];
  while (src !== undefined && src !== g.input && (g.nodes[src].op === 'flatten' || g.nodes[src].op === 'reshape')) src = g.nodes[src].inputs[0];
  return firstNode !== undefined && root !== undefined && src === g.input && firstNode.op !== 'batchNorm' ? { firstNode, root } : undefined;
}

export function deepTaylor(ctx: MethodContext, bounded: boolean): MethodRun {
  const g = ctx.prep.graph;
  const specs = deepTaylorSpecs(ctx, bounded);
  const name = bounded ? 'deep-taylor-bounded' : 'deep-taylor';
  const plan = rootPointPlan(g, specs);
  const wantRoot = plan !== undefined;
  const firstNode = plan?.firstNode as Node;
  const root = plan?.root as DtdRoot;
  const keep = new Set(ctx.keep ?? []);
  if (wantRoot) keep.add(firstNode.id);
  const positiveLogit = Math.max(0, ctx.logit);
  const run = runLrp({ ...ctx, keep }, specs, name, startRelevance(ctx, positiveLogit));
  const extra: Record<string, unknown> = { deepTaylor: { explainedOutput: positiveLogit, logit: ctx.logit, root: ctx.opts.root ?? 'lrp' } };
  if (wantRoot && run.kept?.has(firstNode.id)) {
    const r = run.kept.get(firstNode.id)!;
    const rp = inputRootPoint({ prep: ctx.prep, x: ctx.acts[firstNode.inputs[0]] }, firstNode, root, r, ctx.params);
    extra.rootPoint = { layer: firstNode.name, root, shape: g.nodes[g.input].shape.slice(), data: Array.from(rp.dataSync()) };
    rp.dispose();
    if (!ctx.keep?.has(firstNode.id)) {
      r.dispose();
      run.kept.delete(firstNode.id);
    }
  }
  return { ...run, extra };
}

registerMethod('deep-taylor', (ctx) => deepTaylor(ctx, false));
registerMethod('deep-taylor-bounded', (ctx) => deepTaylor(ctx, true));
