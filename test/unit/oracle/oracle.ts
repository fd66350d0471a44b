/**
 * Independent LRP oracle: plain JavaScript loops in float64 over dense layer matrices, written from
 * DESIGN.md's formulas ("The IR and canonization", "Rules"). It reads the model from the canonized IR
 * (params, attrs, shapes) but none of the engine's math and no TensorFlow.js.
 *
 * For a weighted layer z_k = Σ_j a_j w_jk + b_k with relevance R_k at its output, every rule is
 *   R_j = Σ_k c_jk / den(z'_k) · R_k,   z'_k = Σ_j c_jk + b'_k
 * for a rule-specific contribution c_jk and bias b'_k; den(z) = z + e·sign(z), sign(0) = +1,
 * e = ε for the ε-rule and the stabilizer 1e-6 everywhere else.
 */
import type { Graph, Node } from '../../../src/core/graph/ir';
import type { RuleSpec } from '../../../src/shared/ruleSpec';
import { linearMatrix, poolWindows, type LinearMatrix, type PoolWindows } from './matrices';
import { MAX_POOL_TIE } from '../../../src/core/engine/poolOps';

export const STAB = 1e-6;

/** Deliberate faults, each switched on alone by the mutation tests to show the comparison can fail. */
export type Fault =
  | 'epsilon-without-sign'
  | 'gamma-without-bias'
  | 'alpha-beta-bias-swapped'
  | 'alpha-beta-drops-negative-inputs'
  | 'flat-counts-padding'
  | 'w-square-uses-abs'
  | 'z-box-bounds-swapped'
  | 'sign-ignores-mu'
  | 'max-pool-last-winner'
  | 'same-padding-ceil'
  | 'avg-pool-full-count'
  | 'add-equal-split'
  | 'depthwise-channel-order'
  | 'concat-reversed';

export interface OracleOptions {
  composite?: string;
  rules?: Record<string, RuleSpec>;
  params?: { epsilon?: number; gamma?: number; alpha?: number; beta?: number; low?: number | number[]; high?: number | number[] };
  targetClass?: number;
  fault?: Fault;
}

export interface OracleResult {
  logits: Float64Array;
  target: number;
  /** relevance at the input, flattened HWC */
  relevance: Float64Array;
  /** per node name: sum of the relevance arriving at its output / passed to its inputs */
  sums: Map<string, { out: number; in: number }>;
  /** resolved rule per weighted node name (for messages) */
  rules: Map<string, ConcreteRule>;
}

export type ConcreteRule =
  | { kind: 'z'; eps: number; bias: boolean; stdScaled: boolean }
  | { kind: 'gamma'; gamma: number; bias: boolean }
  | { kind: 'alpha-beta'; alpha: number; beta: number; bias: boolean }
  /** z⁺ from its own definition (the positive parts of a_j·w_jk), not as α1β0 */
  | { kind: 'z-plus'; bias: boolean }
  | { kind: 'flat' }
  | { kind: 'w-square' }
  | { kind: 'z-box'; low: number[] | number; high: number[] | number }
  /** SIGN-μ (Gumpfer et al. 2023): R_j = s(a_j) Σ_k w_jk R_k / den(z_k), s = +1 where a_j ≥ μ else −1, z the layer's own output */
  | { kind: 'sign'; mu: number; bias: boolean }
  | { kind: 'pass' };

// ---------------------------------------------------------------- composites (DESIGN.md "Presets")

interface CompositeDef {
  first?: RuleSpec;
  conv: RuleSpec;
  /** depthwise convs, when not the conv rule */
  depthwise?: RuleSpec;
  dense: RuleSpec;
  batchNorm?: RuleSpec;
}

const EPS: RuleSpec = { rule: 'epsilon' };
const AB21: RuleSpec = { rule: 'alpha-beta', alpha: 2, beta: 1 };

/**
 * Zennit's presets by name. "First layer" is the first weighted layer (conv, depthwise or dense) seen
 * from the input; depthwise convs belong to the conv group. A BatchNorm that could not be folded takes
 * ε (lrp-0 under the lrp-0 composite): DESIGN.md says it "gets its own rule"; this is the engine's
 * documented choice (presets.ts).
 */
export const ORACLE_COMPOSITES: Record<string, CompositeDef> = {
  'epsilon-gamma-box': { first: { rule: 'z-box' }, conv: { rule: 'gamma' }, dense: EPS },
  'epsilon-plus': { conv: { rule: 'z-plus' }, dense: EPS },
  'epsilon-plus-flat': { first: { rule: 'flat' }, conv: { rule: 'z-plus' }, dense: EPS },
  'epsilon-alpha2-beta1': { conv: AB21, dense: EPS },
  'epsilon-alpha2-beta1-flat': { first: { rule: 'flat' }, conv: AB21, dense: EPS },
  'lrp-0': { conv: { rule: 'lrp-0' }, dense: { rule: 'lrp-0' }, batchNorm: { rule: 'lrp-0' } },
  epsilon: { conv: EPS, dense: EPS },
  gamma: { conv: { rule: 'gamma' }, dense: { rule: 'gamma' } },
  'alpha-beta': { conv: { rule: 'alpha-beta' }, dense: { rule: 'alpha-beta' } },
  'z-plus': { conv: { rule: 'z-plus' }, dense: { rule: 'z-plus' } },
  'epsilon-gamma-box-dw-wsquare': { first: { rule: 'z-box' }, conv: { rule: 'gamma' }, depthwise: { rule: 'w-square' }, dense: EPS },
  // the transformer composites on CNNs: only their linear-layer rules apply (attention and LayerNorm
  // rules are checked by oracle/transformer.ts)
  'attn-lrp': { conv: EPS, dense: EPS },
  'attn-lrp-gamma': { conv: { rule: 'gamma' }, dense: { rule: 'gamma' } },
  'cp-lrp': { conv: EPS, dense: EPS },
  'cp-lrp-gamma': { conv: { rule: 'gamma' }, dense: { rule: 'gamma' } },
};

/** The presets and each one's bias-free variant NAME-nobias (see oracleRuleSpecs). */
export const ORACLE_COMPOSITE_NAMES: string[] = [
  ...Object.keys(ORACLE_COMPOSITES),
  // lrp-0, epsilon, attn-lrp and cp-lrp (ε = 1e-6 on every linear layer) have none: unstable without bias (presets.ts)
  ...Object.keys(ORACLE_COMPOSITES).filter((n) => !['lrp-0', 'epsilon', 'attn-lrp', 'cp-lrp'].includes(n)).map((n) => `${n}-nobias`),
];

const isWeighted = (n: Node): boolean => n.op === 'conv2d' || n.op === 'depthwiseConv2d' || n.op === 'dense';

/** A BatchNorm before the first weighted layer reached from the input through pads / BatchNorms only. */
function inputScaling(g: Graph, n: Node, first: Node | undefined): boolean {
  if (first && n.id > first.id) return false;
  let cur = n;
  while (cur.id !== g.input) {
    if (cur.inputs.length !== 1) return false;
    cur = g.nodes[cur.inputs[0]];
    if (cur.id !== g.input && cur.op !== 'pad' && cur.op !== 'batchNorm' && cur.op !== 'identity') return false;
  }
  return true;
}

/** `NAME-nobias`: every rule of NAME that has a bias term drops it (Zennit's zero_params='bias'). */
function dropBias(spec: RuleSpec): RuleSpec {
  return ['lrp-0', 'epsilon', 'gamma', 'alpha-beta', 'z-plus'].includes(spec.rule) ? ({ ...spec, bias: false } as RuleSpec) : spec;
}

export function oracleRuleSpecs(g: Graph, composite: string, overrides: Record<string, RuleSpec> = {}): Map<string, RuleSpec> {
  if (composite.endsWith('-nobias')) {
    const base = oracleRuleSpecs(g, composite.slice(0, -'-nobias'.length));
    for (const [k, v] of base) base.set(k, dropBias(v));
    for (const [name, spec] of Object.entries(overrides)) base.set(name, spec);
    return base;
  }
  const def = ORACLE_COMPOSITES[composite];
  if (!def) throw new Error(`oracle: unknown composite ${composite}`);
  const first = g.nodes.find(isWeighted);
  const out = new Map<string, RuleSpec>();
  for (const n of g.nodes) {
    if (!isWeighted(n) && n.op !== 'batchNorm') continue;
    let spec: RuleSpec;
    if (n === first && def.first) spec = def.first;
    else if (n.op === 'dense') spec = def.dense;
    else if (n.op === 'depthwiseConv2d' && def.depthwise) spec = def.depthwise;
    else if (n.op === 'batchNorm') spec = inputScaling(g, n, first) ? { rule: 'pass' } : def.batchNorm ?? EPS;
    else spec = def.conv;
    out.set(n.name, spec);
  }
  for (const [name, spec] of Object.entries(overrides)) {
    if (!out.has(name)) throw new Error(`oracle: no weighted layer ${name}`);
    out.set(name, spec);
  }
  return out;
}

/** Defaults of DESIGN.md: ε = 1e-6, γ = 0.25, α = 2, β = 1; z^B bounds default to the input's per-channel range. */
export function concreteRule(spec: RuleSpec, p: OracleOptions['params'], inputRange: () => { low: number[]; high: number[] }): ConcreteRule {
  const P = { epsilon: 1e-6, gamma: 0.25, alpha: 2, beta: 1, ...stripUndef(p ?? {}) };
  switch (spec.rule) {
    case 'lrp-0': return { kind: 'z', eps: STAB, bias: spec.bias !== false, stdScaled: false };
    case 'epsilon': return { kind: 'z', eps: spec.epsilon ?? P.epsilon, bias: spec.bias !== false, stdScaled: spec.stdScaled ?? false };
    case 'gamma': return { kind: 'gamma', gamma: spec.gamma ?? P.gamma, bias: spec.bias !== false };
    case 'alpha-beta': return { kind: 'alpha-beta', alpha: spec.alpha ?? P.alpha, beta: spec.beta ?? P.beta, bias: spec.bias !== false };
    case 'z-plus': return { kind: 'z-plus', bias: spec.bias ?? true };
    case 'flat': return { kind: 'flat' };
    case 'w-square': return { kind: 'w-square' };
    case 'pass': return { kind: 'pass' };
    case 'sign': return { kind: 'sign', mu: spec.mu ?? 0, bias: spec.bias !== false };
    case 'z-box': {
      const r = inputRange();
      return { kind: 'z-box', low: spec.low ?? P.low ?? r.low, high: spec.high ?? P.high ?? r.high };
    }
    case 'deep-taylor':
      switch (spec.root) {
        case 'nearest': return { kind: 'w-square' };
        case 'origin': return { kind: 'z', eps: STAB, bias: false, stdScaled: false };
        case 'lrp': return { kind: 'z-plus', bias: false };
        case 'bounded': return concreteRule({ rule: 'z-box' }, p, inputRange);
      }
    default:
      throw new Error(`oracle: rule '${spec.rule}' is not a CNN layer rule (see oracle/transformer.ts)`);
  }
}

function stripUndef<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// ---------------------------------------------------------------- forward

const sizeOf = (s: number[]): number => s.reduce((a, b) => a * b, 1);

interface NodeCache {
  lin?: LinearMatrix;
  pool?: PoolWindows;
  /** max pooling: winning input index per output */
  winner?: Int32Array;
}

export interface OracleForward {
  acts: Float64Array[];
  cache: NodeCache[];
}

function sign(z: number): number {
  return z >= 0 ? 1 : -1;
}

function concatLayout(g: Graph, node: Node): { outer: number; blocks: number[] } {
  const rank = node.shape.length;
  let axis = node.attrs.axis ?? -1;
  axis = axis < 0 ? rank + axis : axis - 1;
  const outer = sizeOf(node.shape.slice(0, axis));
  const blocks = node.inputs.map((i) => sizeOf(g.nodes[i].shape.slice(axis)));
  return { outer, blocks };
}

function linearOf(node: Node, g: Graph, fault?: Fault): LinearMatrix {
  const inShape = g.nodes[node.inputs[0]].shape;
  if (fault === 'same-padding-ceil' && node.attrs.conv?.padding === 'same') {
    return linearMatrix({ ...node, attrs: { ...node.attrs, conv: { ...node.attrs.conv, padding: samePadCeil(node, inShape) } } }, inShape);
  }
  if (fault === 'depthwise-channel-order' && node.op === 'depthwiseConv2d') {
    // output channel m*C + c instead of c*M + m
    const k = node.params.kernel!;
    const [KH, KW, C, M] = k.shape;
    const data = new Float32Array(k.data.length);
    for (let t = 0; t < KH * KW; t++) {
      for (let c = 0; c < C; c++) {
        for (let m = 0; m < M; m++) {
          const o = m * C + c;
          data[(t * C + Math.floor(o / M)) * M + (o % M)] = k.data[(t * C + c) * M + m];
        }
      }
    }
    return linearMatrix({ ...node, params: { ...node.params, kernel: { shape: k.shape, data } } }, inShape);
  }
  return linearMatrix(node, inShape);
}

function samePadCeil(node: Node, inShape: number[]): [[number, number], [number, number]] {
  const k = node.params.kernel!.shape;
  const { strides, dilations } = node.attrs.conv!;
  const one = (inSize: number, kk: number, s: number, d: number): [number, number] => {
    const out = Math.ceil(inSize / s);
    const total = Math.max((out - 1) * s + (kk - 1) * d + 1 - inSize, 0);
    return [Math.ceil(total / 2), total - Math.ceil(total / 2)];
  };
  return [one(inShape[0], k[0], strides[0], dilations[0]), one(inShape[1], k[1], strides[1], dilations[1])];
}

export function oracleForward(g: Graph, x: Float32Array, fault?: Fault): OracleForward {
  const acts: Float64Array[] = new Array(g.nodes.length);
  const cache: NodeCache[] = g.nodes.map(() => ({}));
  for (const node of g.nodes) {
    const ins = node.inputs.map((i) => acts[i]);
    const a = ins[0];
    const n = sizeOf(node.shape);
    const y = new Float64Array(n);
    const c = cache[node.id];
    switch (node.op) {
      case 'input':
        if (x.length !== n) throw new Error('oracle: input size');
        for (let i = 0; i < n; i++) y[i] = x[i];
        break;
      case 'conv2d': case 'depthwiseConv2d': case 'dense': case 'batchNorm': {
        const L = (c.lin = linearOf(node, g, fault));
        y.set(L.bias);
        for (let j = 0; j < L.nIn; j++) {
          const aj = a[j];
          if (aj === 0) continue;
          const row = j * L.nOut;
          for (let k = 0; k < L.nOut; k++) y[k] += aj * L.W[row + k];
        }
        break;
      }
      case 'activation': {
        const f = node.attrs.activation;
        if (f === 'softmax') {
          let m = -Infinity;
          for (let i = 0; i < n; i++) m = Math.max(m, a[i]);
          let s = 0;
          for (let i = 0; i < n; i++) s += (y[i] = Math.exp(a[i] - m));
          for (let i = 0; i < n; i++) y[i] /= s;
          break;
        }
        for (let i = 0; i < n; i++) {
          const v = a[i];
          switch (f) {
            case 'relu': y[i] = v > 0 ? v : 0; break;
            case 'linear': y[i] = v; break;
            case 'relu6': y[i] = Math.min(Math.max(v, 0), 6); break;
            case 'leakyRelu': y[i] = v > 0 ? v : (node.attrs.alpha ?? 0.2) * v; break;
            case 'elu': y[i] = v > 0 ? v : (node.attrs.alpha ?? 1) * Math.expm1(v); break;
            case 'sigmoid': y[i] = 1 / (1 + Math.exp(-v)); break;
            case 'tanh': y[i] = Math.tanh(v); break;
            case 'clip': y[i] = Math.min(Math.max(v, node.attrs.clipMin ?? -Infinity), node.attrs.clipMax ?? Infinity); break;
            default: throw new Error(`oracle: activation ${f}`);
          }
        }
        break;
      }
      case 'maxPool': {
        const P = (c.pool = poolWindows(node, g.nodes[node.inputs[0]].shape));
        c.winner = new Int32Array(P.nOut);
        for (let k = 0; k < P.nOut; k++) {
          const w = P.windows[k];
          let top = -Infinity;
          for (const j of w) top = Math.max(top, a[j]);
          // the winner: the first entry within MAX_POOL_TIE (relative) of the maximum (the last, under the fault)
          const ties = w.filter((j) => a[j] >= top - MAX_POOL_TIE * Math.abs(top));
          c.winner[k] = fault === 'max-pool-last-winner' ? ties[ties.length - 1] : ties[0];
          y[k] = top;
        }
        break;
      }
      case 'avgPool': {
        const P = (c.pool = poolWindows(node, g.nodes[node.inputs[0]].shape));
        const full = node.attrs.pool!.poolSize[0] * node.attrs.pool!.poolSize[1];
        for (let k = 0; k < P.nOut; k++) {
          let s = 0;
          for (const j of P.windows[k]) s += a[j];
          y[k] = s / (fault === 'avg-pool-full-count' ? full : P.windows[k].length);
        }
        break;
      }
      case 'globalAvgPool': {
        const C = n;
        const HW = a.length / C;
        for (let j = 0; j < a.length; j++) y[j % C] += a[j] / HW;
        break;
      }
      case 'flatten': case 'reshape': case 'identity':
        y.set(a);
        break;
      case 'add':
        for (const t of ins) for (let i = 0; i < n; i++) y[i] += t[i];
        break;
      case 'concat': {
        const { outer, blocks } = concatLayout(g, node);
        const order = fault === 'concat-reversed' ? ins.map((_, i) => ins.length - 1 - i) : ins.map((_, i) => i);
        let o = 0;
        for (let q = 0; q < outer; q++) {
          for (const i of order) {
            const b = blocks[i];
            for (let t = 0; t < b; t++) y[o++] = ins[i][q * b + t];
          }
        }
        break;
      }
      case 'pad': {
        const [H, W, C] = g.nodes[node.inputs[0]].shape;
        const p = node.attrs.pads!;
        const OW = node.shape[1];
        for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let ch = 0; ch < C; ch++) {
          y[((h + p[0][0]) * OW + (w + p[1][0])) * C + ch] = a[(h * W + w) * C + ch];
        }
        break;
      }
      default:
        throw new Error(`oracle: op ${node.op}`);
    }
    acts[node.id] = y;
  }
  return { acts, cache };
}

// ---------------------------------------------------------------- rules

/** R_j = Σ_k c(j,k) R_k / den(Σ_j c(j,k) + b_k); den(z) = z + e·sign(z) (or z + e with the fault). */
function zRule(
  L: LinearMatrix, c: (j: number, k: number) => number, bias: ((k: number) => number) | null, R: Float64Array,
  e: number | ((z: Float64Array) => number), fault?: Fault,
): Float64Array {
  const z = new Float64Array(L.nOut);
  if (bias) for (let k = 0; k < L.nOut; k++) z[k] = bias(k);
  for (let j = 0; j < L.nIn; j++) for (let k = 0; k < L.nOut; k++) z[k] += c(j, k);
  const eps = typeof e === 'number' ? e : e(z);
  const s = new Float64Array(L.nOut);
  for (let k = 0; k < L.nOut; k++) s[k] = R[k] / (z[k] + eps * (fault === 'epsilon-without-sign' ? 1 : sign(z[k])));
  const out = new Float64Array(L.nIn);
  for (let j = 0; j < L.nIn; j++) {
    let acc = 0;
    for (let k = 0; k < L.nOut; k++) if (s[k] !== 0) acc += c(j, k) * s[k];
    out[j] = acc;
  }
  return out;
}

const pos = (v: number): number => (v > 0 ? v : 0);
const neg = (v: number): number => (v < 0 ? v : 0);

/** Population standard deviation of z over all its elements. */
function std(z: Float64Array): number {
  let m = 0;
  for (const v of z) m += v;
  m /= z.length;
  let s = 0;
  for (const v of z) s += (v - m) * (v - m);
  return Math.sqrt(s / z.length);
}

/** Per-position z^B bounds of a layer's input, when they are known position by position (see zBoxBoundImages). */
export interface BoundImages {
  l: Float64Array;
  h: Float64Array;
}

export function applyRule(L: LinearMatrix, a: Float64Array, R: Float64Array, rule: ConcreteRule, fault?: Fault, images?: BoundImages): Float64Array {
  const W = (j: number, k: number): number => L.W[j * L.nOut + k];
  const n = L.nOut;
  switch (rule.kind) {
    case 'z': {
      // LRP-0 (e = stabilizer) and LRP-ε; the DTD 'origin' root drops the bias.
      const e = rule.stdScaled ? (z: Float64Array) => rule.eps * std(z) : rule.eps;
      return zRule(L, (j, k) => a[j] * W(j, k), rule.bias ? (k) => L.bias[k] : null, R, e, fault);
    }
    case 'gamma': {
      // sign-aware: outputs z ≥ 0 favour positive contributions (a⁺ with w+γw⁺, a⁻ with w+γw⁻, b+γb⁺),
      // outputs z < 0 negative ones (a⁺ with w+γw⁻, a⁻ with w+γw⁺, b+γb⁻)
      // bias-free (zero_params='bias'): b = 0 everywhere, also in the z that picks the branch (Zennit picks it by
      // the output with bias; its denominators then can have the opposite sign and overflow, see presets.ts)
      const g = rule.gamma;
      const gb = fault === 'gamma-without-bias' ? 0 : g;
      const B = (k: number): number => (rule.bias ? L.bias[k] : 0);
      const zAct = new Float64Array(n);
      for (let k = 0; k < n; k++) zAct[k] = B(k);
      for (let j = 0; j < L.nIn; j++) for (let k = 0; k < n; k++) zAct[k] += a[j] * W(j, k);
      const wp = (j: number, k: number): number => W(j, k) + g * pos(W(j, k));
      const wn = (j: number, k: number): number => W(j, k) + g * neg(W(j, k));
      const rUp = R.map((v, k) => (zAct[k] >= 0 ? v : 0));
      const rDown = R.map((v, k) => (zAct[k] >= 0 ? 0 : v));
      const up = zRule(L, (j, k) => pos(a[j]) * wp(j, k) + neg(a[j]) * wn(j, k), (k) => B(k) + gb * pos(B(k)), rUp, STAB);
      const down = zRule(L, (j, k) => pos(a[j]) * wn(j, k) + neg(a[j]) * wp(j, k), (k) => B(k) + gb * neg(B(k)), rDown, STAB);
      return up.map((v, j) => v + down[j]);
    }
    case 'pass':
      return R.slice();
    case 'sign': {
      const mu = fault === 'sign-ignores-mu' ? 0 : rule.mu;
      const z = new Float64Array(n);
      for (let k = 0; k < n; k++) z[k] = rule.bias ? L.bias[k] : 0;
      for (let j = 0; j < L.nIn; j++) for (let k = 0; k < n; k++) z[k] += a[j] * W(j, k);
      const out = new Float64Array(L.nIn);
      for (let j = 0; j < L.nIn; j++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += W(j, k) * R[k] / (z[k] + STAB * sign(z[k]));
        out[j] = (a[j] >= mu ? 1 : -1) * acc;
      }
      return out;
    }
    case 'alpha-beta': {
      const swap = fault === 'alpha-beta-bias-swapped';
      const dropNeg = fault === 'alpha-beta-drops-negative-inputs';
      const an = (j: number): number => (dropNeg ? 0 : neg(a[j]));
      // positive part: a⁺w⁺ + a⁻w⁻ (+ b⁺); negative part: a⁺w⁻ + a⁻w⁺ (+ b⁻)
      const rp = zRule(L, (j, k) => pos(a[j]) * pos(W(j, k)) + an(j) * neg(W(j, k)),
        rule.bias ? (k) => (swap ? neg : pos)(L.bias[k]) : null, R, STAB);
      if (rule.beta === 0) return rp.map((v) => rule.alpha * v);
      const rn = zRule(L, (j, k) => pos(a[j]) * neg(W(j, k)) + an(j) * pos(W(j, k)),
        rule.bias ? (k) => (swap ? pos : neg)(L.bias[k]) : null, R, STAB);
      return rp.map((v, j) => rule.alpha * v - rule.beta * rn[j]);
    }
    case 'z-plus':
      // R_j = Σ_k (a_j w_jk)⁺ / (Σ_j (a_j w_jk)⁺ + b_k⁺) · R_k
      return zRule(L, (j, k) => pos(a[j] * W(j, k)), rule.bias ? (k) => pos(L.bias[k]) : null, R, STAB);
    case 'flat': {
      if (fault === 'flat-counts-padding') {
        // wrong: every output divides by the full (unpadded) receptive-field size
        let full = 0;
        for (let k = 0; k < n; k++) {
          let c = 0;
          for (let j = 0; j < L.nIn; j++) c += L.conn[j * n + k];
          full = Math.max(full, c);
        }
        const out = new Float64Array(L.nIn);
        for (let j = 0; j < L.nIn; j++) for (let k = 0; k < n; k++) if (L.conn[j * n + k]) out[j] += R[k] / full;
        return out;
      }
      return zRule(L, (j, k) => L.conn[j * n + k], null, R, STAB);
    }
    case 'w-square':
      return zRule(L, (j, k) => (fault === 'w-square-uses-abs' ? Math.abs(W(j, k)) : W(j, k) * W(j, k)), null, R, STAB);
    case 'z-box': {
      // Per-channel bounds are the image's (DESIGN.md: from the model card). A dense first layer sees the
      // flattened HWC image, so its input j lies in image channel j mod C.
      const bound = (v: number | number[], j: number): number => {
        if (!Array.isArray(v)) return v;
        if (v.length === L.inChannels) return v[L.inChannel(j)];
        if (L.nIn === L.inChannels && L.nIn % v.length === 0) return v[j % v.length];
        throw new Error(`oracle: ${v.length} z-box bounds for a layer with ${L.inChannels} input channels`);
      };
      const [lo, hi] = fault === 'z-box-bounds-swapped' ? [rule.high, rule.low] : [rule.low, rule.high];
      let l: Float64Array = Float64Array.from({ length: L.nIn }, (_, j) => bound(lo, j));
      let h: Float64Array = Float64Array.from({ length: L.nIn }, (_, j) => bound(hi, j));
      if (images) [l, h] = fault === 'z-box-bounds-swapped' ? [images.h, images.l] : [images.l, images.h];
      return zRule(L, (j, k) => a[j] * W(j, k) - l[j] * pos(W(j, k)) - h[j] * neg(W(j, k)), null, R, STAB);
    }
  }
}

/**
 * The z^B bounds are bounds on the image (DESIGN.md: per channel, from the model card). When a layer
 * reads the image through structural ops only (ZeroPadding, Flatten, Reshape), its input positions are
 * image pixels or constant padding: a pixel in channel c gets [l_c, h_c], a padded zero gets [0, 0] (it
 * cannot move, so it takes no relevance and z^B stays exactly conservative). Returns undefined for a
 * layer deeper in the net (its bounds then apply per channel of its own input).
 */
export function zBoxBoundImages(g: Graph, node: Node, low: number | number[], high: number | number[]): BoundImages | undefined {
  const chain: Node[] = [];
  let id = node.inputs[0];
  while (id !== g.input) {
    const n = g.nodes[id];
    const passive = ['pad', 'flatten', 'reshape', 'identity', 'batchNorm'].includes(n.op) || (n.op === 'activation' && n.attrs.activation === 'linear');
    if (!passive || n.inputs.length !== 1) return undefined;
    chain.unshift(n);
    id = n.inputs[0];
  }
  const inShape = g.nodes[g.input].shape;
  const C = inShape[inShape.length - 1];
  const image = (v: number | number[]): Float64Array => {
    if (Array.isArray(v) && v.length !== C) throw new Error(`oracle: ${v.length} z-box bounds for an image with ${C} channels`);
    return Float64Array.from({ length: sizeOf(inShape) }, (_, i) => (Array.isArray(v) ? v[i % C] : v));
  };
  let l = image(low);
  let h = image(high);
  for (const n of chain) {
    if (n.op === 'batchNorm') {
      // per-channel affine y = s·x + t maps [l, h] onto [min, max] of the two images
      const { mean, variance, gamma, beta } = n.params;
      const eps = n.attrs.epsilon ?? 1e-3;
      const CC = n.shape[n.shape.length - 1];
      const map = (v: number, c: number): number => {
        const sc = (gamma ? gamma.data[c] : 1) / Math.sqrt(variance!.data[c] + eps);
        return v * sc + (beta ? beta.data[c] : 0) - mean!.data[c] * sc;
      };
      const l2 = l.map((v, i) => map(v, i % CC));
      const h2 = h.map((v, i) => map(v, i % CC));
      l = l2.map((v, i) => Math.min(v, h2[i]));
      h = l2.map((v, i) => Math.max(v, h2[i]));
      continue;
    }
    if (n.op !== 'pad') continue;
    const [H, W, CC] = g.nodes[n.inputs[0]].shape;
    const p = n.attrs.pads!;
    const OW = n.shape[1];
    const embed = (v: Float64Array): Float64Array => {
      const out = new Float64Array(sizeOf(n.shape));
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < CC; c++) {
        out[((y + p[0][0]) * OW + (x + p[1][0])) * CC + c] = v[(y * W + x) * CC + c];
      }
      return out;
    };
    l = embed(l);
    h = embed(h);
  }
  return { l, h };
}

// ---------------------------------------------------------------- backward walk

type Handler = (node: Node, R: Float64Array, fw: OracleForward) => Float64Array[];

function walk(g: Graph, fw: OracleForward, start: Float64Array, handler: Handler): { input: Float64Array; sums: Map<string, { out: number; in: number }> } {
  const pending: (Float64Array | undefined)[] = new Array(g.nodes.length);
  pending[g.output] = start;
  const sums = new Map<string, { out: number; in: number }>();
  const total = (v: Float64Array): number => v.reduce((s, x) => s + x, 0);
  for (let id = g.output; id >= 0; id--) {
    const R = pending[id];
    if (!R || id === g.input) continue;
    const node = g.nodes[id];
    const parts = handler(node, R, fw);
    sums.set(node.name, { out: total(R), in: parts.reduce((s, p) => s + total(p), 0) });
    node.inputs.forEach((i, q) => {
      const prev = pending[i];
      if (prev) for (let t = 0; t < prev.length; t++) prev[t] += parts[q][t];
      else pending[i] = Float64Array.from(parts[q]);
    });
  }
  return { input: pending[g.input]!, sums };
}

/** Handlers of the structural ops shared by LRP and the gradient: pooling/add differ, the rest splits/crops/reshapes. */
function structural(g: Graph, node: Node, R: Float64Array, fault?: Fault): Float64Array[] | undefined {
  switch (node.op) {
    case 'flatten': case 'reshape': case 'identity': case 'activation':
      return [R];
    case 'concat': {
      const { outer, blocks } = concatLayout(g, node);
      const parts = blocks.map((b) => new Float64Array(outer * b));
      const order = fault === 'concat-reversed' ? blocks.map((_, i) => blocks.length - 1 - i) : blocks.map((_, i) => i);
      let o = 0;
      for (let q = 0; q < outer; q++) for (const i of order) for (let t = 0; t < blocks[i]; t++) parts[i][q * blocks[i] + t] = R[o++];
      return parts;
    }
    case 'pad': {
      const [H, W, C] = g.nodes[node.inputs[0]].shape;
      const p = node.attrs.pads!;
      const OW = node.shape[1];
      const out = new Float64Array(H * W * C);
      for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let ch = 0; ch < C; ch++) {
        out[(h * W + w) * C + ch] = R[((h + p[0][0]) * OW + (w + p[1][0])) * C + ch];
      }
      return [out];
    }
    default:
      return undefined;
  }
}

/** LRP at the input for a composite (default epsilon-gamma-box) plus per-layer overrides. */
export function oracleLrp(g: Graph, x: Float32Array, opts: OracleOptions = {}): OracleResult {
  const fault = opts.fault;
  const fw = oracleForward(g, x, fault);
  const logits = fw.acts[g.output];
  let target = opts.targetClass ?? -1;
  if (target < 0) {
    target = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[target]) target = i;
  }
  const inShape = g.nodes[g.input].shape;
  const inputRange = (): { low: number[]; high: number[] } => {
    const C = inShape[inShape.length - 1];
    const low = new Array(C).fill(Infinity);
    const high = new Array(C).fill(-Infinity);
    for (let i = 0; i < x.length; i++) {
      low[i % C] = Math.min(low[i % C], x[i]);
      high[i % C] = Math.max(high[i % C], x[i]);
    }
    return { low, high };
  };
  const specs = oracleRuleSpecs(g, opts.composite ?? 'epsilon-gamma-box', opts.rules);
  const rules = new Map<string, ConcreteRule>();
  for (const [name, spec] of specs) rules.set(name, concreteRule(spec, opts.params, inputRange));

  const start = new Float64Array(logits.length);
  start[target] = logits[target];
  const res = walk(g, fw, start, (node, R) => {
    const s = structural(g, node, R, fault);
    if (s) return s;
    const a = fw.acts[node.inputs[0]];
    const z = fw.acts[node.id];
    const c = fw.cache[node.id];
    switch (node.op) {
      case 'conv2d': case 'depthwiseConv2d': case 'dense': case 'batchNorm': {
        const rule = rules.get(node.name)!;
        const images = rule.kind === 'z-box' ? zBoxBoundImages(g, node, rule.low, rule.high) : undefined;
        return [applyRule(c.lin!, a, R, rule, fault, images)];
      }
      case 'maxPool': {
        const out = new Float64Array(a.length);
        for (let k = 0; k < R.length; k++) out[c.winner![k]] += R[k];
        return [out];
      }
      case 'avgPool': {
        const out = new Float64Array(a.length);
        const full = node.attrs.pool!.poolSize[0] * node.attrs.pool!.poolSize[1];
        for (let k = 0; k < R.length; k++) {
          const w = c.pool!.windows[k];
          const s = R[k] / (z[k] + STAB * sign(z[k])) / (fault === 'avg-pool-full-count' ? full : w.length);
          for (const j of w) out[j] += a[j] * s;
        }
        return [out];
      }
      case 'globalAvgPool': {
        const C = R.length;
        const HW = a.length / C;
        const out = new Float64Array(a.length);
        for (let j = 0; j < a.length; j++) out[j] = (a[j] / HW) * (R[j % C] / (z[j % C] + STAB * sign(z[j % C])));
        return [out];
      }
      case 'add': {
        if (fault === 'add-equal-split') return node.inputs.map(() => R.map((v) => v / node.inputs.length));
        return node.inputs.map((i) => {
          const ai = fw.acts[i];
          return ai.map((v, t) => (v * R[t]) / (z[t] + STAB * sign(z[t])));
        });
      }
      default:
        throw new Error(`oracle: no LRP handler for ${node.op}`);
    }
  });
  return { logits, target, relevance: res.input, sums: res.sums, rules };
}

/**
 * ∂logit_c/∂x through the same matrices (transposes), ReLU masks, max-pool winners and pooling weights:
 * the gradient oracle for gradient×input identities on IR graphs (e.g. a bias-free copy of a model).
 */
export function oracleGradient(g: Graph, x: Float32Array, target: number): { gradient: Float64Array; logits: Float64Array } {
  const fw = oracleForward(g, x);
  const start = new Float64Array(fw.acts[g.output].length);
  start[target] = 1;
  const res = walk(g, fw, start, (node, G) => {
    if (node.op === 'activation') {
      const f = node.attrs.activation;
      if (f === 'linear') return [G];
      if (f !== 'relu') throw new Error(`oracle gradient: activation ${f}`);
      const zin = fw.acts[node.inputs[0]];
      return [G.map((v, t) => (zin[t] > 0 ? v : 0))];
    }
    const s = structural(g, node, G);
    if (s) return s;
    const c = fw.cache[node.id];
    const nIn = sizeOf(g.nodes[node.inputs[0]].shape);
    switch (node.op) {
      case 'conv2d': case 'depthwiseConv2d': case 'dense': case 'batchNorm': {
        const L = c.lin!;
        const out = new Float64Array(L.nIn);
        for (let j = 0; j < L.nIn; j++) {
          let acc = 0;
          for (let k = 0; k < L.nOut; k++) acc += L.W[j * L.nOut + k] * G[k];
          out[j] = acc;
        }
        return [out];
      }
      case 'maxPool': {
        const out = new Float64Array(nIn);
        for (let k = 0; k < G.length; k++) out[c.winner![k]] += G[k];
        return [out];
      }
      case 'avgPool': {
        const out = new Float64Array(nIn);
        for (let k = 0; k < G.length; k++) for (const j of c.pool!.windows[k]) out[j] += G[k] / c.pool!.windows[k].length;
        return [out];
      }
      case 'globalAvgPool': {
        const C = G.length;
        const out = new Float64Array(nIn);
        for (let j = 0; j < nIn; j++) out[j] = G[j % C] / (nIn / C);
        return [out];
      }
      case 'add':
        return node.inputs.map(() => Float64Array.from(G));
      default:
        throw new Error(`oracle gradient: op ${node.op}`);
    }
  });
  return { gradient: res.input, logits: fw.acts[g.output] };
}
