/**
 * Operator patterns that exporters write out as several primitive nodes, fused back into the one
 * operator they compute before conversion (the engine gives them one rule each):
 *   LayerNorm (PyTorch < opset 17): m = ReduceMean(x, -1); d = Sub(x, m); v = ReduceMean(Pow(d, 2), -1);
 *             y = Div(d, Sqrt(Add(v, ε)))                              -> LayerNormalization(x) with ε
 *   GELU (erf): Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5) or with the 0.5 applied to x first -> Gelu
 *   GELU (tanh): 0.5·x·(1 + Tanh(√(2/π)·(x + 0.044715·x³)))            -> Gelu(approximate = tanh)
 *   SiLU: Mul(x, Sigmoid(x))                                             -> Silu (any operand order)
 * A pattern is fused only when its inner values are used nowhere else.
 */
import type { OnnxAttr, OnnxNode } from './onnxProto';

type ConstLookup = (name: string) => ArrayLike<number> | undefined;

function scalarIs(consts: ConstLookup, name: string, v: number, tol = 1e-4): boolean {
  const c = consts(name);
  return !!c && c.length === 1 && Math.abs(c[0] - v) <= tol * Math.max(1, Math.abs(v));
}

function attrInts(n: OnnxNode, name: string): number[] | undefined {
  return n.attrs.get(name)?.ints;
}

export function fuseOnnxPatterns(nodes: OnnxNode[], consts: ConstLookup, graphOutputs: string[]): OnnxNode[] {
  const producer = new Map<string, OnnxNode>();
  const uses = new Map<string, number>();
  for (const n of nodes) {
    for (const o of n.outputs) if (o) producer.set(o, n);
    for (const i of n.inputs) if (i) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  for (const o of graphOutputs) uses.set(o, (uses.get(o) ?? 0) + 1);
  const removed = new Set<OnnxNode>();
  const replaced = new Map<OnnxNode, OnnxNode>();
  const prod = (v: string | undefined, op: string): OnnxNode | undefined => {
    const p = v ? producer.get(v) : undefined;
    return p && p.op === op && !removed.has(p) ? p : undefined;
  };
  const only = (v: string): boolean => (uses.get(v) ?? 0) === 1;
  /** the other input of a binary node, given one of them */
  const other = (n: OnnxNode, v: string): string | undefined => (n.inputs[0] === v ? n.inputs[1] : n.inputs[1] === v ? n.inputs[0] : undefined);
  const lastAxis = (n: OnnxNode): boolean => {
    const axes = attrInts(n, 'axes') ?? (n.inputs[1] ? Array.from(consts(n.inputs[1]) ?? []) : undefined);
    return !!axes && axes.length === 1 && axes[0] === -1 && (n.attrs.get('keepdims')?.i ?? 1) === 1;
  };
  const fused = (from: OnnxNode, op: string, inputs: string[], attrs: [string, OnnxAttr][], inner: OnnxNode[]): void => {
    for (const m of inner) removed.add(m);
    replaced.set(from, { name: from.name, op, domain: '', inputs, outputs: from.outputs.slice(), attrs: new Map(attrs) });
  };

  for (const div of nodes) {
    // ---- LayerNorm at its Div
    if (div.op === 'Div' && !removed.has(div)) {
      const sub = prod(div.inputs[0], 'Sub');
      const sqrt = prod(div.inputs[1], 'Sqrt');
      const mean = sub && prod(sub.inputs[1], 'ReduceMean');
      const add = sqrt && prod(sqrt.inputs[0], 'Add');
      const varMean = add && (prod(add.inputs[0], 'ReduceMean') ?? prod(add.inputs[1], 'ReduceMean'));
      const epsName = add && varMean && other(add, varMean.outputs[0]);
      const pow = varMean && prod(varMean.inputs[0], 'Pow');
      if (sub && sqrt && mean && add && varMean && pow && epsName && mean.inputs[0] === sub.inputs[0] && pow.inputs[0] === sub.outputs[0]
        && scalarIs(consts, pow.inputs[1], 2) && consts(epsName)?.length === 1 && lastAxis(mean) && lastAxis(varMean)
        && only(mean.outputs[0]) && only(pow.outputs[0]) && only(varMean.outputs[0]) && only(add.outputs[0]) && only(sqrt.outputs[0])
        && uses.get(sub.outputs[0]) === 2) {
        const eps = consts(epsName)![0];
        fused(div, 'LayerNormalization', [sub.inputs[0]], [['axis', { name: 'axis', i: -1 }], ['epsilon', { name: 'epsilon', f: eps }]], [sub, sqrt, mean, add, varMean, pow]);
        continue;
      }
    }
    // ---- GELU (erf) at its Erf
    if (div.op === 'Erf' && !removed.has(div)) {
      const erf = div;
      const scale = producer.get(erf.inputs[0]);
      let x: string | undefined;
      if (scale?.op === 'Div' && scalarIs(consts, scale.inputs[1], Math.SQRT2)) x = scale.inputs[0];
      if (scale?.op === 'Mul' && scalarIs(consts, scale.inputs[1], Math.SQRT1_2)) x = scale.inputs[0];
      if (scale?.op === 'Mul' && scalarIs(consts, scale.inputs[0], Math.SQRT1_2)) x = scale.inputs[1];
      const consumers = nodes.filter((m) => m.inputs.includes(erf.outputs[0]));
      const add = consumers.length === 1 && consumers[0].op === 'Add' ? consumers[0] : undefined;
      if (!x || !scale || !add || !only(scale.outputs[0]) || !only(erf.outputs[0]) || !only(add.outputs[0]) || !scalarIs(consts, other(add, erf.outputs[0]) ?? '', 1)) continue;
      const mul1 = nodes.find((m) => m.op === 'Mul' && m.inputs.includes(add.outputs[0]));
      if (!mul1) continue;
      const partner = other(mul1, add.outputs[0])!;
      if (partner === x) {
        // (x · (1 + erf)) · 0.5
        const mul2 = nodes.find((m) => m.op === 'Mul' && m.inputs.includes(mul1.outputs[0]));
        if (mul2 && only(mul1.outputs[0]) && scalarIs(consts, other(mul2, mul1.outputs[0]) ?? '', 0.5)) {
          fused(mul2, 'Gelu', [x], [], [scale, erf, add, mul1]);
        }
      } else {
        // (x · 0.5) · (1 + erf)
        const half = producer.get(partner);
        if (half?.op === 'Mul' && only(partner) && half.inputs.includes(x) && scalarIs(consts, other(half, x) ?? '', 0.5)) {
          fused(mul1, 'Gelu', [x], [], [scale, erf, add, half]);
        }
      }
      continue;
    }
    // ---- SiLU at its Mul
    if (div.op === 'Mul' && !removed.has(div) && div.inputs.length === 2) {
      for (const k of [0, 1]) {
        const sig = prod(div.inputs[k], 'Sigmoid');
        if (sig && sig.inputs[0] === div.inputs[1 - k] && only(sig.outputs[0])) {
          fused(div, 'Silu', [sig.inputs[0]], [], [sig]);
          break;
        }
      }
    }
  }
  // ---- GELU (tanh) at its Tanh: 0.5·x·(1 + tanh(c·(x + 0.044715·x³)))
  for (const t of nodes) {
    if (t.op !== 'Tanh' || removed.has(t)) continue;
    const mc = producer.get(t.inputs[0]);
    if (mc?.op !== 'Mul') continue;
    const inner = [mc.inputs[0], mc.inputs[1]].map((v) => producer.get(v)).find((p) => p?.op === 'Add');
    if (!inner || !scalarIs(consts, other(mc, inner.outputs[0]) ?? '', Math.sqrt(2 / Math.PI))) continue;
    const cube = [inner.inputs[0], inner.inputs[1]].map((v) => producer.get(v)).find((p) => p?.op === 'Mul');
    if (!cube) continue;
    const x = other(inner, cube.outputs[0])!;
    // x³ as Pow(x, 3) or as Mul(x, Mul(x, x)) (PyTorch writes the latter)
    let pow = [cube.inputs[0], cube.inputs[1]].map((v) => producer.get(v)).find((p) => p?.op === 'Pow' || p?.op === 'Mul');
    const extra: OnnxNode[] = [];
    if (pow?.op === 'Pow' && !(pow.inputs[0] === x && scalarIs(consts, pow.inputs[1], 3))) pow = undefined;
    if (pow?.op === 'Mul') {
      const sq = [pow.inputs[0], pow.inputs[1]].map((v) => producer.get(v)).find((p) => p?.op === 'Mul' && p.inputs[0] === x && p.inputs[1] === x);
      if (!sq || !pow.inputs.includes(x) || !only(sq.outputs[0])) pow = undefined;
      else extra.push(sq);
    }
    if (!pow || !scalarIs(consts, other(cube, pow.outputs[0]) ?? '', 0.044715)) continue;
    const add = nodes.find((m) => m.op === 'Add' && m.inputs.includes(t.outputs[0]));
    if (!add || !scalarIs(consts, other(add, t.outputs[0]) ?? '', 1)) continue;
    const mul1 = nodes.find((m) => m.op === 'Mul' && m.inputs.includes(add.outputs[0]));
    if (!mul1) continue;
    const partner = other(mul1, add.outputs[0])!;
    const innerNodes = [mc, inner, cube, pow, t, add, ...extra];
    if (![mc, inner, cube, pow, t, add].every((m) => only(m.outputs[0]))) continue;
    const half = producer.get(partner);
    if (half?.op === 'Mul' && half.inputs.includes(x) && scalarIs(consts, other(half, x) ?? '', 0.5) && only(partner)) {
      fused(mul1, 'Gelu', [x], [['approximate', { name: 'approximate', s: 'tanh' }]], [...innerNodes, half]);
    } else if (partner === x) {
      const mul2 = nodes.find((m) => m.op === 'Mul' && m.inputs.includes(mul1.outputs[0]));
      if (mul2 && only(mul1.outputs[0]) && scalarIs(consts, other(mul2, mul1.outputs[0]) ?? '', 0.5)) {
        fused(mul2, 'Gelu', [x], [['approximate', { name: 'approximate', s: 'tanh' }]], [...innerNodes, mul1]);
      }
    }
  }
  return nodes.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n);
}
