import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Hono, type Context } from 'hono';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApiEnv } from '../env.ts';
import { containsClearIban } from './clear-iban.ts';
import { createIdempotencyMiddleware, parseIdempotencyKey, type IdempotencyOptions } from './index.ts';

const IBAN = 'IT60X0542811101000000123456';
const IBAN_MASKED = 'IT**************3456';

let redis: Redis;
// One prefix per file (and run) so parallel test files never see each other's keys.
const prefix = `lgw:test:idem:${randomUUID()}:`;

beforeAll(() => {
  redis = new Redis(inject('redisUrl'), { lazyConnect: false, maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  const keys = await keysUnderPrefix();
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

async function keysUnderPrefix(): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

type Outcome = { status: number; body?: unknown; headers?: Record<string, string> };

interface Harness {
  app: Hono<ApiEnv>;
  calls: { count: number };
  /** Outcomes the handler returns in turn (the last one repeats). */
  outcomes: Outcome[];
  /** When set, the handler waits for it before answering. */
  gate: { wait: Promise<void> | null };
}

function harness(overrides: Partial<IdempotencyOptions> = {}, keyPrefix = `${prefix}${randomUUID()}:`): Harness {
  const calls = { count: 0 };
  const outcomes: Outcome[] = [];
  const gate: { wait: Promise<void> | null } = { wait: null };
  const app = new Hono<ApiEnv>();
  // Like the real app: an error handler turns a thrown error into a 500 (quietly here).
  app.onError(() => new Response('{"code":"internal"}', { status: 500, headers: { 'content-type': 'application/json' } }));
  // Stand-ins for the request-id and auth middleware: both come from test headers.
  app.use(async (c, next) => {
    c.set('requestId', c.req.header('x-request-id') ?? 'req-test');
    c.set('principal', { subject: c.req.header('x-test-client') ?? 'client-a', scopes: new Set(['merchants:write']) });
    await next();
  });
  app.use(createIdempotencyMiddleware({ redis, keyPrefix, ...overrides }));
  const handle = async (c: Context<ApiEnv>): Promise<Response> => {
    calls.count += 1;
    const input = (await c.req.json().catch(() => ({}))) as { iban?: string };
    if (gate.wait) await gate.wait;
    const outcome = outcomes[Math.min(calls.count - 1, outcomes.length - 1)] ?? {
      status: 201,
      body: { id: 'C000000001', ibanMasked: input.iban ? IBAN_MASKED : null, call: calls.count },
      headers: { Location: '/merchants/C000000001', 'X-Internal': 'secret' },
    };
    if (outcome.status === 500) throw new Error('boom');
    return new Response(outcome.body === undefined ? null : JSON.stringify(outcome.body), {
      status: outcome.status,
      headers: { 'content-type': 'application/json', ...outcome.headers },
    });
  };
  app.post('/merchants', handle);
  app.post('/merchants/:id/terminals', handle);
  app.patch('/merchants/:id', handle);
  app.get('/merchants/:id', handle);
  return { app, calls, outcomes, gate };
}

function post(h: Harness, body: unknown, headers: Record<string, string> = {}, path = '/merchants'): Promise<Response> {
  return Promise.resolve(
    h.app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }),
  );
}

const merchant = { legalName: 'Bar Roma', vatNumber: '01234567890', iban: IBAN };

describe('idempotency middleware', () => {
  it('when a POST is repeated with the same key and body, then the stored answer is replayed without calling the handler', async () => {
    const h = harness();
    const first = await post(h, merchant, { 'Idempotency-Key': 'k-1' });
    const firstBody: unknown = await first.json();
    const second = await post(h, merchant, { 'Idempotency-Key': 'k-1' });

    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(second.status).toBe(201);
    expect(await second.json()).toEqual(firstBody);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.headers.get('location')).toBe('/merchants/C000000001');
    expect(second.headers.get('content-type')).toBe('application/json');
    // Only allow-listed headers are kept.
    expect(second.headers.get('x-internal')).toBeNull();
    expect(h.calls.count).toBe(1);
  });

  it('when the same body is sent with keys in another order, then it is the same request', async () => {
    const h = harness();
    await post(h, { a: 1, b: { c: 2, d: [1, 2] } }, { 'Idempotency-Key': 'k-order' });
    const again = await post(h, { b: { d: [1, 2], c: 2 }, a: 1 }, { 'Idempotency-Key': 'k-order' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(h.calls.count).toBe(1);
  });

  it('when the same key comes with a different body, then 422 idempotency.key_reused and the handler is not called', async () => {
    const h = harness();
    await post(h, merchant, { 'Idempotency-Key': 'k-2', 'x-request-id': 'req-1' });
    const res = await post(h, { ...merchant, legalName: 'Bar Milano' }, { 'Idempotency-Key': 'k-2', 'x-request-id': 'req-2' });

    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({
      type: 'https://legacy-gateway.dev/problems/idempotency.key_reused',
      status: 422,
      code: 'idempotency.key_reused',
      requestId: 'req-2',
      errors: [{ field: 'Idempotency-Key' }],
    });
    expect(h.calls.count).toBe(1);
  });

  it('when the same key comes on another path, then it is a different scope', async () => {
    const h = harness();
    await post(h, merchant, { 'Idempotency-Key': 'k-path' });
    const other = await post(h, merchant, { 'Idempotency-Key': 'k-path' }, '/merchants/C000000001/terminals');
    expect(other.status).toBe(201);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
    expect(h.calls.count).toBe(2);
  });

  it('when a duplicate arrives while the first is still running, then 409 idempotency.in_progress with Retry-After: 1', async () => {
    const h = harness();
    let open!: () => void;
    h.gate.wait = new Promise<void>((resolve) => (open = resolve));
    const first = post(h, merchant, { 'Idempotency-Key': 'k-3' });
    await until(() => h.calls.count === 1);

    const dup = await post(h, merchant, { 'Idempotency-Key': 'k-3' });
    expect(dup.status).toBe(409);
    expect(dup.headers.get('retry-after')).toBe('1');
    expect(await dup.json()).toMatchObject({ code: 'idempotency.in_progress', status: 409 });

    open();
    expect((await first).status).toBe(201);
    const after = await post(h, merchant, { 'Idempotency-Key': 'k-3' });
    expect(after.headers.get('idempotent-replayed')).toBe('true');
    expect(h.calls.count).toBe(1);
  });

  it('when a running request is repeated with a different body, then 422 (not 409)', async () => {
    const h = harness();
    let open!: () => void;
    h.gate.wait = new Promise<void>((resolve) => (open = resolve));
    const first = post(h, merchant, { 'Idempotency-Key': 'k-3b' });
    await until(() => h.calls.count === 1);
    const other = await post(h, { ...merchant, vatNumber: '99999999999' }, { 'Idempotency-Key': 'k-3b' });
    open();
    await first;
    expect(other.status).toBe(422);
  });

  it('when 50 requests with one key arrive in parallel, then the handler runs exactly once and the rest get 409 or the replay', async () => {
    const h = harness();
    h.gate.wait = sleep(50);
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => post(h, merchant, { 'Idempotency-Key': 'k-parallel' })),
    );

    expect(h.calls.count).toBe(1);
    const fresh = responses.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null);
    const replayed = responses.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === 'true');
    const inProgress = responses.filter((r) => r.status === 409);
    expect(fresh).toHaveLength(1);
    expect(replayed.length + inProgress.length).toBe(49);
  });

  it('when a POST has no Idempotency-Key, then 400 idempotency.key_missing naming the header', async () => {
    const h = harness();
    const res = await post(h, merchant);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      code: 'idempotency.key_missing',
      errors: [{ field: 'Idempotency-Key', reason: 'required' }],
    });
    expect(h.calls.count).toBe(0);
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(256)],
    ['a space inside', 'abc def'],
    ['non-ASCII', 'clé-1'],
    ['a control character', 'abc\tdef'],
  ])('when the key has %s, then 400 idempotency.key_invalid', async (_label, key) => {
    const h = harness();
    // Headers with a tab/non-ASCII cannot be built by fetch: go through the parser directly for those.
    if (/^[\x20-\x7E]*$/.test(key)) {
      const res = await post(h, merchant, { 'Idempotency-Key': key });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'idempotency.key_invalid', errors: [{ field: 'Idempotency-Key' }] });
      expect(h.calls.count).toBe(0);
    }
    expect(parseIdempotencyKey(key)).toBeNull();
  });

  it.each([
    ['a UUID', '8e03978e-40d5-43e8-bc93-6894a57f9324', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['255 characters', 'k'.repeat(255), 'k'.repeat(255)],
    ['a structured-field string', '"abc-1"', 'abc-1'],
  ])('when the key is %s, then it is accepted', (_label, raw, key) => {
    expect(parseIdempotencyKey(raw)).toBe(key);
  });

  it('when a PATCH has no key, then it goes through every time; with a key it is idempotent', async () => {
    const h = harness();
    const patch = (headers: Record<string, string> = {}): Promise<Response> =>
      Promise.resolve(
        h.app.request('/merchants/C000000001', {
          method: 'PATCH',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ email: 'a@b.it' }),
        }),
      );
    expect((await patch()).status).toBe(201);
    expect((await patch()).status).toBe(201);
    expect(h.calls.count).toBe(2);
    await patch({ 'Idempotency-Key': 'k-patch' });
    const replay = await patch({ 'Idempotency-Key': 'k-patch' });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(h.calls.count).toBe(3);
  });

  it('when a GET carries a key, then the middleware stays out of the way', async () => {
    const h = harness();
    await h.app.request('/merchants/C000000001', { headers: { 'Idempotency-Key': 'k-get' } });
    await h.app.request('/merchants/C000000001', { headers: { 'Idempotency-Key': 'k-get' } });
    expect(h.calls.count).toBe(2);
  });

  it('when configured with ttlSeconds and lockTtlSeconds, then the running claim and the stored answer are both kept ttlSeconds (a claim ends by completion, release or takeover, never by lapsing)', async () => {
    const keyPrefix = `${prefix}${randomUUID()}:`;
    const h = harness({ ttlSeconds: 600, lockTtlSeconds: 30 }, keyPrefix);
    let open!: () => void;
    h.gate.wait = new Promise<void>((resolve) => (open = resolve));
    const first = post(h, merchant, { 'Idempotency-Key': 'k-ttl' });
    await until(() => h.calls.count === 1);
    const [key] = await redis.keys(`${keyPrefix}*`);
    expect(key).toBeDefined();
    const claimTtl = await redis.ttl(key!);
    expect(claimTtl).toBeGreaterThan(590);
    expect(claimTtl).toBeLessThanOrEqual(600);

    open();
    await first;
    const ttl = await redis.ttl(key!);
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
  });

  it('when no ttl is configured, then the answer is kept 24 h', async () => {
    const keyPrefix = `${prefix}${randomUUID()}:`;
    const h = harness({}, keyPrefix);
    await post(h, merchant, { 'Idempotency-Key': 'k-24h' });
    const [key] = await redis.keys(`${keyPrefix}*`);
    const ttl = await redis.ttl(key!);
    expect(ttl).toBeGreaterThan(86_390);
    expect(ttl).toBeLessThanOrEqual(86_400);
  });

  it.each([
    [503, { code: 'tmo.unavailable' }],
    [429, { code: 'rate_limited' }],
  ])('when the handler answers %i, then the claim is released and a retry runs the handler again', async (status, body) => {
    const h = harness();
    h.outcomes.push({ status, body }, { status: 201, body: { id: 'C000000001' } });
    const first = await post(h, merchant, { 'Idempotency-Key': `k-release-${status}` });
    expect(first.status).toBe(status);
    const retry = await post(h, merchant, { 'Idempotency-Key': `k-release-${status}` });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(h.calls.count).toBe(2);
  });

  it.each([
    [504, { code: 'tmo.timeout' }],
    [502, { code: 'tmo.translation' }],
    [202, { jobId: 'j-1', status: 'accepted' }],
    [200, { id: 'C000000001' }],
    [422, { code: 'merchant.invalid_vat' }],
    [409, { code: 'terminal.order_unresolved' }],
    [404, { code: 'merchant.not_found' }],
  ])('when the handler answers %i, then the answer is stored and replayed', async (status, body) => {
    const h = harness();
    h.outcomes.push({ status, body, headers: { Location: '/jobs/j-1' } }, { status: 201, body: {} });
    const first = await post(h, merchant, { 'Idempotency-Key': `k-store-${status}` });
    const replay = await post(h, merchant, { 'Idempotency-Key': `k-store-${status}` });
    expect(first.status).toBe(status);
    expect(replay.status).toBe(status);
    expect(await replay.json()).toEqual(body);
    expect(replay.headers.get('location')).toBe('/jobs/j-1');
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(h.calls.count).toBe(1);
  });

  it('when the handler throws (500: the write may have half run), then the answer is stored and a resend does not run it again', async () => {
    const h = harness();
    h.outcomes.push({ status: 500 }, { status: 201, body: { id: 'C000000001' } });
    const first = await post(h, merchant, { 'Idempotency-Key': 'k-store-500' });
    const replay = await post(h, merchant, { 'Idempotency-Key': 'k-store-500' });
    expect(first.status).toBe(500);
    expect(replay.status).toBe(500);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(h.calls.count).toBe(1);
  });

  it('when the handler answers 204, then the replay has no body', async () => {
    const h = harness();
    h.outcomes.push({ status: 204 });
    await post(h, merchant, { 'Idempotency-Key': 'k-204' });
    const replay = await post(h, merchant, { 'Idempotency-Key': 'k-204' });
    expect(replay.status).toBe(204);
    expect(await replay.text()).toBe('');
    expect(h.calls.count).toBe(1);
  });

  it('when two principals use the same key, then each gets its own answer', async () => {
    const h = harness();
    const a = await post(h, merchant, { 'Idempotency-Key': 'k-shared', 'x-test-client': 'client-a' });
    const b = await post(h, { ...merchant, legalName: 'Other' }, { 'Idempotency-Key': 'k-shared', 'x-test-client': 'client-b' });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(h.calls.count).toBe(2);
  });

  it('when a request carried a clear IBAN, then no key or value in Redis contains it', async () => {
    const keyPrefix = `${prefix}${randomUUID()}:`;
    const h = harness({}, keyPrefix);
    let open!: () => void;
    h.gate.wait = new Promise<void>((resolve) => (open = resolve));
    const running = post(h, merchant, { 'Idempotency-Key': IBAN });
    await until(() => h.calls.count === 1);
    const whileRunning = await dumpPrefix(keyPrefix);
    open();
    expect((await running).status).toBe(201);
    await post(h, merchant, { 'Idempotency-Key': IBAN }); // replay
    const done = await dumpPrefix(keyPrefix);

    expect(whileRunning.length).toBe(1);
    expect(done.length).toBe(1);
    for (const text of [...whileRunning, ...done]) {
      expect(text).not.toContain(IBAN);
      expect(text).not.toContain(IBAN.slice(4));
      expect(containsClearIban(text)).toBe(false);
    }
    expect(done.join('\n')).toContain(IBAN_MASKED);
  });

  it('when the handler leaks a clear IBAN in its answer, then nothing is stored and onError is told', async () => {
    const keyPrefix = `${prefix}${randomUUID()}:`;
    const errors: Array<{ message: string; phase: string }> = [];
    const h = harness({ onError: (err, phase) => errors.push({ message: err.message, phase }) }, keyPrefix);
    h.outcomes.push({ status: 201, body: { iban: 'IT60 X054 2811 1010 0000 0123 456' } });
    await post(h, merchant, { 'Idempotency-Key': 'k-leak' });

    expect(await redis.keys(`${keyPrefix}*`)).toEqual([]);
    expect(errors).toEqual([{ message: expect.stringContaining('clear IBAN') as unknown as string, phase: 'store' }]);
    expect(errors[0]?.message).not.toContain('IT60');
  });

  it('when the store is unreachable, then 503 idempotency.unavailable and the handler is not called', async () => {
    const calls = { count: 0 };
    const app = new Hono<ApiEnv>();
    app.use(
      createIdempotencyMiddleware({
        redis: { eval: () => Promise.reject(new Error('ECONNREFUSED')) } as unknown as IdempotencyOptions['redis'],
        principal: () => 'client-a',
      }),
    );
    app.post('/merchants', (c) => {
      calls.count += 1;
      return c.json({}, 201);
    });
    const res = await app.request('/merchants', { method: 'POST', headers: { 'Idempotency-Key': 'k' }, body: '{}' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toMatchObject({ code: 'idempotency.unavailable' });
    expect(calls.count).toBe(0);
  });
});

describe('idempotency middleware wiring', () => {
  it('when no principal was set (auth not mounted first), then the request fails with 500 and the handler is not called', async () => {
    const calls = { count: 0 };
    const app = new Hono<ApiEnv>();
    app.onError(() => new Response(null, { status: 500 }));
    app.use(createIdempotencyMiddleware({ redis, keyPrefix: `${prefix}${randomUUID()}:` }));
    app.post('/merchants', (c) => {
      calls.count += 1;
      return c.json({}, 201);
    });
    const res = await app.request('/merchants', { method: 'POST', headers: { 'Idempotency-Key': 'k' }, body: '{}' });
    expect(res.status).toBe(500);
    expect(calls.count).toBe(0);
  });
});

describe('containsClearIban', () => {
  it.each([
    ['a compact IBAN', `{"iban":"${IBAN}"}`, true],
    ['a grouped IBAN', 'IT60 X054 2811 1010 0000 0123 456', true],
    ['a lower-case IBAN', IBAN.toLowerCase(), true],
    ['a masked IBAN', `{"ibanMasked":"${IBAN_MASKED}"}`, false],
    ['a MID and a customer id', '{"tmoMerchantId":"123456789012345","id":"C000000001"}', false],
    ['an IBAN with a wrong check digit', 'IT61X0542811101000000123456', false],
  ])('when the text holds %s, then %s', (_label, text, expected) => {
    expect(containsClearIban(text)).toBe(expected);
  });
});

async function dumpPrefix(keyPrefix: string): Promise<string[]> {
  const keys = await redis.keys(`${keyPrefix}*`);
  const out: string[] = [];
  for (const key of keys) out.push(`${key}=${(await redis.get(key)) ?? ''}`);
  return out;
}

async function until(cond: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}
