/**
 * The read hot path (issue 8) served the way the gateway serves it (@hono/node-server): every
 * header the middleware add reaches the answer, and the server writes no WHATWG `Headers` on
 * the way (they are merged into the answer's own plain record: middleware/response-headers).
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { rateLimit } from './middleware/rate-limit/index.ts';
import { createHarness, signToken } from './test-support/harness.ts';

const redis = new Redis(inject('redisUrl'));
let server: Server;
let base: string;
let token: string;
let merchantPath: string;

beforeAll(async () => {
  const h = createHarness({ rateLimit: rateLimit({ redis, keyPrefix: `hot-${randomBytes(4).toString('hex')}:rl`, limits: { read: 100 } }) });
  const merchant = h.fake.seedMerchant();
  h.fake.seedTerminal(merchant, { id: 'T0000001' });
  merchantPath = `/v1/merchants/${merchant.id}`;
  server = createServer(getRequestListener(h.app.fetch));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  token = await signToken(['terminals:read', 'merchants:read']);
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  redis.disconnect();
});

/** GET through node:http (no client-side `Headers`), counting server-side `Headers` writes. */
async function get(path: string) {
  let writes = 0;
  for (const name of ['set', 'append', 'delete'] as const) {
    const original = Headers.prototype[name];
    vi.spyOn(Headers.prototype, name).mockImplementation(function (this: Headers, ...args: [string, string]) {
      writes++;
      return (original as (...a: [string, string]) => undefined).apply(this, args);
    });
  }
  try {
    return await new Promise<{ status: number; headers: Record<string, unknown>; writes: number }>((resolve, reject) => {
      request(`${base}${path}`, { headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'hot-1' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, writes }));
      })
        .on('error', reject)
        .end();
    });
  } finally {
    vi.restoreAllMocks();
  }
}

describe('GET /v1/terminals/{id} and /v1/merchants/{id} on @hono/node-server', () => {
  it.each([['a terminal', () => '/v1/terminals/T0000001'], ['a merchant', () => merchantPath]])(
    'when %s is read, then request id, security, cache and rate-limit headers are on the answer and no Headers was written',
    async (_what, path) => {
      const res = await get(path());
      expect(res.status).toBe(200);
      expect(res.headers).toMatchObject({
        'x-request-id': 'hot-1',
        'content-type': 'application/json',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
        'ratelimit-policy': '"read";q=100;w=60',
      });
      expect(res.headers['ratelimit']).toMatch(/^"read";r=\d+;t=\d+$/);
      expect(res.writes).toBe(0);
    },
  );

  it('when the answer is a problem (unknown terminal), then the same headers are written the ordinary way', async () => {
    const res = await get('/v1/terminals/T0000009');
    expect(res.status).toBe(404);
    expect(res.headers).toMatchObject({ 'x-request-id': 'hot-1', 'x-frame-options': 'DENY', 'cache-control': 'no-store' });
    expect(res.writes).toBeGreaterThan(0);
  });
});
