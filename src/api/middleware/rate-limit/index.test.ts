import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { createHarness, signToken } from '../../test-support/harness.ts';
import { groupOf, rateLimit } from './index.ts';

const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.disconnect());

/** Two "instances" (two apps, two Redis clients) with one key prefix, as two gateway processes have. */
function twoInstances(limits: Parameters<typeof rateLimit>[0]['limits']) {
  const keyPrefix = `rltest-${randomBytes(4).toString('hex')}:rl`;
  const clients = [redis.duplicate(), redis.duplicate()];
  const apps = clients.map((client) => createHarness({ rateLimit: rateLimit({ redis: client, keyPrefix, limits }) }).app);
  return { apps, close: () => clients.forEach((c) => c.disconnect()) };
}

describe('rateLimit', () => {
  it.each([
    ['GET', '/v1/merchants/C000000001', 'read'],
    ['POST', '/v1/merchants', 'write'],
    ['GET', '/ops/dead-letters', 'ops-read'],
    ['POST', '/ops/dead-letters/retry', 'ops-write'],
  ] as const)('when %s %s, then the group is %s', (method, path, group) => {
    expect(groupOf(method, path)).toBe(group);
  });

  it('when two instances share one Redis, then a client gets one limit across both, then 429 with Retry-After and RateLimit headers', async () => {
    const { apps, close } = twoInstances({ read: 3 });
    const token = await signToken(['merchants:read'], { subject: 'client-rl' });
    const get = (i: number) => apps[i % 2]?.request('/v1/merchants/C000000001', { headers: { Authorization: `Bearer ${token}` } });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await get(i));
    expect(answers.slice(0, 3).map((r) => r?.status)).not.toContain(429);
    expect(answers[0]?.headers.get('RateLimit-Policy')).toBe('"read";q=3;w=60');
    expect(answers[2]?.headers.get('RateLimit')).toMatch(/^"read";r=0;t=\d+$/);
    const limited = answers[3];
    expect(limited?.status).toBe(429);
    expect(limited?.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(limited?.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(((await limited?.json()) as { code: string }).code).toBe('request.rate_limited');

    // another client has its own budget
    const other = await signToken(['merchants:read'], { subject: 'client-other' });
    expect((await apps[0]?.request('/v1/merchants/C000000001', { headers: { Authorization: `Bearer ${other}` } }))?.status).not.toBe(429);
    close();
  });

  it('when a client has used up its points on an instance, then that instance refuses it without asking Redis until the window ends', async () => {
    const keyPrefix = `rltest-${randomBytes(4).toString('hex')}:rl`;
    const client = redis.duplicate();
    const sent = vi.spyOn(client, 'sendCommand');
    const app = createHarness({ rateLimit: rateLimit({ redis: client, keyPrefix, limits: { read: 2 } }) }).app;
    const token = await signToken(['merchants:read'], { subject: 'client-blocked' });
    const get = () => app.request('/v1/merchants/C000000001', { headers: { Authorization: `Bearer ${token}` } });
    expect((await get()).status).not.toBe(429);
    expect((await get()).status).not.toBe(429);
    const afterLimit = sent.mock.calls.length;
    for (let i = 0; i < 3; i++) {
      const refused = await get();
      expect(refused.status).toBe(429);
      expect(refused.headers.get('RateLimit')).toMatch(/^"read";r=0;t=\d+$/);
      expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0);
    }
    expect(sent.mock.calls.length).toBe(afterLimit);
    client.disconnect();
  });

  it('when a group has no limit, then its requests carry no rate limit headers and are never refused', async () => {
    const { apps, close } = twoInstances({ write: 1 });
    const token = await signToken(['merchants:read'], { subject: 'client-nolimit' });
    for (let i = 0; i < 3; i++) {
      const res = await apps[0]?.request('/v1/merchants/C000000001', { headers: { Authorization: `Bearer ${token}` } });
      expect(res?.status).not.toBe(429);
      expect(res?.headers.get('RateLimit-Policy')).toBeNull();
    }
    close();
  });

  it('when Redis is unreachable, then each instance holds the limit in its own memory and onError is told', async () => {
    // nothing listens on port 1; not connected, so the limiter fails at once instead of waiting
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const errors: unknown[] = [];
    const app = createHarness({ rateLimit: rateLimit({ redis: down, keyPrefix: 'rl-down', limits: { read: 2 }, onError: (e) => errors.push(e) }) }).app;
    const token = await signToken(['merchants:read'], { subject: 'client-down' });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await app.request('/v1/merchants/C000000001', { headers: { Authorization: `Bearer ${token}` } })).status);
    expect(statuses.slice(0, 2)).not.toContain(429);
    expect(statuses[2]).toBe(429);
    expect(errors).toHaveLength(3);
    down.disconnect();
  });
});
