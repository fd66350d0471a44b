/** The page's side of the channel: acquireVsCodeApi() once, messages as a Transport for the shared RPC helper. */
import type { Transport, Wire } from '../src/shared/protocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export const vscode: VsCodeApi = acquireVsCodeApi();

export const transport: Transport = {
  post: (m: Wire) => vscode.postMessage(m),
  onMessage: (listener) => {
    const handler = (e: MessageEvent) => listener(e.data);
    window.addEventListener('message', handler);
    return { dispose: () => window.removeEventListener('message', handler) };
  },
};
