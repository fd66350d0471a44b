/**
 * Per-token relevance of a vision transformer's patch tokens: the sequence [1, T, D] that a class token
 * joins (ViT's concat) is the grid of patches; summing a kept relevance over the features gives one
 * value per patch, laid out on the gh × gw patch grid and spread over each patch's pixels so the same
 * heatmap renderer draws it over the image.
 */
import type { Graph } from '../graph/ir';

export interface PatchTokens {
  /** node whose output is the patch sequence [1, T, D] */
  node: number;
  name: string;
  grid: [number, number];
  /** the concat joining the class token to the patches, and the class token's rows in its output */
  joined: string;
  classRows: [number, number];
}

export function patchTokens(g: Graph): PatchTokens | undefined {
  const [H, W] = g.nodes[g.input].shape;
  for (const n of g.nodes) {
    if (n.op !== 'concat' || n.inputs.length !== 2 || n.attrs.axis !== 2) continue;
    const [a, b] = n.inputs.map((i) => g.nodes[i]);
    const tokens = a.op === 'constant' ? b : b.op === 'constant' ? a : undefined;
    if (!tokens || tokens.shape.length !== 3 || tokens.shape[0] !== 1) continue;
    const T = tokens.shape[1];
    const gh = Math.round(Math.sqrt((T * H) / W));
    const gw = T / gh;
    if (!Number.isInteger(gw) || gh * gw !== T || H % gh !== 0 || W % gw !== 0) continue;
    const cls = tokens === a ? b : a;
    const classRows: [number, number] = tokens === a ? [T, cls.shape[1]] : [0, cls.shape[1]];
    return { node: tokens.id, name: tokens.name, grid: [gh, gw], joined: n.name, classRows };
  }
  return undefined;
}

/** Σ over features of a [1, T, D] relevance: one value per patch (row-major over the grid). */
export function tokenRelevance(rel: { shape: number[]; data: Float32Array }): Float32Array {
  const [, T, D] = rel.shape;
  const out = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += rel.data[t * D + d];
    out[t] = s;
  }
  return out;
}

/** The patch values as an [H, W, 1] map (each patch's value on all its pixels). */
export function tokenMapToImage(tokens: Float32Array, grid: [number, number], size: [number, number]): { shape: number[]; data: Float32Array } {
  const [gh, gw] = grid;
  const [H, W] = size;
  const ph = H / gh;
  const pw = W / gw;
  const data = new Float32Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = tokens[Math.floor(y / ph) * gw + Math.floor(x / pw)];
  return { shape: [H, W, 1], data };
}

/** Relevance kept at the patch tokens and the joined sequence -> one value per patch and the class token's total. */
export function tokenStage(t: PatchTokens, kept: Record<string, { shape: number[]; data: Float32Array }> | undefined): { values: Float32Array; classToken?: number } | undefined {
  const patches = kept?.[t.name];
  if (!patches) return undefined;
  const values = tokenRelevance(patches);
  const joined = kept[t.joined];
  if (!joined) return { values };
  const rows = tokenRelevance(joined);
  let classToken = 0;
  for (let i = t.classRows[0]; i < t.classRows[0] + t.classRows[1]; i++) classToken += rows[i];
  return { values, classToken };
}
