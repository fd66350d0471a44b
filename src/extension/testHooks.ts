/**
 * What the integration suite drives the extension with beyond its public API: operating the panel's
 * controls, the drawn pixels, a clean starting point, a crashed or hung engine worker. Switched on only
 * by RELEVANCE_LENS_TEST_HOOKS=1, which the integration runners set (scripts/integration/run.mjs,
 * run-electron.mjs); in a user's VS Code the API carries none of it and the panel reports no pixels.
 */
import type { Services } from './services';
import { ExplanationPanel } from './panel/explanationPanel';
import type { LensTestHooks } from './api';
import type { LensSettings } from './config';

export { TEST_HOOKS_ENV, testHooksEnabled } from './testHooksSwitch';

export function makeTestHooks(s: Services, readDefaults: () => LensSettings): LensTestHooks {
  const { engine, state, session } = s;
  return {
    reportPixels: (on) => {
      ExplanationPanel.reportPixels = on;
      ExplanationPanel.instance?.sendSnapshot();
    },
    drivePanel: (control, value) => {
      const panel = ExplanationPanel.instance;
      panel?.drive(control, value);
      return panel !== undefined;
    },
    pageObeysDrive: (on) => {
      ExplanationPanel.obeysDrive = on;
      ExplanationPanel.instance?.sendSnapshot();
    },
    setMethodParams: (p) => state.setMethodParams(p),
    resetChoices: async () => {
      state.resetChoices(readDefaults());
      if (session.model) await session.refreshModel();
    },
    engine: {
      crash: () => engine.testHooks.crash(),
      processes: () => engine.testHooks.processes(),
      hang: (ms) => engine.testHooks.hang(ms),
      setHangMs: (ms) => {
        engine.hangMs = ms;
      },
    },
  };
}
