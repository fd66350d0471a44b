/**
 * Progress for one run: the status bar's spinner once the run takes longer than a moment, and a
 * notification with Cancel a little later (a LeNet explanation takes milliseconds; flashing a toast for
 * it would be noise, while a MobileNet or a comparison deserves a visible Cancel). The spinner waits too:
 * on a 2-core machine its animation costs the renderer a share of a core while onnxruntime wants both
 * (a ResNet-50 rule change took 0.60–0.92 s with it, ~0.5 s with animations off).
 */
import * as vscode from 'vscode';

const SPIN_AFTER_MS = 500;
const NOTIFY_AFTER_MS = 800;

export async function runWithProgress<T>(title: string, work: Promise<T>, cancel: () => void): Promise<T> {
  let done = false;
  const settled = work.then(() => undefined, () => undefined).finally(() => (done = true));
  const spin = setTimeout(() => {
    if (!done) void vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title }, () => settled);
  }, SPIN_AFTER_MS);
  const timer = setTimeout(() => {
    if (done) return;
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (_p, token) => {
      token.onCancellationRequested(cancel);
      return settled;
    });
  }, NOTIFY_AFTER_MS);
  try {
    return await work;
  } finally {
    clearTimeout(spin);
    clearTimeout(timer);
  }
}
