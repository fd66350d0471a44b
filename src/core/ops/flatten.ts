/** Flatten: [H, W, C] -> [H·W·C] in NHWC order; everything but the shape rule is reshape's. */
import { sizeOf } from '../graph/ir';
import type { OpDef } from './types';
import { reshape } from './reshape';

export const flatten: OpDef = { ...reshape, kind: 'flatten', shape: (_n, ins) => [sizeOf(ins[0])] };
