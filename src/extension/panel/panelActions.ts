/** What each panel event does: update the state, then re-explain / recolour / fetch layer maps. */
import * as vscode from 'vscode';
import type { DisplayOptions, HostToView, LayerMaps, RpcEndpoint, ViewToHost } from '../../shared/protocol';
import type { PanelDeps } from './panelDeps';
import { COMMANDS } from '../commands/commandIds';

interface PanelSink {
  post<K extends keyof HostToView['events'] & string>(name: K, data: HostToView['events'][K]): void;
  readonly lastShownRunId: number;
}

/** Display fields that change the heatmap's colours (opacity is applied by the page itself). */
function recolourNeeded(a: DisplayOptions, b: DisplayOptions): boolean {
  return a.colormap !== b.colormap || a.scale !== b.scale || a.polarity !== b.polarity || (b.scale === 'percentile' && a.percentile !== b.percentile);
}

export class PanelActions {
  constructor(private readonly deps: PanelDeps, private readonly sink: PanelSink) {}

  bind(rpc: RpcEndpoint<HostToView, ViewToHost>): void {
    const { state, session, errors } = this.deps;
    // The layer list (tree, pickers) and the explanation are independent: ask for both at once.
    const rulesChanged = async () => {
      void session.refreshModel();
      await session.explain();
    };
    rpc.on('setMethod', ({ method }) => {
      state.setMethod(method);
      void session.explain();
    });
    rpc.on('setComposite', ({ composite }) => {
      if (!session.model?.composites.includes(composite)) return;
      state.setComposite(composite);
      void rulesChanged();
    });
    rpc.on('setRule', ({ layer, rule }) => {
      state.setRule(layer, rule);
      void rulesChanged();
    });
    rpc.on('setParams', ({ params }) => {
      state.setParams(params);
      void rulesChanged();
    });
    rpc.on('setMethodParams', ({ methodParams }) => {
      state.setMethodParams(methodParams);
      void session.explain();
    });
    rpc.on('setTarget', ({ targetClass }) => {
      state.setTarget(targetClass);
      void session.explain();
    });
    rpc.on('setDisplay', ({ display }) => {
      const before = state.display;
      state.setDisplay(display);
      if (!recolourNeeded(before, display)) return;
      void session.recolor(display).then(
        (c) => c && this.sink.post('heatmap', { runId: this.sink.lastShownRunId, heatmap: c.heatmap, display, ...(c.tokens ? { tokens: c.tokens } : {}) }),
        (e) => errors.report(e, 'recolouring the heatmap'),
      );
    });
    rpc.on('selectLayer', ({ layer, perMapScale }) => void this.showLayer(layer, perMapScale));
    rpc.on('compare', ({ methods }) => {
      state.setCompareMethods(methods);
      void vscode.commands.executeCommand(COMMANDS.compareMethods, methods);
    });
    rpc.on('export', ({ kind }) => void vscode.commands.executeCommand(COMMANDS.exportHeatmap, kind));
    rpc.on('pickImage', () => void vscode.commands.executeCommand(COMMANDS.explainImage));
    rpc.on('cancel', () => session.cancel());
  }

  /** Computes and shows the relevance maps of a layer; resolves with them (undefined when none came). */
  async showLayer(layer: string, perMapScale = false): Promise<LayerMaps | undefined> {
    try {
      const maps = await this.deps.session.layerMaps(layer, undefined, perMapScale);
      if (maps) this.sink.post('layerMaps', maps);
      return maps;
    } catch (e) {
      this.deps.errors.report(e, `relevance at layer ${layer}`);
      return undefined;
    }
  }

  /** After (re)load of the page: show the last explanation, or compute it from the saved state. */
  restore(): void {
    const { session, state } = this.deps;
    if (session.current) {
      const { relevance: _omit, ...shown } = session.current;
      this.sink.post('result', { runId: this.sink.lastShownRunId, explanation: shown });
      if (session.lastComparison && session.lastComparison.image.width === shown.input.width) this.sink.post('compare', session.lastComparison);
      return;
    }
    if (state.modelPath && state.imagePath && !session.busy) {
      void (async () => {
        try {
          if (!session.model || session.model.path !== state.modelPath) await session.openModel(state.modelPath!);
          await session.explain();
        } catch (e) {
          this.deps.errors.report(e, 'restoring the explanation');
        }
      })();
    }
  }
}
