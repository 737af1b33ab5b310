import type { BackoffStrategy, MinimalJob } from 'bullmq';
import type { CircuitStateView } from '../domain/circuit.port.ts';
import { isGatewayErrorLike, isRetryable } from '../domain/errors/index.ts';
import { LEGACY_SYSTEMS, isLegacySystem, type LegacySystem } from './types.ts';

/** Parameters every backoff strategy takes (milliseconds). */
export interface BackoffParams {
  baseMs: number;
  capMs: number;
}

/**
 * Backoff strategies: pure functions of the attempt number (1 = first retry), their
 * parameters and a random source in [0, 1). No clock, no I/O, so the table is testable.
 */
export const BACKOFF_STRATEGIES = {
  /**
   * Exponential with full jitter (uniform in [0, min(cap, base·2^(n-1))]): spreads the
   * retries of many jobs that failed together (a legacy outage ends) instead of having them
   * hit the recovering system in waves. Floored at 1 ms: BullMQ treats 0 as "retry now".
   */
  exponentialFullJitter: (attempt: number, p: BackoffParams, random: () => number): number => {
    const ceiling = Math.min(p.capMs, p.baseMs * 2 ** Math.max(0, attempt - 1));
    return Math.max(1, Math.floor(random() * ceiling));
  },
  /** Exponential without jitter: deterministic, for tests and for reasoning about budgets. */
  exponential: (attempt: number, p: BackoffParams): number =>
    Math.min(p.capMs, p.baseMs * 2 ** Math.max(0, attempt - 1)),
  fixed: (_attempt: number, p: BackoffParams): number => p.baseMs,
} as const satisfies Record<string, (attempt: number, p: BackoffParams, random: () => number) => number>;

export type BackoffStrategyName = keyof typeof BACKOFF_STRATEGIES;

export interface SystemRetryPolicy {
  /** total runs of a job (first run included) before it is dead-lettered */
  attempts: number;
  backoff: BackoffParams & { strategy: BackoffStrategyName };
  /** a job older than this (since it was enqueued) is dead-lettered instead of retried */
  maxAgeMs: number;
  /**
   * How long a job waits when the system's breaker is open, counted from the breaker's last
   * transition (≈ the breaker's reset timeout, when it turns half-open and lets a probe through).
   */
  breakerWaitMs: number;
}

export type RetryPolicy = Record<LegacySystem, SystemRetryPolicy>;

/**
 * Defaults. Both systems have "whole-minute outages during their maintenance windows"
 * (CONTRACT.md): 10 runs with a 5-minute cap span ≈ 20 minutes of retries on average, and
 * breaker waits (which burn no attempt) stretch a job's life up to the 24 h max age.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  tmo: {
    attempts: 10,
    backoff: { strategy: 'exponentialFullJitter', baseMs: 2_000, capMs: 5 * 60_000 },
    maxAgeMs: 24 * 3_600_000,
    breakerWaitMs: 30_000,
  },
  crm: {
    attempts: 10,
    backoff: { strategy: 'exponentialFullJitter', baseMs: 2_000, capMs: 5 * 60_000 },
    maxAgeMs: 24 * 3_600_000,
    breakerWaitMs: 30_000,
  },
};

/** The BullMQ backoff `type` our jobs carry; BullMQ then calls the custom strategy below. */
export const LEGACY_BACKOFF_TYPE = 'legacy';

/**
 * Job `attempts` for BullMQ: the sum of the per-system budgets. The processor enforces each
 * system's own budget from the counters in the operation record (inline run included), so
 * BullMQ's count must never run out first: an operation may fail up to `tmo.attempts - 1`
 * times on TMO and then up to `crm.attempts` times on CRM.
 */
export function jobAttempts(policy: RetryPolicy): number {
  return LEGACY_SYSTEMS.reduce((sum, s) => sum + policy[s].attempts, 0);
}

/** Delay before retry number `attempt` (1-based) for a system. */
export function backoffDelay(policy: RetryPolicy, system: LegacySystem, attempt: number, random: () => number = Math.random): number {
  const { strategy, ...params } = policy[system].backoff;
  return BACKOFF_STRATEGIES[strategy](attempt, params, random);
}


/**
 * The BullMQ custom backoff strategy (worker `settings.backoffStrategy`). The system comes
 * from the error the processor threw (`system`) or, failing that, the job data; the error
 * may have crossed Redis, so it is read as data.
 */
export function createBackoffStrategy(policy: RetryPolicy, random: () => number = Math.random): BackoffStrategy {
  return (attemptsMade: number, type?: string, err?: Error, job?: MinimalJob): number => {
    if (type !== LEGACY_BACKOFF_TYPE) return -1; // unknown type: do not retry rather than guess
    const fromErr = (err as { system?: unknown } | undefined)?.system;
    const fromJob = (job?.data as { system?: unknown } | undefined)?.system;
    const system = isLegacySystem(fromErr) ? fromErr : isLegacySystem(fromJob) ? fromJob : 'crm';
    // The processor says how many runs failed on that system (inline run included); BullMQ's
    // `attemptsMade` counts every system's failures and not the inline run.
    const failures = (err as { failures?: unknown } | undefined)?.failures;
    const attempt = typeof failures === 'number' && Number.isInteger(failures) && failures > 0 ? failures : attemptsMade;
    return backoffDelay(policy, system, attempt, random);
  };
}

export type FailureDecision =
  /** the system's breaker is open: park the job until about half-open, no attempt burned */
  | { action: 'wait'; until: number }
  | { action: 'retry' }
  | { action: 'dead_letter'; reason: 'not_retryable' | 'attempts_exhausted' | 'max_age' };

/** The soonest a job refused by its breaker runs again: a second, or the whole wait if shorter. */
function breakerRecheckAt(policy: SystemRetryPolicy, now: number): number {
  return now + Math.min(1_000, policy.breakerWaitMs);
}

/** When a job waiting for an open breaker should run again. */
export function breakerWaitUntil(snapshot: Pick<CircuitStateView, 'lastTransitionAt'>, policy: SystemRetryPolicy, now: number): number {
  const floor = breakerRecheckAt(policy, now);
  const since = snapshot.lastTransitionAt ? Date.parse(snapshot.lastTransitionAt) : NaN;
  const planned = Number.isFinite(since) ? since + policy.breakerWaitMs : now + policy.breakerWaitMs;
  return Math.max(floor, planned);
}

/**
 * True when the breaker refused the call (`<system>.circuit_open`): nothing reached the legacy
 * system. Read as data, as the error may have crossed Redis.
 */
export function isBreakerRejection(err: unknown): boolean {
  return isGatewayErrorLike(err) && err.code.endsWith('.circuit_open');
}

/**
 * What to do with a failed run. Pure: the caller passes the clock, the job's age and the
 * breaker state of the failing system. Order matters: a non-retryable error is final at
 * once; an open breaker parks the job without burning an attempt (but not past max age).
 * So does a call the breaker refused while half-open (another job's trial call in flight):
 * the state read afterwards says half-open, open or closed depending on how and when the trial
 * settled, and a call that never left must not spend budget whichever it is.
 */
export function decideFailure(input: {
  err: unknown;
  system: LegacySystem;
  policy: RetryPolicy;
  /**
   * Runs of this operation that already failed on this `system` before this one, the inline
   * run included (the operation record's per-system counter, not BullMQ's `attemptsMade`,
   * which mixes systems and never sees the inline run).
   */
  failedRuns: number;
  enqueuedAt: number;
  now: number;
  circuit: CircuitStateView | undefined;
}): FailureDecision {
  const p = input.policy[input.system];
  if (!isRetryable(input.err)) return { action: 'dead_letter', reason: 'not_retryable' };
  if (input.now - input.enqueuedAt >= p.maxAgeMs) return { action: 'dead_letter', reason: 'max_age' };
  if (input.circuit?.state === 'open') return { action: 'wait', until: breakerWaitUntil(input.circuit, p, input.now) };
  // refused while half-open: the trial call decides; if it fails, the next run finds the breaker open
  if (isBreakerRejection(input.err)) return { action: 'wait', until: breakerRecheckAt(p, input.now) };
  if (input.failedRuns + 1 >= p.attempts) return { action: 'dead_letter', reason: 'attempts_exhausted' };
  return { action: 'retry' };
}
