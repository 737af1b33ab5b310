import { describe, expect, it } from 'vitest';
import type { CircuitSnapshot } from '../domain/circuit.port.ts';
import { BusinessError, TimeoutError, UnavailableError } from '../domain/errors/index.ts';
import {
  BACKOFF_STRATEGIES,
  DEFAULT_RETRY_POLICY,
  LEGACY_BACKOFF_TYPE,
  createBackoffStrategy,
  decideFailure,
  jobAttempts,
} from './retry-policy.ts';

const p = { baseMs: 100, capMs: 1_000 };
const open = (at: string | null): CircuitSnapshot => ({
  system: 'tmo',
  state: 'open',
  lastTransitionAt: at,
  stats: { successes: 0, failures: 0, timeouts: 0, rejects: 0, fires: 0 },
  bulkhead: { limit: 1, active: 0, queued: 0 },
});

describe('backoff strategies', () => {
  it.each([
    [1, 0.5, 50],
    [2, 0.5, 100],
    [4, 0.999, 799],
    [10, 0.5, 500], // capped at 1 000
    [1, 0, 1], // never 0: BullMQ would retry at once
  ])('when full jitter runs for attempt %i with random %d, then it waits %i ms', (attempt, r, ms) => {
    expect(BACKOFF_STRATEGIES.exponentialFullJitter(attempt, p, () => r)).toBe(ms);
  });

  it.each([
    [1, 100],
    [3, 400],
    [8, 1_000],
  ])('when plain exponential runs for attempt %i, then it waits %i ms', (attempt, ms) => {
    expect(BACKOFF_STRATEGIES.exponential(attempt, p)).toBe(ms);
  });

  it('when BullMQ asks for a delay, then the row of the error system applies, and an unknown type is not retried', () => {
    const policy = {
      tmo: { ...DEFAULT_RETRY_POLICY.tmo, backoff: { strategy: 'fixed' as const, baseMs: 7, capMs: 7 } },
      crm: { ...DEFAULT_RETRY_POLICY.crm, backoff: { strategy: 'fixed' as const, baseMs: 9, capMs: 9 } },
    };
    const strategy = createBackoffStrategy(policy);
    expect(strategy(1, LEGACY_BACKOFF_TYPE, Object.assign(new Error('x'), { system: 'tmo' }))).toBe(7);
    expect(strategy(1, LEGACY_BACKOFF_TYPE, Object.assign(new Error('x'), { system: 'crm' }))).toBe(9);
    expect(strategy(1, 'other')).toBe(-1);
  });

  it('when the processor tells the failures on the system, then the backoff grows with those, not with BullMQ attemptsMade', () => {
    const policy = {
      tmo: { ...DEFAULT_RETRY_POLICY.tmo, backoff: { strategy: 'exponential' as const, baseMs: 10, capMs: 10_000 } },
      crm: { ...DEFAULT_RETRY_POLICY.crm, backoff: { strategy: 'exponential' as const, baseMs: 10, capMs: 10_000 } },
    };
    const strategy = createBackoffStrategy(policy);
    // BullMQ saw one failure, but the inline run and two earlier TMO runs failed too
    expect(strategy(1, LEGACY_BACKOFF_TYPE, Object.assign(new Error('x'), { system: 'tmo', failures: 4 }))).toBe(80);
    expect(strategy(3, LEGACY_BACKOFF_TYPE, Object.assign(new Error('x'), { system: 'tmo' }))).toBe(40);
    // the sum: an operation may spend TMO's whole budget and then CRM's
    expect(jobAttempts(policy)).toBe(20);
  });
});

describe('decideFailure', () => {
  const base = { system: 'tmo' as const, policy: DEFAULT_RETRY_POLICY, failedRuns: 0, enqueuedAt: 0, now: 1_000, circuit: undefined };

  it.each([
    ['a business refusal', new BusinessError('merchant.mcc_not_allowed', 'no'), {}, { action: 'dead_letter', reason: 'not_retryable' }],
    ['a timeout', new TimeoutError('tmo.timeout', 't'), {}, { action: 'retry' }],
    ['the last attempt failing', new UnavailableError('tmo.unavailable', 'u'), { failedRuns: 9 }, { action: 'dead_letter', reason: 'attempts_exhausted' }],
    ['a job older than max age', new UnavailableError('tmo.unavailable', 'u'), { now: 25 * 3_600_000 }, { action: 'dead_letter', reason: 'max_age' }],
    ['a plain Error (not a gateway error)', new Error('boom'), {}, { action: 'dead_letter', reason: 'not_retryable' }],
  ])('when the failure is %s, then %o', (_name, err, over, expected) => {
    expect(decideFailure({ ...base, ...over, err })).toEqual(expected);
  });

  it('when the other system failed many times, then this system still has its own budget', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, tmo: { ...DEFAULT_RETRY_POLICY.tmo, attempts: 3 }, crm: { ...DEFAULT_RETRY_POLICY.crm, attempts: 3 } };
    const err = new UnavailableError('tmo.unavailable', 'u');
    expect(decideFailure({ ...base, policy, failedRuns: 0, err })).toEqual({ action: 'retry' });
    expect(decideFailure({ ...base, policy, failedRuns: 1, err })).toEqual({ action: 'retry' });
    expect(decideFailure({ ...base, policy, failedRuns: 2, err })).toEqual({ action: 'dead_letter', reason: 'attempts_exhausted' });
  });

  it('when the breaker is open, then the job waits until about half-open, even on its last attempt', () => {
    const at = new Date(500).toISOString();
    expect(decideFailure({ ...base, failedRuns: 9, err: new UnavailableError('tmo.circuit_open', 'o'), circuit: open(at) })).toEqual({
      action: 'wait',
      until: 500 + DEFAULT_RETRY_POLICY.tmo.breakerWaitMs,
    });
  });

  it.each([
    ['half-open (the trial call still in flight)', 'half_open' as const],
    ['closed (the trial call has just succeeded)', 'closed' as const],
  ])('when the breaker refused the call and reads %s afterwards, then the job waits without spending an attempt, even its last', (_name, state) => {
    const circuit = { ...open(new Date(800).toISOString()), state };
    // runs again a second later: by then the trial call has settled (an open breaker is waited for before the call)
    expect(decideFailure({ ...base, failedRuns: 9, err: new UnavailableError('tmo.circuit_open', 'o'), circuit })).toEqual({ action: 'wait', until: 2_000 });
    // read as data (the error crossed Redis), and with no breaker state known
    const fromRedis = JSON.parse(JSON.stringify(new UnavailableError('tmo.circuit_open', 'o').toJSON())) as unknown;
    expect(decideFailure({ ...base, failedRuns: 9, err: fromRedis })).toEqual({ action: 'wait', until: 2_000 });
  });

  it('when a deserialised error says retryable, then it is retried (decisions read data, not classes)', () => {
    const fromRedis = JSON.parse(JSON.stringify(new UnavailableError('crm.unavailable', 'u', { system: 'crm' }).toJSON())) as unknown;
    expect(decideFailure({ ...base, err: fromRedis })).toEqual({ action: 'retry' });
  });
});
