/**
 * One fuzz worker process: runs cases the parent sends, one at a time, and answers with the outcome.
 * A model case loads the file (parse, canonize, model card, supported-op check); a loaded LeNet and
 * every decoded image is then explained (LRP on the cpu backend), so decoded garbage meets the engine too.
 * Anything but a result or a one-line LensError is a crash; the parent detects hangs and exits.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/engine/backend';
import { openModel, readInput, type OpenedModel } from '../../src/core/pipeline';
import { Explainer } from '../../src/core/methods/explain';
import { assertSupported } from '../../src/core/graph/summary';
import { isLensError } from '../../src/core/errors';
import { ROOT } from './seeds';

export interface CaseMsg {
  id: number;
  kind: 'model' | 'image';
  file: string;
}
export interface ResultMsg {
  id: number;
  outcome: 'ok' | 'lens-error' | 'crash';
  message?: string;
  rss: number;
  tensors: number;
}

let lenet: OpenedModel;
let explainer: Explainer;

function explainOnce(model: OpenedModel, ex: Explainer, file: string): void {
  const digit = readInput(path.join(ROOT, 'demo', 'digits', 'digit-3.png'), model);
  ex.checkInput(digit.input, file);
  ex.explain(digit.input, { method: 'lrp', composite: 'epsilon-gamma-box', targetClass: 'top' });
}

async function runCase(c: CaseMsg): Promise<void> {
  if (c.kind === 'model') {
    const m = await openModel(c.file);
    assertSupported(m.graph, c.file);
    const inShape = m.graph.nodes[m.graph.input].shape;
    // only the small LeNet-shaped models are explained: a mutated 64×64 graph model is parsed and checked
    if (inShape.length === 3 && inShape[0] * inShape[1] * inShape[2] <= 28 * 28 * 3) {
      const ex = new Explainer(m.graph);
      try {
        explainOnce(m, ex, c.file);
      } finally {
        ex.dispose();
      }
    }
  } else {
    const { input } = readInput(c.file, lenet);
    explainer.checkInput(input, c.file);
    explainer.explain(input, { method: 'lrp', composite: 'epsilon-gamma-box', targetClass: 'top' });
  }
}

async function main(): Promise<void> {
  await initBackend('cpu');
  lenet = await openModel(path.join(ROOT, 'demo', 'lenet', 'model.json'));
  explainer = new Explainer(lenet.graph);
  process.on('message', (c: CaseMsg) => {
    void (async () => {
      let outcome: ResultMsg['outcome'] = 'ok';
      let message: string | undefined;
      try {
        await runCase(c);
      } catch (e) {
        message = (e as Error)?.message ?? String(e);
        outcome = isLensError(e) && !message.includes('\n') ? 'lens-error' : 'crash';
        if (outcome === 'crash') message = (e as Error)?.stack ?? message;
      }
      const reply: ResultMsg = { id: c.id, outcome, message, rss: process.memoryUsage().rss, tensors: tf.memory().numTensors };
      process.send!(reply);
    })();
  });
  process.send!({ ready: true });
}

void main();
