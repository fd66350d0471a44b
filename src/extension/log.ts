/** The extension's output channel ("Relevance Lens"): bugs and timings go here, never into notifications. */
import * as vscode from 'vscode';
import type { Wire } from '../shared/protocol';

export class Log implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel('Relevance Lens', { log: true });

  info(message: string): void {
    this.channel.info(message);
  }

  warn(message: string): void {
    this.channel.warn(message);
  }

  error(message: string): void {
    this.channel.error(message);
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}

/** RELEVANCE_LENS_TRACE=1 logs every message (name only) with a timestamp to the output channel. */
export function traceTo(log: Log, channel: string): ((dir: '->' | '<-', m: Wire) => void) | undefined {
  if (!process.env.RELEVANCE_LENS_TRACE) return undefined;
  return (dir, m) => log.info(`[trace ${channel}] ${dir} ${m.kind} ${m.kind === 'request' ? m.method : m.kind === 'event' ? m.name : m.replyTo} @${performance.now().toFixed(1)}`);
}
