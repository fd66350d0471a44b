/**
 * The content of a patterns file: per layer the mergeable moments (all rows, positive regime), the
 * held-out joint moments of the quality measure, and what follows from them (patterns, ρ).
 * `finalize` recomputes the derived parts; `mergeStats` adds two fits of the same model.
 */
import type { OpKind } from '../graph/ir';
import { LensError } from '../errors';
import { JointMoments, Moments } from './moments';
import { linearPattern, negativePattern, reluPattern } from './compute';
import { rhoOfLayer, type RhoValues } from './rho';
import { newPatternSetId, type PatternRegime, type PatternSet } from './patternSet';

export interface RhoConfig {
  /** neurons evaluated per layer, output positions sampled per image, largest patch size evaluated */
  neurons: number;
  positions: number;
  maxDim: number;
}

export interface LayerRho {
  neurons: number[];
  positions: number[];
  groups: { neurons: number[]; channel?: number; moments: JointMoments }[];
  /** w of the plan's neurons, [gd × neurons] */
  w: Float64Array;
}

export interface LayerStats {
  name: string;
  op: OpKind;
  kernelShape: number[];
  regime: PatternRegime;
  d: number;
  k: number;
  all: Moments;
  plus?: Moments;
  rho?: LayerRho;
  /** why ρ is not evaluated for this layer (too large a patch, ρ disabled) */
  rhoSkipped?: string;
  // derived by finalize()
  linear?: Float32Array;
  relu?: Float32Array;
  rhoValues?: RhoValues;
}

export interface PatternStats {
  model: { name: string; fingerprint: string };
  images: { fit: number; heldOut: number };
  holdout: number;
  rhoConfig: RhoConfig | null;
  created: string;
  layers: LayerStats[];
}

/**
 * Derives ρ and, unless `patterns` is false, the patterns. Without them a writer derives the patterns
 * block by block as it writes (a VGG16 fit holds no extra 1.1 GB of float32 patterns); ρ needs only
 * the plan's neurons, so it is computed from their columns alone.
 */
export function finalize(s: PatternStats, opts: { patterns?: boolean } = {}): PatternStats {
  s.layers.forEach((l, li) => {
    if (opts.patterns === false) {
      delete l.linear;
      delete l.relu;
    } else {
      l.linear = linearPattern(l.all);
      l.relu = l.plus ? reluPattern(l.all, l.plus) : undefined;
    }
    if (l.rho && l.rho.groups.some((gr) => gr.moments.n > 0)) {
      const cols = l.rho.neurons;
      const all = l.all.columns(cols);
      const plus = l.plus?.columns(cols);
      l.rhoValues = rhoOfLayer({
        regime: l.regime, groups: l.rho.groups, w: l.rho.w, planNeurons: cols,
        linear: linearPattern(all), relu: plus ? reluPattern(all, plus) : undefined, negative: plus ? negativePattern(all, plus) : undefined, seed: li + 1,
      });
    } else l.rhoValues = undefined;
  });
  return s;
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** a ∪ b (disjoint data) of one model; ρ is kept when both were evaluated the same way. */
export function mergeStats(a: PatternStats, b: PatternStats, files: [string, string] = ['A', 'B']): PatternStats {
  if (a.model.fingerprint !== b.model.fingerprint) {
    throw new LensError('bad-patterns', `fitted on a different model than ${files[0]} ('${b.model.name}' vs '${a.model.name}'): patterns of different models cannot be merged`, files[1]);
  }
  if (a.layers.length !== b.layers.length) throw new LensError('bad-patterns', `has ${b.layers.length} layers, ${files[0]} has ${a.layers.length}`, files[1]);
  const rhoSame = !!a.rhoConfig && !!b.rhoConfig && a.rhoConfig.neurons === b.rhoConfig.neurons
    && a.rhoConfig.positions === b.rhoConfig.positions && a.rhoConfig.maxDim === b.rhoConfig.maxDim;
  const layers = a.layers.map((la, i) => {
    const lb = b.layers[i];
    if (la.name !== lb.name || !same(la.kernelShape, lb.kernelShape) || la.regime !== lb.regime) {
      throw new LensError('bad-patterns', `layer ${i} is '${lb.name}' ${lb.kernelShape.join('×')}, ${files[0]} has '${la.name}' ${la.kernelShape.join('×')}`, files[1]);
    }
    const all = la.all.clone();
    all.merge(lb.all);
    let plus: Moments | undefined;
    if (la.plus && lb.plus) {
      plus = la.plus.clone();
      plus.merge(lb.plus);
    }
    let rho: LayerRho | undefined;
    if (rhoSame && la.rho && lb.rho && same(la.rho.neurons, lb.rho.neurons) && same(la.rho.positions, lb.rho.positions)) {
      rho = {
        neurons: la.rho.neurons.slice(), positions: la.rho.positions.slice(), w: la.rho.w.slice(),
        groups: la.rho.groups.map((g, gi) => {
          const m = new JointMoments(g.moments.d, g.moments.m);
          m.merge(g.moments);
          m.merge(lb.rho!.groups[gi].moments);
          return { neurons: g.neurons.slice(), ...(g.channel !== undefined ? { channel: g.channel } : {}), moments: m };
        }),
      };
    }
    const out: LayerStats = { name: la.name, op: la.op, kernelShape: la.kernelShape.slice(), regime: la.regime, d: la.d, k: la.k, all, plus };
    if (rho) out.rho = rho;
    else if (la.rhoSkipped ?? lb.rhoSkipped) out.rhoSkipped = la.rhoSkipped ?? lb.rhoSkipped;
    else if (la.rho || lb.rho) out.rhoSkipped = 'the merged files evaluated ρ differently';
    return out;
  });
  return finalize({
    model: { ...a.model },
    images: { fit: a.images.fit + b.images.fit, heldOut: a.images.heldOut + b.images.heldOut },
    holdout: a.holdout === b.holdout ? a.holdout : NaN,
    rhoConfig: rhoSame ? a.rhoConfig : null,
    created: new Date().toISOString(),
    layers,
  });
}

/** The explainer's view of a fit. */
export function toPatternSet(s: PatternStats, file?: string): PatternSet {
  if (!s.layers.every((l) => l.linear)) finalize(s);
  return {
    id: newPatternSetId(),
    ...(file ? { file } : {}),
    fingerprint: s.model.fingerprint,
    modelName: s.model.name,
    images: { ...s.images },
    layers: s.layers.map((l) => ({
      name: l.name, op: l.op, kernelShape: l.kernelShape.slice(), regime: l.regime, linear: l.linear!,
      ...(l.relu ? { relu: l.relu } : {}),
    })),
  };
}
