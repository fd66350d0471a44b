/**
 * Progress for one run: the status bar at once, and a notification with Cancel only when the run
 * takes longer than a moment (a LeNet explanation takes milliseconds; flashing a toast for it would
 * be noise, while a MobileNet or a comparison deserves a visible Cancel).
 */
import * as vscode from 'vscode';

const NOTIFY_AFTER_MS = 800;

export async function runWithProgress<T>(title: string, work: Promise<T>, cancel: () => void): Promise<T> {
  let done = false;
  const settled = work.then(() => undefined, () => undefined).finally(() => (done = true));
  void vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title }, () => settled);
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
    clearTimeout(timer);
  }
}
