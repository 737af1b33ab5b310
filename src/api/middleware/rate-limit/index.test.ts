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

/** Two "instances" on one Redis with one key prefix, with options of the test's own. */
function pair(opts: Omit<Parameters<typeof rateLimit>[0], 'redis' | 'keyPrefix'>) {
  const keyPrefix = `rltest-${randomBytes(4).toString('hex')}:rl`;
  const clients = [redis.duplicate(), redis.duplicate()];
  const apps = clients.map((client) => createHarness({ rateLimit: rateLimit({ ...opts, redis: client, keyPrefix }) }).app);
  return { apps, clients, keyPrefix, close: () => clients.forEach((c) => c.disconnect()) };
}

type App = ReturnType<typeof createHarness>['app'];

/** Reads of one client on `app` by `workers` concurrent loops, each stopping at its first 429 (or after `max`). */
async function hammer(app: App, token: string, workers: number, max: number) {
  let admitted = 0;
  let refused = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let i = 0; i < max; i++) {
        const res = await app.request('/v1/merchants/C000000001', { headers: { Authorization: `Bearer ${token}` } });
        if (res.status === 429) {
          refused++;
          return;
        }
        admitted++;
      }
    }),
  );
  return { admitted, refused };
}

/** Points granted in the client's current Redis window (the hash of LEASE_SCRIPT); null = no window. */
async function grantedInWindow(keyPrefix: string, subject: string): Promise<number | null> {
  const n = await redis.hget(`${keyPrefix}:lease:read:${subject}`, 'n');
  return n === null ? null : Number(n);
}

/**
 * Rounds of 10 reads at once (a rate that takes leases of more than one point) until Redis has
 * granted more than was admitted, i.e. the instance holds unused lease points; returns the admitted.
 */
async function burstUntilUnusedLease(get: () => Response | Promise<Response>, keyPrefix: string, subject: string): Promise<number> {
  let admitted = 0;
  for (let round = 0; round < 50; round++) {
    const statuses = await Promise.all(Array.from({ length: 10 }, async () => (await get()).status));
    expect(statuses).not.toContain(429);
    admitted += statuses.length;
    if (round >= 2 && (await grantedInWindow(keyPrefix, subject))! > admitted) break;
  }
  return admitted;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('rateLimit: points leased from Redis in blocks', () => {
  it('when one client sends a burst of 2,000 reads, then Redis sees at most 10 % as many calls and none is refused', async () => {
    const keyPrefix = `rltest-${randomBytes(4).toString('hex')}:rl`;
    const client = redis.duplicate();
    const sent = vi.spyOn(client, 'sendCommand');
    const app = createHarness({ rateLimit: rateLimit({ redis: client, keyPrefix, limits: { read: 1_000_000 } }) }).app;
    const token = await signToken(['merchants:read'], { subject: 'client-burst' });
    expect(await hammer(app, token, 20, 100)).toEqual({ admitted: 2000, refused: 0 });
    expect(sent.mock.calls.length).toBeGreaterThan(0);
    expect(sent.mock.calls.length).toBeLessThanOrEqual(200);
    // Redis counted every admitted read (a lease is counted when it is taken)
    expect(await grantedInWindow(keyPrefix, 'client-burst')).toBeGreaterThanOrEqual(2000);
    client.disconnect();
  });

  it('when two instances are hammered at once by one client with a limit of 500, then exactly 500 pass in all', async () => {
    const { apps, keyPrefix, close } = pair({ limits: { read: 500 } });
    const token = await signToken(['merchants:read'], { subject: 'client-hammer' });
    const results = await Promise.all(apps.map((app) => hammer(app, token, 8, 1000)));
    expect(results.map((r) => r.refused)).toEqual([8, 8]);
    // Redis never grants past the limit (≤ 500). An instance refuses only once its lease is used
    // up and Redis has nothing left, so while both keep calling no point stays stranded in a
    // lease (≥ 500: the documented slack, unused lease points, is 0 here)
    expect(results[0]!.admitted + results[1]!.admitted).toBe(500);
    expect(results[0]!.admitted).toBeGreaterThan(0);
    expect(results[1]!.admitted).toBeGreaterThan(0);
    expect(await grantedInWindow(keyPrefix, 'client-hammer')).toBe(500);
    close();
  });

  it('when the window has ended, then both instances admit the client again', async () => {
    const { apps, keyPrefix, close } = pair({ limits: { read: 50 }, windowSeconds: 1 });
    const token = await signToken(['merchants:read'], { subject: 'client-reset' });
    const results = await Promise.all(apps.map((app) => hammer(app, token, 4, 200)));
    expect(results.map((r) => r.refused)).toEqual([4, 4]);
    expect(results[0]!.admitted + results[1]!.admitted).toBeLessThanOrEqual(100); // at most one reset during the burst
    for (let i = 0; i < 60 && (await grantedInWindow(keyPrefix, 'client-reset')) !== null; i++) await sleep(50);
    for (const app of apps) {
      const res = await app.request('/v1/merchants/C000000001', { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status).not.toBe(429);
    }
    close();
  });

  it('when a lease is left unused, then its points go back to Redis with the next call in the window and the other instance can use them', async () => {
    const { apps, keyPrefix, close } = pair({ limits: { read: 400 } });
    const [a, b] = apps as [App, App];
    const token = await signToken(['merchants:read'], { subject: 'client-return' });
    const get = (app: App) => app.request('/v1/merchants/C000000001', { headers: { Authorization: `Bearer ${token}` } });
    // fast rounds of reads on A until A holds a lease with points it has not used
    const admittedA = await burstUntilUnusedLease(() => get(a), keyPrefix, 'client-return');
    let admittedLater = 0;
    const unused = (await grantedInWindow(keyPrefix, 'client-return'))! - admittedA;
    expect(unused).toBeGreaterThan(0);
    // past the lease's deadline and A's rate estimate: A's next read gives the unused points back and takes one
    await sleep(300);
    expect((await get(a)).status).not.toBe(429);
    admittedLater++;
    expect(await grantedInWindow(keyPrefix, 'client-return')).toBe(admittedA + admittedLater);
    const { admitted: admittedB } = await hammer(b, token, 1, 1000);
    expect(admittedA + admittedLater + admittedB).toBe(400);
    close();
  });

  it('when the window ends while a lease still has points and time, then the next read asks Redis and counts in the new window only', async () => {
    // leases that would last a minute: only the window's end can stop them
    const { apps, clients, keyPrefix, close } = pair({ limits: { read: 100_000 }, windowSeconds: 1, leaseMs: 60_000 });
    const [a, b] = apps as [App, App];
    const sent = vi.spyOn(clients[0]!, 'sendCommand');
    const token = await signToken(['merchants:read'], { subject: 'client-boundary' });
    const get = (app: App) => app.request('/v1/merchants/C000000001', { headers: { Authorization: `Bearer ${token}` } });
    const admitted = await burstUntilUnusedLease(() => get(a), keyPrefix, 'client-boundary');
    expect((await grantedInWindow(keyPrefix, 'client-boundary'))! - admitted).toBeGreaterThan(0);
    for (let i = 0; i < 60 && (await grantedInWindow(keyPrefix, 'client-boundary')) !== null; i++) await sleep(50);
    expect(await grantedInWindow(keyPrefix, 'client-boundary')).toBeNull();
    // B starts the new window; then A's read goes to Redis, and A's unused points of the old
    // window are neither used nor given back into the new one
    expect((await get(b)).status).not.toBe(429);
    const before = sent.mock.calls.length;
    const res = await get(a);
    expect(res.status).not.toBe(429);
    expect(sent.mock.calls.length).toBe(before + 1);
    expect(await grantedInWindow(keyPrefix, 'client-boundary')).toBe(2);
    expect(res.headers.get('RateLimit')).toBe('"read";r=99998;t=1');
    close();
  });

  it('when more clients call than maxLeases, then the least recently renewed one is forgotten (memory stays bounded) and asks Redis again', async () => {
    const keyPrefix = `rltest-${randomBytes(4).toString('hex')}:rl`;
    const client = redis.duplicate();
    const sent = vi.spyOn(client, 'sendCommand');
    const app = createHarness({ rateLimit: rateLimit({ redis: client, keyPrefix, limits: { read: 1 }, maxLeases: 2 }) }).app;
    const tokens = await Promise.all(['lru-1', 'lru-2', 'lru-3'].map((subject) => signToken(['merchants:read'], { subject })));
    const get = (i: number) => app.request('/v1/merchants/C000000001', { headers: { Authorization: `Bearer ${tokens[i]}` } });
    for (const i of [0, 1]) expect((await get(i)).status).not.toBe(429);
    const calls = sent.mock.calls.length;
    // both remembered: refused from memory
    for (const i of [0, 1]) expect((await get(i)).status).toBe(429);
    expect(sent.mock.calls.length).toBe(calls);
    expect((await get(2)).status).not.toBe(429); // a third client: lru-1 is dropped
    expect((await get(1)).status).toBe(429);
    expect(sent.mock.calls.length).toBe(calls + 1);
    expect((await get(0)).status).toBe(429); // Redis refuses it: the limit holds
    expect(sent.mock.calls.length).toBe(calls + 2);
    client.disconnect();
  });

  it('when the Redis connection has ended after leases were taken, then the client is counted in memory with the limit and onError is told', async () => {
    const keyPrefix = `rltest-${randomBytes(4).toString('hex')}:rl`;
    const client = redis.duplicate();
    const errors: unknown[] = [];
    const app = createHarness({ rateLimit: rateLimit({ redis: client, keyPrefix, limits: { read: 3 }, onError: (e) => errors.push(e) }) }).app;
    const token = await signToken(['merchants:read'], { subject: 'client-ended' });
    const get = () => app.request('/v1/merchants/C000000001', { headers: { Authorization: `Bearer ${token}` } });
    expect((await get()).status).not.toBe(429);
    expect(errors).toHaveLength(0);
    client.disconnect();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get()).status);
    // this process's memory knows nothing of the Redis count: the full limit, then 429
    expect(statuses.slice(0, 3)).not.toContain(429);
    expect(statuses[3]).toBe(429);
    expect(errors).toHaveLength(4);
  });
});
