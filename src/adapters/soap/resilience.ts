// Per-system resilience (CONTRACT.md § Common rules: "slow and flaky … whole-minute outages
// … the gateway must never hang"): an opossum circuit breaker plus a bulkhead (a FIFO queue of its own) with a
// bounded queue. Only transport/system failures (kinds `unavailable` and `timeout`) count
// toward the breaker; business, validation, not-found, conflict and translation outcomes
// mean the system answered, so they never open it.
import CircuitBreaker from 'opossum';
import type { CallSignal } from '../../domain/call-context.ts';
import type { CircuitSnapshot, CircuitState, CircuitStateView } from '../../domain/circuit.port.ts';
import { UnavailableError, isGatewayErrorLike } from '../../domain/errors/index.ts';

/** Circuit breaker settings of one legacy system. */
export interface BreakerOptions {
  /** % of failed calls in the rolling window that opens the circuit (e.g. 50) */
  errorThresholdPercentage: number;
  /** minimum calls in the window before the circuit may open (so one failure never does) */
  volumeThreshold: number;
  /** ms the circuit stays open before letting one trial call through (half-open) */
  resetTimeoutMs: number;
  /** rolling statistics window in ms (e.g. 10_000) */
  rollingWindowMs: number;
  /** buckets in the window (default 10) */
  rollingBuckets?: number;
}

/** Bulkhead: at most `limit` calls in flight, at most `maxQueue` waiting. */
export interface BulkheadOptions {
  limit: number;
  maxQueue: number;
  /** ms a call may wait in the queue before failing with `<system>.overloaded` (default: no limit besides ctx.signal) */
  queueTimeoutMs?: number;
}

export interface CircuitStateChange {
  system: string;
  from: CircuitState;
  to: CircuitState;
  /** ISO instant */
  at: string;
}

/** Minimal logger the adapters accept (pino-compatible). */
export interface AdapterLogger {
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
  debug(obj: Record<string, unknown>, msg?: string): void;
}

/** What operations need of an adapter besides its port: circuit state, its changes, shutdown. */
export interface AdapterControls {
  circuit(): CircuitSnapshot;
  /** `circuit()` without the counters and the bulkhead: cheap enough to read before every job */
  circuitState(): CircuitStateView;
  onStateChange(listener: (change: CircuitStateChange) => void): () => void;
  /** Idempotent: destroys the keep-alive agent and shuts the breaker down. */
  close(): Promise<void>;
}

/**
 * The AdapterControls of one system's adapter: state from its resilience, and a close that
 * runs once and runs every step (breaker, then the client's sockets) even if one throws.
 */
export function adapterControls(
  system: string,
  resilience: Resilience,
  client: { close(): void },
  logger: AdapterLogger | undefined,
): AdapterControls {
  let closed = false;
  return {
    circuit: () => resilience.snapshot(),
    circuitState: () => resilience.state(),
    onStateChange: (listener) => resilience.onStateChange(listener),
    async close() {
      if (closed) return;
      closed = true;
      for (const step of [() => resilience.shutdown(), () => client.close()]) {
        try {
          step();
        } catch (err) {
          logger?.error({ system, event: 'close_failed', err }, `${system.toUpperCase()} adapter close step failed`);
        }
      }
    },
  };
}

export interface Resilience {
  /** Runs `task` through the bulkhead and the breaker. */
  run<T>(task: () => Promise<T>, signal?: CallSignal): Promise<T>;
  /**
   * Runs `task(arg)` through the bulkhead and the breaker: lets a caller pass one long-lived
   * function and its per-call data instead of a new closure per call (the hot path).
   */
  runWith<A, T>(task: (arg: A) => Promise<T>, arg: A, signal?: CallSignal): Promise<T>;
  snapshot(): CircuitSnapshot;
  /** The breaker's state alone: no rolling-window sums (opossum's `stats` getter adds up every bucket) */
  state(): CircuitStateView;
  /** Subscribes to state changes; returns the unsubscribe function. */
  onStateChange(listener: (change: CircuitStateChange) => void): () => void;
  shutdown(): void;
}

/** True for errors that count toward opening the circuit: the system failed or did not answer. */
export function countsTowardBreaker(err: unknown): boolean {
  if (!isGatewayErrorLike(err)) return true;
  if (isAborted(err)) return false;
  return err.kind === 'unavailable' || err.kind === 'timeout';
}

/** The caller gave up on the call (`<system>.aborted`): the system's health is unknown. */
function isAborted(err: unknown): boolean {
  return isGatewayErrorLike(err) && err.code.endsWith('.aborted');
}

function stateOf(b: CircuitBreaker): CircuitState {
  if (b.halfOpen) return 'half_open';
  return b.opened ? 'open' : 'closed';
}

function noop(): void {}

function callNoArg<T>(task: () => Promise<T>): Promise<T> {
  return task();
}

/** Creates the breaker + bulkhead of one system (`tmo`, `crm`). */
export function createResilience(opts: {
  system: string;
  breaker: BreakerOptions;
  bulkhead: BulkheadOptions;
  logger?: AdapterLogger | undefined;
}): Resilience {
  const { system, logger } = opts;
  const label = system.toUpperCase();
  const breaker: CircuitBreaker<[(arg: unknown) => Promise<unknown>, unknown], unknown> = new CircuitBreaker((task, arg) => task(arg), {
    name: system,
    timeout: false, // the transport owns the per-call timeout (it can abort the socket)
    errorThresholdPercentage: opts.breaker.errorThresholdPercentage,
    volumeThreshold: opts.breaker.volumeThreshold,
    resetTimeout: opts.breaker.resetTimeoutMs,
    rollingCountTimeout: opts.breaker.rollingWindowMs,
    rollingCountBuckets: opts.breaker.rollingBuckets ?? 10,
    // A filtered error is a success to opossum, and a success closes a half-open circuit: a
    // trial call its caller aborted (a client that hung up) proved nothing, so there it counts
    // as a failure and the circuit opens again for another reset timeout.
    errorFilter: (err: unknown): boolean => !countsTowardBreaker(err) && !(breaker.halfOpen && isAborted(err)),
    enableSnapshots: false,
    // we never read latency percentiles; computing them sorts every call of the window on each stats read
    rollingPercentilesEnabled: false,
  });
  const listeners = new Set<(c: CircuitStateChange) => void>();
  let state: CircuitState = 'closed';
  let lastTransitionAt: string | null = null;
  let openedAt = 0;
  let shutDown = false;

  const transition = (to: CircuitState): void => {
    const from = state;
    if (from === to) return;
    state = to;
    const at = new Date();
    lastTransitionAt = at.toISOString();
    if (to === 'open') openedAt = at.getTime();
    const change: CircuitStateChange = { system, from, to, at: lastTransitionAt };
    logger?.warn({ event: 'circuit_state_change', ...change }, `${label} circuit ${to}`);
    for (const l of listeners) {
      try {
        l(change);
      } catch (err) {
        logger?.error({ event: 'circuit_listener_failed', system, err }, 'circuit listener threw');
      }
    }
  };
  breaker.on('open', () => transition('open'));
  breaker.on('halfOpen', () => transition('half_open'));
  breaker.on('close', () => transition('closed'));
  // The transport owns timeouts (opossum's own is off): record ours in opossum's rolling
  // stats too, so the snapshot's `timeouts` means what it says.
  breaker.on('failure', (err: unknown) => {
    if (isGatewayErrorLike(err) && err.kind === 'timeout') breaker.emit('timeout', err);
  });
  const queued = new Set<(err: UnavailableError) => void>();

  const retryAfterSeconds = (): number =>
    Math.max(1, Math.ceil((openedAt + opts.breaker.resetTimeoutMs - Date.now()) / 1000));

  const circuitOpen = (): UnavailableError =>
    new UnavailableError(`${system}.circuit_open`, `${label} is failing; calls are paused`, {
      system,
      retryAfterSeconds: retryAfterSeconds(),
    });
  const overloaded = (): UnavailableError =>
    new UnavailableError(`${system}.overloaded`, `Too many concurrent calls to ${label}`, { system, retryAfterSeconds: 1 });
  const aborted = (): UnavailableError =>
    new UnavailableError(`${system}.aborted`, `The call to ${label} was cancelled`, { system, retryable: false });
  const closed = (): UnavailableError =>
    new UnavailableError(`${system}.closed`, `The ${label} adapter is shut down`, { system });

  // The bulkhead: at most `limit` calls in flight, FIFO queue of waiting starts. Counting as
  // p-limit did (a slot is taken when the call starts, freed when it settles), but a call that
  // finds a free slot and an empty queue runs at once: p-limit wrapped every call in four
  // promises and two async functions and started it a microtask later (issue 8).
  const concurrency = opts.bulkhead.limit;
  let active = 0;
  /** Waiting starts; one that gave up stays counted until its turn (as with p-limit) and is then skipped. */
  const waiting: Array<() => void> = [];
  let head = 0;
  const pending = (): number => waiting.length - head;

  const release = (): void => {
    active--;
    while (active < concurrency && head < waiting.length) {
      const start = waiting[head] as () => void;
      waiting[head++] = noop;
      if (head === waiting.length) {
        waiting.length = 0;
        head = 0;
      }
      start();
    }
  };

  const mapBreakerError = (err: unknown): UnavailableError | unknown => {
    const code = (err as { code?: unknown })?.code;
    if (code === 'EOPENBREAKER') return circuitOpen();
    if (code === 'ESHUTDOWN') return closed();
    return err;
  };

  /** Takes a slot and fires the breaker; the slot is freed when the call settles. Never throws. */
  function fire<A, T>(task: (arg: A) => Promise<T>, arg: A): Promise<T> {
    active++;
    let p: Promise<unknown>;
    try {
      p = breaker.fire(task as (arg: unknown) => Promise<unknown>, arg);
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.then(
      (value) => {
        release();
        return value as T;
      },
      (err: unknown) => {
        release();
        throw mapBreakerError(err);
      },
    );
  }

  function runWith<A, T>(task: (arg: A) => Promise<T>, arg: A, signal?: CallSignal): Promise<T> {
    if (shutDown) return Promise.reject(closed());
    if (signal?.aborted) return Promise.reject(aborted());
    // Fail fast while open; half-open lets opossum pick the single trial call.
    if (breaker.opened) {
      breaker.emit('reject', new Error('Breaker is open'));
      return Promise.reject(circuitOpen());
    }
    const saturated = active >= concurrency;
    if (saturated && pending() >= opts.bulkhead.maxQueue) return Promise.reject(overloaded());
    // A free slot means an empty queue: release() starts waiting calls as soon as slots free.
    if (!saturated) return fire(task, arg);

    // Queued: give up on abort or queue timeout without waiting for a slot.
    return new Promise<T>((resolve, reject) => {
      let gaveUp = false;
      const giveUp = (err: UnavailableError): void => {
        if (gaveUp) return;
        gaveUp = true;
        cleanup();
        reject(err);
      };
      const onAbort = (): void => giveUp(aborted());
      const timer =
        opts.bulkhead.queueTimeoutMs === undefined ? undefined : setTimeout(() => giveUp(overloaded()), opts.bulkhead.queueTimeoutMs);
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        queued.delete(giveUp);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queued.add(giveUp);
      waiting.push(() => {
        if (gaveUp) return; // slot freed at once: the caller has gone
        cleanup();
        fire(task, arg).then(resolve, reject);
      });
    });
  }

  return {
    run: (task, signal) => runWith(callNoArg, task, signal),
    runWith,
    snapshot() {
      const s = breaker.stats;
      return {
        system,
        state: stateOf(breaker),
        lastTransitionAt,
        stats: { successes: s.successes, failures: s.failures, timeouts: s.timeouts, rejects: s.rejects, fires: s.fires },
        bulkhead: { limit: concurrency, active, queued: pending() },
      };
    },
    state() {
      return { system, state: stateOf(breaker), lastTransitionAt };
    },
    onStateChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    shutdown() {
      if (shutDown) return;
      shutDown = true;
      for (const giveUp of [...queued]) giveUp(closed());
      waiting.length = 0;
      head = 0;
      breaker.shutdown();
      listeners.clear();
    },
  };
}
