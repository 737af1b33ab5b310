/**
 * Queued legacy calls at the legacy system's own pace (issue 8): a per-system rate shared by
 * every worker process through Redis (`TMO_MAX_RATE_PER_S`, `CRM_MAX_RATE_PER_S`), so a
 * backlog after an outage does not hammer the recovering system or reopen its breaker.
 *
 * The limiter is GCRA (the cell-rate form of a token bucket) in one Lua script on Redis's own
 * clock: calls are spaced `1/rate` apart with a small burst allowance (`rate/50`, at least 1),
 * so any one-second window sees at most `rate + burst` calls. rate-limiter-flexible (already a
 * dependency) counts fixed windows, which lets up to twice the rate through across a window
 * boundary; a spaced limiter is what "the legacy system's pace" means. Each call books its slot
 * with one script call, even a slot ahead, and sleeps until it: waiters are served in the order
 * they asked, and Redis sees one call per legacy call however many wait.
 *
 * Only calls made while a queued job runs are paced ({@link runQueued}, set by the workers):
 * an inline call answers a waiting client and is bounded by the bulkhead instead.
 *
 * | key | type | what |
 * | --- | --- | --- |
 * | `{p}:pace:{system}` | string, PX | GCRA theoretical arrival time (µs, Redis clock); `{p}` hash-tagged as in keys.ts |
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Redis } from 'ioredis';
import type { CallSignal } from '../domain/call-context.ts';
import { storeUnavailable } from './errors/store-unavailable-error.ts';
import { evalScript } from './operation-store.ts';

const queued = new AsyncLocalStorage<true>();
/**
 * Whether any paced port exists in this process. Without one nothing asks `inQueuedRun`, and
 * `runQueued` skips the AsyncLocalStorage: its first `run` turns on Node's promise hooks for
 * the whole process, a cost on every promise of every job (issue 8, the queue's CPU per command).
 */
let pacing = false;

/** Runs `fn` as a queued job's work: legacy calls inside it are paced. */
export function runQueued<T>(fn: () => T): T {
  return pacing ? queued.run(true, fn) : fn();
}

/** True inside {@link runQueued} (once this process has a paced port: only those ask). */
export function inQueuedRun(): boolean {
  return queued.getStore() === true;
}

// Books the call's slot and returns the ms until it (0: now). The slot is booked even when it
// lies ahead, so waiters are served in the order they asked and each asks once: waiters that
// slept and asked again raced for every slot (one script call per waiter per slot, and a caller
// could lose to newer ones again and again).
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1000)
local wait = tat - tolerance - now
if wait > 0 then return math.ceil(wait / 1000) end
return 0
`;

export interface CallPacer {
  /** Resolves once a call may start (its slot is booked); rejects with the signal's reason if aborted. */
  acquire(signal?: CallSignal): Promise<void>;
}

/** A pacer shared by every process using the same Redis `key`. */
export function createRedisPacer(opts: { redis: Redis; key: string; ratePerS: number; burst?: number }): CallPacer {
  if (!(opts.ratePerS > 0)) throw new RangeError('ratePerS must be > 0');
  const intervalUs = Math.max(1, Math.round(1_000_000 / opts.ratePerS));
  const burst = opts.burst ?? Math.max(1, Math.ceil(opts.ratePerS / 50));
  // by SHA1 (EVALSHA; EVAL on the first call and after NOSCRIPT): the script's ~0.4 kB text was
  // sent with every paced call
  const gcra = evalScript(opts.redis, GCRA);
  const args = [opts.key, String(intervalUs), String(burst)] as const;
  return {
    async acquire(signal) {
      signal?.throwIfAborted();
      // Redis failing (down, slow) is the job's store failing: a retryable attempt, not the
      // legacy call's non-retryable "internal" error that would park the operation at once
      const wait = Number(
        await gcra(1, ...args).catch((err: unknown) => {
          throw storeUnavailable(err);
        }),
      );
      // the slot is ours: wait for it (an abort meanwhile leaves it unused, a slower rate at worst)
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      signal?.throwIfAborted();
    },
  };
}

/**
 * `port` with each of `methods` waiting for `pacer` first — only inside a queued run. Other
 * members (circuit state, close…) are the port's own.
 */
export function pacedPort<T extends object>(port: T, methods: readonly (keyof T & string)[], pacer: CallPacer): T {
  pacing = true;
  const paced: Record<string, unknown> = {};
  for (const name of methods) {
    const fn = port[name];
    if (typeof fn !== 'function') throw new TypeError(`${name} is not a method`);
    paced[name] = async (...args: unknown[]) => {
      if (inQueuedRun()) {
        const ctx = args[args.length - 1] as { signal?: CallSignal } | undefined;
        await pacer.acquire(ctx?.signal);
      }
      return (fn as (...a: unknown[]) => Promise<unknown>).apply(port, args);
    };
  }
  return new Proxy(port, { get: (target, prop, receiver) => (typeof prop === 'string' && prop in paced ? paced[prop] : Reflect.get(target, prop, receiver)) });
}
