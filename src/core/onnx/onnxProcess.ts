/**
 * Entry of dist/onnxProcess.js: an engine process of its own that loads one model and runs its compiled
 * explanations on onnxruntime (OnnxExplainer, universal rule changes), for ProcessExplainer.
 *
 * Why a process: inside VS Code's extension host the same session.run took 2× as long as in a plain
 * node process, with 20–70k page faults per run in onnxruntime's threads against none; a plain node
 * child of the extension host ran at the bare process's speed (README, "the extension's rule change").
 *
 * It exits when its parent goes (the IPC channel closes), so it never outlives the editor.
 */
import { openModel } from '../pipeline';
import { LensError } from '../errors';
import { ruleParamsFor, checkInputFor } from '../methods/explain';
import { OnnxExplainer, ruleChangeOptions } from './onnxExplainer';
import type { PatternSet } from '../patterns/patternSet';
import type { ExplainOptions } from '../methods/types';
import { selectBackend } from './engineBackend';
import { graphIdentity, toProcessError, type ProcessReply, type ProcessRequest } from './processProtocol';

if (!process.send) throw new Error('onnxProcess must run as a child process with an IPC channel');

process.on('disconnect', () => process.exit(0));

let explainer: Promise<OnnxExplainer> | undefined;
/** explanations under way, and those of them the caller cancelled */
const running = new Set<number>();
const cancelled = new Set<number>();
/** the last pattern set received (requests after it name it by id) */
let patterns: PatternSet | undefined;

function send(m: ProcessReply): void {
  process.send!(m);
}

/**
 * How long the process waits, idle after an explanation, before it builds what the first rule change
 * needs (OnnxExplainer.prepareRuleChanges). A request arriving meanwhile waits for the build (ResNet-50:
 * ~1.7–1.85 s in all on a quiet machine; onnxruntime blocks the thread while it creates a session, and the
 * products the build makes are the ones a rule change would make); one arriving first cancels it.
 */
const PREPARE_AFTER_MS = 150;
let prepareTimer: NodeJS.Timeout | undefined;
/** the build under way: an explanation waits for it rather than make the same products beside it */
let preparing: Promise<unknown> | undefined;

function prepareWhenIdle(x: OnnxExplainer): void {
  clearTimeout(prepareTimer);
  prepareTimer = setTimeout(() => {
    if (running.size > 0) return;
    preparing = x.prepareRuleChanges().catch(() => undefined).finally(() => {
      preparing = undefined;
      // then, idle still, the own graph new images run on (OnnxExplainer.prepareNewImages): no request
      // waits for it, and one arriving first cancels it (handle)
      prepareTimer = setTimeout(() => {
        if (running.size === 0) void x.prepareNewImages().catch(() => undefined);
      }, PREPARE_AFTER_MS);
    });
  }, PREPARE_AFTER_MS);
}

async function open(file: string, lean: boolean): Promise<OnnxExplainer> {
  // the tfjs backend too: Deep Taylor's root point image is computed on it (onnxExplainer.ts rootPoint)
  await selectBackend('onnx');
  const { graph } = await openModel(file, undefined, { keepRaw: false });
  // this process builds what rule changes run on whenever it is idle (prepareWhenIdle)
  return new OnnxExplainer(graph, { ...ruleChangeOptions(lean), idleBuild: true });
}

async function handle(m: ProcessRequest): Promise<void> {
  if (m.type !== 'stats') clearTimeout(prepareTimer);
  switch (m.type) {
    case 'cancel':
      if (running.has(m.id)) cancelled.add(m.id);
      return;
    case 'stats':
      send({ type: 'stats', id: m.id, rss: process.memoryUsage().rss, peak: process.resourceUsage().maxRSS * 1024 });
      return;
    case 'open': {
      explainer = open(m.file, !!m.lean);
      send({ type: 'opened', id: m.id, identity: graphIdentity((await explainer).graph) });
      return;
    }
    case 'explain': {
      if (!explainer) throw new Error('explain before open');
      if (m.patterns) patterns = m.patterns;
      if (m.patternsId !== undefined && patterns?.id !== m.patternsId) throw new Error(`pattern set ${m.patternsId} was not sent`);
      const opts: ExplainOptions = { ...m.opts, ...(m.patternsId !== undefined ? { patterns } : {}) };
      // running while it waits for the model or the idle build: a cancel meanwhile stops it before it starts
      running.add(m.id);
      const checkpoint = (): void => {
        if (cancelled.has(m.id)) throw new LensError('cancelled', 'cancelled');
      };
      try {
        const x = await explainer;
        await preparing;
        // from the caller's send to here: the message waits while onnxruntime creates the idle build's
        // session on this thread, then for the build's products (the integration spec prints it)
        const queuedMs = Math.max(0, Date.now() - m.sentAt);
        checkpoint();
        checkInputFor(x.graph, m.input);
        const plan = x.plan(opts, ruleParamsFor(x.graph, m.input, opts));
        if ('reason' in plan) {
          send({ type: 'fallback', id: m.id, reason: plan.reason });
          return;
        }
        const result = await x.explain(m.input, opts, { checkpoint, ...(m.keepLayers ? { keepLayers: m.keepLayers } : {}) });
        send({ type: 'result', id: m.id, result: { ...result, timings: { ...result.timings, queuedMs } } });
      } finally {
        running.delete(m.id);
        cancelled.delete(m.id);
      }
      if (running.size === 0) prepareWhenIdle(await explainer);
      return;
    }
  }
}

process.on('message', (m: ProcessRequest) => {
  handle(m).catch((e: unknown) => send({ type: 'error', id: m.id, error: toProcessError(e) }));
});
