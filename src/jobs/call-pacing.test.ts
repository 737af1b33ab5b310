import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { isRetryable } from '../domain/errors/index.ts';
import { createRedisPacer } from './call-pacing.ts';

const clients: Redis[] = [];
function client(url = inject('redisUrl'), opts: RedisOptions = {}): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 2_000, ...opts });
  r.on('error', () => undefined);
  clients.push(r);
  return r;
}
afterAll(() => {
  for (const r of clients) r.disconnect();
});

/** Counts the limiter's script calls a client sends (EVAL and EVALSHA). */
function countScripts(redis: Redis): { readonly n: number } {
  const counter = { n: 0 };
  for (const name of ['eval', 'evalsha'] as const) {
    const original = redis[name].bind(redis) as (...a: unknown[]) => Promise<unknown>;
    (redis as unknown as Record<string, unknown>)[name] = (...a: unknown[]) => {
      counter.n += 1;
      return original(...a);
    };
  }
  return counter;
}

describe('createRedisPacer', () => {
  it('when two pacers on two clients share a key, then their calls together keep to the rate', async () => {
    const key = `{t}:pace:${randomUUID()}`;
    const rate = 20;
    const a = createRedisPacer({ redis: client(), key, ratePerS: rate });
    const b = createRedisPacer({ redis: client(), key, ratePerS: rate });
    const at: number[] = [];
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).acquire().then(() => at.push(Date.now() - t0))));
    // burst 1 at 20/s: the first goes at once, the others 50 ms apart
    expect(Math.max(...at)).toBeGreaterThanOrEqual((19 * 1000) / rate - 20);
  });

  it('when Redis cannot be reached, then acquire fails within its command timeout with a retryable error (the job is retried, not parked)', async () => {
    // a port nothing listens on: the first reconnect attempt fails, and so does the command
    const pacer = createRedisPacer({ redis: client('redis://127.0.0.1:1'), key: '{t}:pace:down', ratePerS: 10 });
    const err = await pacer.acquire().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    expect(isRetryable(err)).toBe(true);
    expect((err as { kind?: unknown }).kind).toBe('unavailable');
  });

  it('when many calls wait for one rate, then each costs about one script call (no thundering herd on Redis)', async () => {
    const key = `{t}:pace:${randomUUID()}`;
    const redis = client();
    const scripts = countScripts(redis);
    const pacer = createRedisPacer({ redis, key, ratePerS: 50 });
    const callers = 40;
    await Promise.all(Array.from({ length: callers }, () => pacer.acquire()));
    // racing for each slot costs every waiter a call per slot: ~callers²/2 (800 here)
    expect(scripts.n).toBeLessThanOrEqual(2 * callers);
  });

  it('when calls keep arriving, then they are served in order of arrival (none starves behind newer ones)', async () => {
    const key = `{t}:pace:${randomUUID()}`;
    const pacers = Array.from({ length: 10 }, () => createRedisPacer({ redis: client(), key, ratePerS: 100 }));
    const order: number[] = [];
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      const pacer = pacers[i % pacers.length];
      if (!pacer) throw new Error('no pacer');
      pending.push(pacer.acquire().then(() => void order.push(i)));
      await new Promise((r) => setTimeout(r, 2)); // a new caller every 2 ms, five times the rate
    }
    await Promise.all(pending);
    // served FIFO: the i-th caller is never served after more than a few that came later
    const overtaken = order.map((id, pos) => order.slice(0, pos).filter((other) => other > id).length);
    expect(Math.max(...overtaken)).toBeLessThanOrEqual(3);
  });
});
