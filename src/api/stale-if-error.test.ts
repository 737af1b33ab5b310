import type { Context } from 'hono';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NotFoundError, UnavailableError } from '../domain/errors/index.ts';
import type { MerchantTerminal } from '../domain/services/types.ts';
import { createLastKnownStore } from '../jobs/last-known.ts';
import type { ApiEnv } from './env.ts';
import { forbidsStore, readThrough, staleAllowance } from './stale-if-error.ts';
import { createHarness } from './test-support/harness.ts';

describe('staleAllowance (request Cache-Control)', () => {
  it.each<[string | undefined, { allowed: boolean; maxStaleS: number }]>([
    [undefined, { allowed: true, maxStaleS: Infinity }],
    ['', { allowed: true, maxStaleS: Infinity }],
    ['no-cache', { allowed: false, maxStaleS: Infinity }],
    ['No-Cache, max-stale=60', { allowed: false, maxStaleS: 60 }],
    ['no-store', { allowed: false, maxStaleS: Infinity }],
    ['max-stale=120', { allowed: true, maxStaleS: 120 }],
    ['max-stale="30"', { allowed: true, maxStaleS: 30 }],
    ['max-stale', { allowed: true, maxStaleS: Infinity }],
    ['max-age=0, max-stale=5', { allowed: true, maxStaleS: 5 }],
    // not delta-seconds: the most restrictive reading, 0 (before 2026-11-28: any age)
    ['max-stale=abc', { allowed: true, maxStaleS: 0 }],
    ['max-stale=-5', { allowed: true, maxStaleS: 0 }],
    ['max-stale=1.5', { allowed: true, maxStaleS: 0 }],
    ['max-stale=', { allowed: true, maxStaleS: 0 }],
    ['stale-if-error', { allowed: true, maxStaleS: 0 }],
    ['max-stale=abc, stale-if-error=45', { allowed: true, maxStaleS: 0 }],
    ['max-stale=007', { allowed: true, maxStaleS: 7 }],
    ['stale-if-error=45', { allowed: true, maxStaleS: 45 }],
    ['max-stale=120, stale-if-error=45', { allowed: true, maxStaleS: 45 }],
    ['Stale-If-Error=300, max-stale=60', { allowed: true, maxStaleS: 60 }],
    ['no-cache, stale-if-error=45', { allowed: false, maxStaleS: 45 }],
  ])('when the request says %j, then a copy is allowed: %j', (header, expected) => {
    expect(staleAllowance(header)).toEqual(expected);
  });
});

describe('forbidsStore (request Cache-Control no-store, RFC 9111 §5.2.1.5)', () => {
  it.each<[string, boolean]>([
    ['', false],
    ['no-cache', false],
    ['max-stale=60', false],
    ['no-store', true],
    ['No-Store', true],
    ['max-stale=60, no-store', true],
    [' no-store ,no-cache', true],
    ['no-storex', false],
    ['x-no-store', false],
  ])('when the request says %j, then storing is forbidden: %j', (header, expected) => {
    expect(forbidsStore(header)).toBe(expected);
  });
});

/** The real store over an in-memory Redis (get/del, and the copy's script as a plain SET), for the routes. */
function memoryLastKnown() {
  const kv = new Map<string, string>();
  const set = async (_script: string, _numKeys: number, k: string, v: string) => (kv.set(k, v), 1);
  const redis = {
    eval: set,
    evalsha: set,
    get: async (k: string) => kv.get(k) ?? null,
    del: async (k: string) => (kv.delete(k) ? 1 : 0),
  } as unknown as Redis;
  const store = createLastKnownStore({ redis, prefix: 'lgw', cipher: { seal: (s) => `x${s}`, open: (s) => s.slice(1) }, ttlSeconds: 60, logger: { warn: () => undefined } });
  return { kv, store };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

describe('GET /v1/{merchants,terminals}/{id}: a 404 from legacy is never turned into a 200 by an older copy', () => {
  it.each([
    ['merchant', 'merchants.get', 'merchant.not_found'],
    ['terminal', 'terminals.get', 'terminal.not_found'],
  ] as const)('when the %s was read, then legacy answers 404, then legacy is down, then the answer is the 503, not the copy', async (kind, method, code) => {
    const { kv, store } = memoryLastKnown();
    const h = createHarness({ lastKnown: store });
    const m = h.fake.seedMerchant();
    h.fake.seedTerminal(m, { id: 'T0000001' });
    const path = kind === 'merchant' ? `/v1/merchants/${m.id}` : '/v1/terminals/T0000001';
    const auth = await h.auth();
    expect((await h.app.request(path, { headers: auth })).status).toBe(200);
    await settle();
    expect(kv.size).toBe(1);
    // gone at legacy (a customer erased in CRM): 404, and its copy is forgotten
    h.fake.failNext(method, new NotFoundError(code, 'gone'));
    expect((await h.app.request(path, { headers: auth })).status).toBe(404);
    await settle();
    h.fake.failNext(method, new UnavailableError('upstream.unavailable', 'down'));
    const down = await h.app.request(path, { headers: auth });
    expect(down.status).toBe(503);
    expect(down.headers.get('cache-status')).toBeNull();
    expect(kv.size).toBe(0);
  });

  it('when a forgotten merchant is found again at once, then its copy is written again (not skipped as unchanged)', async () => {
    const { kv, store } = memoryLastKnown();
    const h = createHarness({ lastKnown: store });
    const m = h.fake.seedMerchant();
    const auth = await h.auth();
    await h.app.request(`/v1/merchants/${m.id}`, { headers: auth });
    await settle();
    h.fake.failNext('merchants.get', new NotFoundError('merchant.not_found', 'gone'));
    await h.app.request(`/v1/merchants/${m.id}`, { headers: auth });
    await settle();
    expect(kv.size).toBe(0);
    expect((await h.app.request(`/v1/merchants/${m.id}`, { headers: auth })).status).toBe(200);
    await settle();
    expect(kv.size).toBe(1);
  });
});

describe('readThrough: the copy of a fresh read', () => {
  afterEach(() => vi.useRealTimers());
  const terminal = { id: 'T0000001', status: 'active' } as MerchantTerminal;
  const contextWith = (cacheControl?: string) => ({ req: { header: () => cacheControl } }) as unknown as Context<ApiEnv>;

  it('when the legacy read takes 4 s, then the copy is confirmed when the read was sent, not when it answered (Age never understated)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const { kv, store } = memoryLastKnown();
    await readThrough(contextWith(), store, 'terminal', 'T0000001', async () => {
      vi.setSystemTime(1_004_000); // the legacy answer comes 4 s later
      return terminal;
    });
    await settle();
    expect(JSON.parse(kv.get('lgw:lk:terminal:T0000001') ?? '{}')).toMatchObject({ at: 1_000_000 });
  });

  it.each(['no-store', 'max-stale=60, No-Store'])('when the request says Cache-Control: %s, then the fresh answer is not stored as a copy', async (header) => {
    const { kv, store } = memoryLastKnown();
    expect(await readThrough(contextWith(header), store, 'terminal', 'T0000001', async () => terminal)).toBe(terminal);
    await settle();
    expect(kv.size).toBe(0);
  });

  it.each([undefined, 'no-cache', 'max-stale=60'])('when the request says Cache-Control: %s, then the fresh answer is stored', async (header) => {
    const { kv, store } = memoryLastKnown();
    await readThrough(contextWith(header), store, 'terminal', 'T0000001', async () => terminal);
    await settle();
    expect(kv.size).toBe(1);
  });
});

describe('GET /v1/terminals/{id} with Cache-Control: no-store', () => {
  it('when the read succeeds, then no copy is kept; and the next outage answers the 503', async () => {
    const { kv, store } = memoryLastKnown();
    const h = createHarness({ lastKnown: store });
    h.fake.seedTerminal(h.fake.seedMerchant(), { id: 'T0000001' });
    const auth = await h.auth();
    expect((await h.app.request('/v1/terminals/T0000001', { headers: { ...auth, 'Cache-Control': 'no-store' } })).status).toBe(200);
    await settle();
    expect(kv.size).toBe(0);
    h.fake.failNext('terminals.get', new UnavailableError('upstream.unavailable', 'down'));
    expect((await h.app.request('/v1/terminals/T0000001', { headers: auth })).status).toBe(503);
  });
});
