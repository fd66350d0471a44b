/**
 * One message helper for both channels of the extension: host <-> engine worker (worker_threads)
 * and host <-> webview. Requests carry an id and get exactly one response; events are fire-and-forget.
 * Errors travel as data ({ok:false, error}) so the receiver can tell a user error (a LensError: bad
 * model, bad image) from a bug without parsing stack traces.
 *
 * No vscode, no DOM, no worker_threads here: the two sides plug in a Transport.
 */

/** What a side can send and answer: request name -> [params, result]; event name -> payload. */
export interface ChannelSpec {
  requests: Record<string, { params: unknown; result: unknown }>;
  events: Record<string, unknown>;
}

export interface WireError {
  /** LensErrorCode for user errors, 'cancelled', 'bug' otherwise. */
  code: string;
  /** One line, safe to show. */
  message: string;
  /** True when the user can act on it (show it as is); false for bugs (log it, show a short note). */
  user: boolean;
  /** Stack or details for the log, never shown in a notification. */
  detail?: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** Bumped when a message shape changes incompatibly; a webview restored from an older build re-inits. */
export const PROTOCOL_VERSION = 1;

export type Wire =
  | { v: number; kind: 'request'; id: number; method: string; params: unknown }
  | { v: number; kind: 'response'; replyTo: number; result: Result<unknown> }
  | { v: number; kind: 'event'; name: string; data: unknown };

export interface Disposable {
  dispose(): void;
}

/** The postMessage pair of one side of a channel. `transfer` lists buffers to move, not copy. */
export interface Transport {
  post(message: Wire, transfer?: ArrayBuffer[]): void;
  onMessage(listener: (message: unknown) => void): Disposable;
}

export class RpcError extends Error {
  constructor(readonly wire: WireError) {
    super(wire.message);
    this.name = 'RpcError';
  }
}

export function isWire(m: unknown): m is Wire {
  if (typeof m !== 'object' || m === null) return false;
  const w = m as Record<string, unknown>;
  if (typeof w.v !== 'number') return false;
  switch (w.kind) {
    case 'request': return typeof w.id === 'number' && typeof w.method === 'string';
    case 'response': {
      const r = w.result as Record<string, unknown> | null;
      return typeof w.replyTo === 'number' && typeof r === 'object' && r !== null && typeof r.ok === 'boolean';
    }
    case 'event': return typeof w.name === 'string';
    default: return false;
  }
}

/** Any thrown value -> WireError. LensError-like objects (a `code` and `name === 'LensError'`) are user errors. */
export function toWireError(e: unknown): WireError {
  if (e instanceof RpcError) return e.wire;
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (e.name === 'LensError' && typeof code === 'string') return { code, message: firstLine(e.message), user: code !== 'bug' };
    return { code: 'bug', message: firstLine(e.message) || e.name, user: false, detail: e.stack };
  }
  return { code: 'bug', message: String(e), user: false };
}

function firstLine(s: string): string {
  return s.split(/\r?\n/)[0];
}

type Params<S extends ChannelSpec, K extends keyof S['requests']> = S['requests'][K]['params'];
type ResultOf<S extends ChannelSpec, K extends keyof S['requests']> = S['requests'][K]['result'];

/** What a request handler may return: the value, plus buffers to transfer with it. */
export interface Reply<T> {
  value: T;
  transfer?: ArrayBuffer[];
}

/**
 * One end of a channel. `Out` is what this side sends (requests it makes, events it emits), `In` what
 * the other side sends. `validate` rejects malformed incoming payloads before dispatch (the webview is
 * untrusted input as far as the host is concerned).
 */
export class RpcEndpoint<Out extends ChannelSpec, In extends ChannelSpec> implements Disposable {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  private readonly requestHandlers = new Map<string, (params: unknown) => Promise<Reply<unknown> | unknown>>();
  private readonly eventListeners = new Map<string, Set<(data: unknown) => void>>();
  private readonly subscription: Disposable;
  private closed = false;

  constructor(
    private readonly transport: Transport,
    private readonly options: {
      validate?: (kind: 'request' | 'event', name: string, payload: unknown) => boolean;
      trace?: (direction: '->' | '<-', message: Wire) => void;
      onBadMessage?: (message: unknown) => void;
    } = {},
  ) {
    this.subscription = transport.onMessage((m) => this.receive(m));
  }

  request<K extends keyof Out['requests'] & string>(method: K, params: Params<Out, K>, transfer?: ArrayBuffer[]): Promise<ResultOf<Out, K>> {
    if (this.closed) return Promise.reject(new RpcError({ code: 'cancelled', message: 'channel closed', user: true }));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.send({ v: PROTOCOL_VERSION, kind: 'request', id, method, params }, transfer);
    });
  }

  emit<K extends keyof Out['events'] & string>(name: K, data: Out['events'][K], transfer?: ArrayBuffer[]): void {
    if (!this.closed) this.send({ v: PROTOCOL_VERSION, kind: 'event', name, data }, transfer);
  }

  /** Handler may return the value, or `reply(value, transfer)` to move buffers instead of copying them. */
  handle<K extends keyof In['requests'] & string>(
    method: K,
    handler: (params: Params<In, K>) => Promise<ResultOf<In, K> | Reply<ResultOf<In, K>>> | ResultOf<In, K> | Reply<ResultOf<In, K>>,
  ): void {
    this.requestHandlers.set(method, handler as (params: unknown) => Promise<unknown>);
  }

  on<K extends keyof In['events'] & string>(name: K, listener: (data: In['events'][K]) => void): Disposable {
    let set = this.eventListeners.get(name);
    if (!set) this.eventListeners.set(name, (set = new Set()));
    set.add(listener as (data: unknown) => void);
    return { dispose: () => set!.delete(listener as (data: unknown) => void) };
  }

  /** Rejects every open request (the other side died or was terminated). */
  failPending(error: WireError): void {
    for (const p of this.pending.values()) p.reject(new RpcError(error));
    this.pending.clear();
  }

  dispose(): void {
    this.closed = true;
    this.subscription.dispose();
    this.failPending({ code: 'cancelled', message: 'channel closed', user: true });
  }

  private send(message: Wire, transfer?: ArrayBuffer[]): void {
    this.options.trace?.('->', message);
    this.transport.post(message, transfer);
  }

  private receive(message: unknown): void {
    if (!isWire(message)) {
      this.options.onBadMessage?.(message);
      return;
    }
    this.options.trace?.('<-', message);
    switch (message.kind) {
      case 'response': {
        const p = this.pending.get(message.replyTo);
        if (!p) return;
        this.pending.delete(message.replyTo);
        if (message.result.ok) p.resolve(message.result.value);
        else p.reject(new RpcError(message.result.error));
        return;
      }
      case 'event': {
        if (this.options.validate && !this.options.validate('event', message.name, message.data)) {
          this.options.onBadMessage?.(message);
          return;
        }
        for (const l of this.eventListeners.get(message.name) ?? []) l(message.data);
        return;
      }
      case 'request':
        void this.answer(message.id, message.method, message.params);
        return;
    }
  }

  private async answer(id: number, method: string, params: unknown): Promise<void> {
    const handler = this.requestHandlers.get(method);
    let result: Result<unknown>;
    let transfer: ArrayBuffer[] | undefined;
    if (!handler) {
      result = { ok: false, error: { code: 'bug', message: `no handler for request '${method}'`, user: false } };
    } else if (this.options.validate && !this.options.validate('request', method, params)) {
      result = { ok: false, error: { code: 'bug', message: `malformed '${method}' request`, user: false } };
    } else {
      try {
        const out = await handler(params);
        if (isReply(out)) {
          result = { ok: true, value: out.value };
          transfer = out.transfer;
        } else {
          result = { ok: true, value: out };
        }
      } catch (e) {
        result = { ok: false, error: toWireError(e) };
      }
    }
    if (!this.closed) this.send({ v: PROTOCOL_VERSION, kind: 'response', replyTo: id, result }, transfer);
  }
}

const REPLY = Symbol.for('relevance-lens.reply');

export function reply<T>(value: T, transfer?: ArrayBuffer[]): Reply<T> {
  return { value, transfer, [REPLY]: true } as Reply<T>;
}

function isReply(v: unknown): v is Reply<unknown> {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[REPLY] === true;
}
