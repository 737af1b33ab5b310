/** An `abort` listener: a function, or an object whose `handleEvent` is called (as EventTarget's). */
export type AbortListener = { handleEvent(event: Event): void } | (() => void);

/**
 * What the adapters use of an `AbortSignal` (a real one satisfies it): a job's or shutdown's
 * signal, or an HTTP request's "the client went away" (src/api/context.ts), which is made
 * without an AbortController per request (issue 8).
 */
export interface CallSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  /** Throws `reason` once aborted. */
  throwIfAborted(): void;
  addEventListener(type: 'abort', listener: AbortListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: AbortListener): void;
}

/** Per-call context every port method takes: the request id travels to the legacy systems. */
export interface CallContext {
  requestId: string;
  /** Aborts the legacy call (e.g. client went away, shutdown). */
  signal?: CallSignal;
}
