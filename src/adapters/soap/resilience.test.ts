import { afterEach, describe, expect, it, vi } from 'vitest';
import { BusinessError, NotFoundError, TimeoutError, UnavailableError, ValidationError } from '../../domain/errors/index.ts';
import { createCircuitStatus } from './index.ts';
import { createResilience, type BulkheadOptions, type CircuitStateChange, type Resilience } from './resilience.ts';

const BREAKER = { errorThresholdPercentage: 50, volumeThreshold: 4, resetTimeoutMs: 200, rollingWindowMs: 10_000 };

let r: Resilience | undefined;
afterEach(() => {
  r?.shutdown();
  r = undefined;
  vi.useRealTimers();
});

function make(bulkhead: BulkheadOptions = { limit: 2, maxQueue: 2 }): Resilience {
  r = createResilience({ system: 'tmo', breaker: BREAKER, bulkhead });
  return r;
}

const fail = (err: Error) => () => Promise.reject(err);
const ok = () => Promise.resolve('ok');
const deferred = () => {
  let resolve!: (v: string) => void;
  const promise = new Promise<string>((res) => {
    resolve = res;
  });
  return { promise, resolve };
};

describe('circuit breaker', () => {
  it('when a single call fails, then the circuit stays closed (volume threshold)', async () => {
    const res = make();
    await expect(res.run(fail(new UnavailableError('tmo.unavailable', 'x')))).rejects.toMatchObject({ code: 'tmo.unavailable' });
    expect(res.snapshot().state).toBe('closed');
  });

  it('when system failures pass the threshold, then it opens and fails fast with circuit_open and a retry-after', async () => {
    const res = make();
    const changes: CircuitStateChange[] = [];
    res.onStateChange((c) => changes.push(c));
    for (let i = 0; i < 4; i += 1) {
      await res.run(fail(new TimeoutError('tmo.timeout', 'x'))).catch(() => undefined);
    }
    expect(res.snapshot().state).toBe('open');
    let called = false;
    await expect(
      res.run(async () => {
        called = true;
        return 'x';
      }),
    ).rejects.toMatchObject({ kind: 'unavailable', code: 'tmo.circuit_open', retryable: true, retryAfterSeconds: 1 });
    expect(called).toBe(false);
    expect(changes.map((c) => c.to)).toEqual(['open']);
    expect(res.snapshot()).toMatchObject({ lastTransitionAt: expect.any(String), stats: { timeouts: 4, failures: 4 } });
    expect(res.snapshot().stats.rejects).toBeGreaterThanOrEqual(1);
  });

  it('when the reset timeout passes and the trial call succeeds, then it goes half-open then closed', async () => {
    vi.useFakeTimers();
    const res = make();
    const changes: string[] = [];
    res.onStateChange((c) => changes.push(c.to));
    for (let i = 0; i < 4; i += 1) await res.run(fail(new UnavailableError('tmo.unavailable', 'x'))).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(BREAKER.resetTimeoutMs - 1);
    expect(res.snapshot().state).toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    expect(res.snapshot().state).toBe('half_open');
    await expect(res.run(ok)).resolves.toBe('ok');
    expect(res.snapshot().state).toBe('closed');
    expect(changes).toEqual(['open', 'half_open', 'closed']);
  });

  it('when the breaker opens, half-opens and closes, then state() and the status port\'s stateOf say what the snapshot says', async () => {
    vi.useFakeTimers();
    const res = make();
    const crm = createResilience({ system: 'crm', breaker: BREAKER, bulkhead: { limit: 1, maxQueue: 1 } });
    const port = createCircuitStatus({ circuit: () => crm.snapshot(), circuitState: () => crm.state() }, { circuit: () => res.snapshot(), circuitState: () => res.state() });
    const brief = (s: ReturnType<Resilience['snapshot']>) => ({ system: s.system, state: s.state, lastTransitionAt: s.lastTransitionAt });
    try {
      expect(res.state()).toEqual({ system: 'tmo', state: 'closed', lastTransitionAt: null });
      for (let i = 0; i < 4; i += 1) await res.run(fail(new UnavailableError('tmo.unavailable', 'x'))).catch(() => undefined);
      expect(res.state()).toEqual(brief(res.snapshot()));
      expect(port.stateOf('TMO')).toEqual({ system: 'tmo', state: 'open', lastTransitionAt: expect.any(String) });
      expect(port.stateOf('crm')).toEqual({ system: 'crm', state: 'closed', lastTransitionAt: null });
      expect(port.stateOf('sftp')).toBeUndefined();
      await vi.advanceTimersByTimeAsync(BREAKER.resetTimeoutMs);
      expect(port.stateOf('tmo')).toEqual(brief(res.snapshot()));
      expect(res.state().state).toBe('half_open');
      await res.run(ok);
      expect(port.stateOf('tmo')).toEqual(brief(res.snapshot()));
      expect(res.state().state).toBe('closed');
    } finally {
      crm.shutdown();
    }
  });

  it('when the half-open trial fails, then it opens again', async () => {
    vi.useFakeTimers();
    const res = make();
    for (let i = 0; i < 4; i += 1) await res.run(fail(new UnavailableError('tmo.unavailable', 'x'))).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(BREAKER.resetTimeoutMs);
    expect(res.snapshot().state).toBe('half_open');
    await res.run(fail(new UnavailableError('tmo.unavailable', 'x'))).catch(() => undefined);
    expect(res.snapshot().state).toBe('open');
  });

  it('when the half-open trial is aborted by its caller, then the circuit does not close (the system gave no answer)', async () => {
    vi.useFakeTimers();
    const res = make();
    for (let i = 0; i < 4; i += 1) await res.run(fail(new UnavailableError('tmo.unavailable', 'x'))).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(BREAKER.resetTimeoutMs);
    expect(res.snapshot().state).toBe('half_open');
    await expect(res.run(fail(new UnavailableError('tmo.aborted', 'x', { retryable: false })))).rejects.toMatchObject({ code: 'tmo.aborted' });
    expect(res.snapshot().state).toBe('open');
  });

  it.each([
    ['business', new BusinessError('merchant.mcc_not_allowed', 'x')],
    ['validation', new ValidationError('tmo.invalid_field', 'x')],
    ['not found', new NotFoundError('terminal.not_found', 'x')],
    ['aborted', new UnavailableError('tmo.aborted', 'x', { retryable: false })],
  ])('when every call ends in a %s error, then the circuit never opens', async (_label, err) => {
    const res = make();
    for (let i = 0; i < 10; i += 1) await expect(res.run(fail(err))).rejects.toBe(err);
    expect(res.snapshot().state).toBe('closed');
  });
});

describe('bulkhead', () => {
  it('when the limit and the queue are full, then the next call fails fast with overloaded', async () => {
    const res = make({ limit: 1, maxQueue: 1 });
    const gate = deferred();
    const first = res.run(() => gate.promise);
    const second = res.run(ok);
    expect(res.snapshot().bulkhead).toEqual({ limit: 1, active: 1, queued: 1 });
    await expect(res.run(ok)).rejects.toMatchObject({ kind: 'unavailable', code: 'tmo.overloaded', retryable: true });
    gate.resolve('first');
    await expect(first).resolves.toBe('first');
    await expect(second).resolves.toBe('ok');
  });

  it('when a queued call is aborted, then it fails at once and never runs', async () => {
    vi.useFakeTimers();
    const res = make({ limit: 1, maxQueue: 5 });
    const gate = deferred();
    const first = res.run(() => gate.promise);
    const ac = new AbortController();
    let ran = false;
    const queued = res.run(async () => {
      ran = true;
      return 'x';
    }, ac.signal);
    ac.abort();
    await expect(queued).rejects.toMatchObject({ code: 'tmo.aborted' });
    gate.resolve('done');
    await first;
    await vi.advanceTimersByTimeAsync(10); // whatever the bulkhead scheduled after the first call
    expect(ran).toBe(false);
  });

  it('when a call waits in the queue longer than queueTimeoutMs, then it fails with overloaded', async () => {
    vi.useFakeTimers();
    const res = make({ limit: 1, maxQueue: 5, queueTimeoutMs: 30 });
    const gate = deferred();
    const first = res.run(() => gate.promise);
    let settled = false;
    const queued = res.run(ok).finally(() => (settled = true));
    queued.catch(() => undefined);
    await vi.advanceTimersByTimeAsync(29);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(queued).rejects.toMatchObject({ code: 'tmo.overloaded' });
    gate.resolve('done');
    await first;
  });

  it('when slots free with calls queued, then they start in arrival order, skip the ones that gave up, and the counts follow', async () => {
    const res = make({ limit: 2, maxQueue: 5 });
    const gates = [deferred(), deferred(), deferred()];
    const started: string[] = [];
    const task = (name: string, gate?: Promise<string>) => () => {
      started.push(name);
      return gate ?? Promise.resolve(name);
    };
    const first = res.run(task('first', gates[0]?.promise));
    const second = res.run(task('second', gates[1]?.promise));
    expect(started).toEqual(['first', 'second']); // a free slot starts the call at once
    const ac = new AbortController();
    const gone = res.run(task('gone'), ac.signal);
    const third = res.run(task('third', gates[2]?.promise));
    const fourth = res.run(task('fourth'));
    ac.abort();
    await expect(gone).rejects.toMatchObject({ code: 'tmo.aborted' });
    // one that gave up stays counted until its turn, as with p-limit before
    expect(res.snapshot().bulkhead).toEqual({ limit: 2, active: 2, queued: 3 });
    gates[0]?.resolve('first');
    await expect(first).resolves.toBe('first');
    expect(started).toEqual(['first', 'second', 'third']);
    expect(res.snapshot().bulkhead).toEqual({ limit: 2, active: 2, queued: 1 });
    gates[1]?.resolve('second');
    gates[2]?.resolve('third');
    await expect(Promise.all([second, third, fourth])).resolves.toEqual(['second', 'third', 'fourth']);
    expect(started).toEqual(['first', 'second', 'third', 'fourth']);
    expect(res.snapshot().bulkhead).toEqual({ limit: 2, active: 0, queued: 0 });
  });

  it('when it shuts down with calls queued, then they are rejected instead of hanging, and later calls fail', async () => {
    const res = make({ limit: 1, maxQueue: 5 });
    const gate = deferred();
    const first = res.run(() => gate.promise);
    const queued = res.run(ok);
    res.shutdown();
    res.shutdown();
    await expect(queued).rejects.toMatchObject({ code: 'tmo.closed' });
    await expect(res.run(ok)).rejects.toMatchObject({ code: 'tmo.closed' });
    gate.resolve('done');
    await first.catch(() => undefined);
  });
});
