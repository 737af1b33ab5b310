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
});
