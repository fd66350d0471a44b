/** Random-weight reference architectures for benchmarks (built straight into the IR). */
import type { Graph, ParamArray } from '../src/core/graph/ir';
import { GraphBuilder } from '../src/core/graph/builder';

/** Deterministic He-normal-ish weights (Box–Muller on a small LCG). */
export function randomParam(shape: number[], fanIn: number, seed: number): ParamArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0 || 1;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const std = Math.sqrt(2 / fanIn);
  for (let i = 0; i < n; i++) data[i] = Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd()) * std;
  return { shape, data };
}

function biasParam(n: number, seed: number): ParamArray {
  const p = randomParam([n], 1, seed);
  for (let i = 0; i < n; i++) p.data[i] *= 0.01;
  return p;
}

/** VGG16 (configuration D) at size×size×3 with a 1000-way classifier. */
export function vgg16(size = 224, classes = 1000): Graph {
  const b = new GraphBuilder('vgg16');
  let x = b.add({ name: 'input', op: 'input', inputs: [], shape: [size, size, 3] });
  const blocks = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]];
  let inC = 3;
  let seed = 1;
  blocks.forEach((block, bi) => {
    block.forEach((c, ci) => {
      const name = `block${bi + 1}_conv${ci + 1}`;
      x = b.add({
        name, op: 'conv2d', inputs: [x], sourceClass: 'Conv2D',
        params: { kernel: randomParam([3, 3, inC, c], 9 * inC, seed++), bias: biasParam(c, seed++) },
        attrs: { conv: { strides: [1, 1], padding: 'same', dilations: [1, 1] } },
      });
      x = b.add({ name: `${name}/relu`, op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
      inC = c;
    });
    x = b.add({ name: `block${bi + 1}_pool`, op: 'maxPool', inputs: [x], attrs: { pool: { poolSize: [2, 2], strides: [2, 2], padding: 'valid' } } });
  });
  x = b.add({ name: 'flatten', op: 'flatten', inputs: [x] });
  let inF = b.nodes[x].shape[0];
  for (const [name, units] of [['fc1', 4096], ['fc2', 4096], ['predictions', classes]] as [string, number][]) {
    x = b.add({ name, op: 'dense', inputs: [x], params: { kernel: randomParam([inF, units], inF, seed++), bias: biasParam(units, seed++) } });
    if (name !== 'predictions') x = b.add({ name: `${name}/relu`, op: 'activation', inputs: [x], attrs: { activation: 'relu' } });
    inF = units;
  }
  return b.build('vgg16-random', 'bench', x);
}
