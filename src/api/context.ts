import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import type { AbortListener, CallContext, CallSignal } from '../domain/call-context.ts';
import type { ApiEnv } from './env.ts';

/**
 * "The client went away" for one request served by @hono/node-server, without an
 * AbortController: node-server makes one (an EventTarget, ~10 µs of CPU here) whenever
 * `c.req.raw.signal` is read, and every legacy call read it (issue 8). This listens to the
 * response's own `close` (an EventEmitter listener, only while a call listens) and decides as
 * node-server does: closed before the answer was finished, or the request errored.
 */
class ClientGone implements CallSignal {
  #listeners: AbortListener[] = [];
  #onClose: (() => void) | undefined;
  #reason: string | undefined;

  constructor(
    private readonly incoming: IncomingMessage,
    private readonly outgoing: ServerResponse,
  ) {}

  /** After the response closed: why, if it closed before the answer was finished (node-server's reasons). */
  #check(): string | undefined {
    if (this.#reason === undefined && this.outgoing.closed) {
      if (this.incoming.errored) this.#reason = this.incoming.errored.toString();
      else if (!this.outgoing.writableFinished) this.#reason = 'Client connection prematurely closed.';
    }
    return this.#reason;
  }

  get aborted(): boolean {
    return this.#check() !== undefined;
  }

  get reason(): unknown {
    return this.#check();
  }

  throwIfAborted(): void {
    const reason = this.#check();
    if (reason !== undefined) throw reason;
  }

  addEventListener(_type: 'abort', listener: AbortListener): void {
    // as an AbortSignal: an aborted signal fires no more (callers test `aborted` first)
    if (this.aborted || this.#listeners.includes(listener)) return;
    this.#listeners.push(listener);
    if (!this.#onClose) {
      this.#onClose = () => this.#closed();
      this.outgoing.on('close', this.#onClose);
    }
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    const i = this.#listeners.indexOf(listener);
    if (i < 0) return;
    this.#listeners.splice(i, 1);
    if (this.#listeners.length === 0) this.#detach();
  }

  #detach(): void {
    if (this.#onClose) this.outgoing.off('close', this.#onClose);
    this.#onClose = undefined;
  }

  #closed(): void {
    this.#detach();
    const listeners = this.#listeners;
    this.#listeners = [];
    if (this.#check() === undefined) return; // answered in full: nothing to abort
    const event = new Event('abort');
    for (const l of listeners) {
      if (typeof l === 'function') l();
      else l.handleEvent(event);
    }
  }
}

/** The per-call context services take: the request id travels on to the legacy systems. */
export function callContext(c: Context<ApiEnv>): CallContext {
  const env = c.env as { incoming?: IncomingMessage; outgoing?: unknown } | undefined;
  const outgoing = env?.outgoing;
  // served by node:http through @hono/node-server (the gateway); else (app.request(), HTTP/2) the Request's own signal
  if (outgoing instanceof ServerResponse && env?.incoming) return { requestId: c.get('requestId'), signal: new ClientGone(env.incoming, outgoing) };
  return { requestId: c.get('requestId'), signal: c.req.raw.signal };
}
