/**
 * How failures reach the user. A user error (LensError from the engine: bad model, undecodable image,
 * unsupported op) is shown as its one-line message. Anything else is a bug: the details go to the
 * output channel and the notification says so briefly, with a button to open the log.
 */
import * as vscode from 'vscode';
import { RpcError, toWireError, type WireError } from '../shared/protocol';
import type { Log } from './log';
import { escapeNotification } from '../shared/escape';

/** Error code of requests that failed because the engine worker was replaced (EngineHost). */
export const ENGINE_RESTARTED = 'engine-restarted';

export function asWireError(e: unknown): WireError {
  return e instanceof RpcError ? e.wire : toWireError(e);
}

export function isCancellation(e: unknown): boolean {
  return asWireError(e).code === 'cancelled';
}

export class ErrorReporter {
  private readonly onDidReportEmitter = new vscode.EventEmitter<WireError>();
  /** Fired for every error shown (the integration tests watch it). */
  readonly onDidReport = this.onDidReportEmitter.event;

  constructor(private readonly log: Log) {}

  /** Shows the error (unless it is a cancellation) and returns the message shown, if any. */
  report(e: unknown, context?: string): string | undefined {
    const w = asWireError(e);
    if (w.code === 'cancelled') {
      this.log.info(`${context ?? 'operation'} cancelled`);
      return undefined;
    }
    // a replaced engine worker was already reported once, by reportRecovery
    if (w.code === ENGINE_RESTARTED) return w.message;
    let shown: string;
    if (w.user) {
      shown = w.message;
      this.log.warn(`${context ? context + ': ' : ''}${w.message}`);
      // the message names files and layers from the model: no [x](command:…) link may form in the notification
      void vscode.window.showErrorMessage(escapeNotification(shown));
    } else {
      shown = vscode.l10n.t('Relevance Lens hit an internal error{0}. Details are in the output channel.', context ? ` (${context})` : '');
      this.log.error(`${context ? context + ': ' : ''}${w.message}${w.detail ? '\n' + w.detail : ''}`);
      const open = vscode.l10n.t('Open Log');
      void vscode.window.showErrorMessage(shown, open).then((choice) => choice === open && this.log.show());
    }
    this.onDidReportEmitter.fire({ ...w, message: shown });
    return shown;
  }

  /** The engine worker died or hung and was replaced: one line, shown once, whatever was running. */
  reportRecovery(message: string): void {
    this.log.warn(message);
    void vscode.window.showWarningMessage(`Relevance Lens: ${message}`);
    this.onDidReportEmitter.fire({ code: ENGINE_RESTARTED, message, user: true });
  }

  /** Wraps a command handler so nothing escapes as a raw exception (drawio's registerFailableCommand). */
  wrap<A extends unknown[], R>(context: string, fn: (...args: A) => Promise<R> | R): (...args: A) => Promise<R | undefined> {
    return async (...args: A) => {
      try {
        return await fn(...args);
      } catch (e) {
        this.report(e, context);
        return undefined;
      }
    };
  }

  dispose(): void {
    this.onDidReportEmitter.dispose();
  }
}

/** A problem the user can fix, raised by the extension itself (shown like the engine's LensError). */
export class UserError extends Error {
  readonly code = 'bad-usage';
  constructor(message: string) {
    super(message);
    this.name = 'LensError';
  }
}
