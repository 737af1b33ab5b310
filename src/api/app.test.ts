import { describe, expect, it } from 'vitest';
import {
  BusinessError,
  ConflictError,
  NotFoundError,
  TimeoutError,
  TranslationError,
  UnavailableError,
  ValidationError,
} from '../domain/errors/index.ts';
import { CLEAR_IBAN, problemOf } from './test-support/problem.ts';
import { createHarness, newMerchantBody } from './test-support/harness.ts';

describe('problem+json for domain errors', () => {
  it.each([
    ['not_found', new NotFoundError('merchant.not_found', 'No merchant C000000001'), 404, 'merchant.not_found'],
    ['conflict', new ConflictError('merchant.vat_taken', 'Another merchant has this VAT number'), 409, 'merchant.vat_taken'],
    ['business', new BusinessError('merchant.mcc_not_allowed', 'This MCC is not allowed'), 422, 'merchant.mcc_not_allowed'],
    ['validation', new ValidationError('merchant.invalid', 'A field is invalid', { fields: [{ field: 'address.postalCode', reason: 'is unknown' }] }), 422, 'merchant.invalid'],
    ['timeout', new TimeoutError('tmo.timeout', 'TMO did not answer'), 504, 'upstream.timeout'],
    ['translation', new TranslationError('tmo.bad_status', 'STATUS XX unknown'), 502, 'upstream.bad_response'],
  ])('when the service throws a %s error, then the status is %i with code %s', async (_kind, err, status, code) => {
    const h = createHarness();
    h.fake.failNext('merchants.get', err);
    const res = await h.app.request('/v1/merchants/C000000001', { headers: await h.auth() });
    expect(res.status).toBe(status);
    const body = await problemOf(res);
    expect(body).toMatchObject({ status, code, type: `https://legacy-gateway.dev/problems/${code}`, instance: '/v1/merchants/C000000001' });
    expect(body.requestId).toBe(res.headers.get('x-request-id'));
  });

  it('when a validation error carries fields, then they are in errors', async () => {
    const h = createHarness();
    h.fake.failNext('merchants.get', new ValidationError('merchant.invalid', 'A field is invalid', { fields: [{ field: 'address.postalCode', reason: 'is unknown' }] }));
    const body = await problemOf(await h.app.request('/v1/merchants/C000000001', { headers: await h.auth() }));
    expect(body.errors).toEqual([{ field: 'address.postalCode', reason: 'is unknown' }]);
  });

  it('when the service is unavailable, then 503 with the Retry-After it asked for', async () => {
    const h = createHarness();
    h.fake.failNext('merchants.get', new UnavailableError('tmo.circuit_open', 'breaker open', { retryAfterSeconds: 12.2 }));
    const res = await h.app.request('/v1/merchants/C000000001', { headers: await h.auth() });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('13');
    expect(await problemOf(res)).toMatchObject({ code: 'upstream.unavailable' });
  });

  it('when an unavailable error has no retry hint, then Retry-After defaults to 5', async () => {
    const h = createHarness();
    h.fake.failNext('merchants.get', new UnavailableError('crm.unavailable', 'down'));
    const res = await h.app.request('/v1/merchants/C000000001', { headers: await h.auth() });
    expect(res.headers.get('retry-after')).toBe('5');
  });

  it('when an error crossed a process boundary (plain object), then it is still mapped by kind', async () => {
    const h = createHarness();
    h.fake.failNext('merchants.get', { kind: 'conflict', code: 'merchant.busy', message: 'busy', retryable: false, fields: [] });
    const res = await h.app.request('/v1/merchants/C000000001', { headers: await h.auth() });
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toMatchObject({ code: 'merchant.busy', detail: 'busy' });
  });

  it('when a 4xx domain message holds legacy text or an IBAN, then a generic detail is shown instead', async () => {
    const h = createHarness();
    h.fake.failNext('merchants.get', new BusinessError('merchant.refused', `E101 VAT_NO invalid for ${CLEAR_IBAN}`));
    const body = await problemOf(await h.app.request('/v1/merchants/C000000001', { headers: await h.auth() }));
    expect(body.detail).toBe('The request was refused for a business reason.');
    expect(JSON.stringify(body)).not.toContain('E101');
  });

  it('when a domain code is not a clean namespaced code, then the family code is used', async () => {
    const h = createHarness();
    h.fake.failNext('merchants.get', new BusinessError('E102', 'MCC not allowed'));
    const body = await problemOf(await h.app.request('/v1/merchants/C000000001', { headers: await h.auth() }));
    expect(body.code).toBe('business.rejected');
  });

  it('when a 5xx domain error has a system message, then neither its code nor message reach the caller', async () => {
    const h = createHarness();
    h.fake.failNext('merchants.get', new UnavailableError('tmo.unavailable', 'TMO-SYS-042 database offline at 10.0.0.7'));
    const text = await (await h.app.request('/v1/merchants/C000000001', { headers: await h.auth() })).text();
    expect(text).not.toContain('TMO');
    expect(text).not.toContain('10.0.0.7');
  });

  it('when the handler throws an unknown error, then 500 with a generic text and the details only in the log', async () => {
    const h = createHarness();
    const err = new Error('boom: internal detail', { cause: new Error('secret cause') });
    h.fake.failNext('merchants.get', err);
    const res = await h.app.request('/v1/merchants/C000000001', { headers: await h.auth() });
    expect(res.status).toBe(500);
    const body = await problemOf(res);
    expect(body).toMatchObject({ code: 'internal.error', title: 'Internal error' });
    const text = JSON.stringify(body);
    expect(text).not.toContain('boom');
    expect(text).not.toContain('secret cause');
    expect(text).not.toContain('stack');
    expect(h.logs.some((l) => l.includes('unexpected error'))).toBe(true);
  });
});

describe('problem+json for HTTP-level errors', () => {
  it('when the path is unknown, then 404 route.not_found', async () => {
    const h = createHarness();
    const res = await h.app.request('/nope');
    expect(res.status).toBe(404);
    expect(await problemOf(res)).toMatchObject({ code: 'route.not_found', instance: '/nope' });
  });

  it('when the method is not supported, then 405 with Allow', async () => {
    const h = createHarness();
    const res = await h.app.request('/v1/merchants/C000000001', { method: 'DELETE', headers: await h.auth() });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, PATCH');
    expect(await problemOf(res)).toMatchObject({ code: 'method.not_allowed' });
  });

  it('when a health path is called with POST, then 405', async () => {
    const h = createHarness();
    const res = await h.app.request('/health/live', { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  it('when the JSON body is malformed, then 400 request.malformed_body', async () => {
    const h = createHarness();
    const res = await h.json('POST', '/v1/merchants', '{"legalName": ');
    expect(res.status).toBe(400);
    expect(await problemOf(res)).toMatchObject({ code: 'request.malformed_body' });
  });

  it('when the body is not JSON, then 415', async () => {
    const h = createHarness();
    const res = await h.app.request('/v1/merchants', {
      method: 'POST',
      headers: { ...(await h.auth()), 'Content-Type': 'text/plain' },
      body: 'hello',
    });
    expect(res.status).toBe(415);
    expect(await problemOf(res)).toMatchObject({ code: 'request.unsupported_media_type' });
  });

  it('when the body is missing, then 422 naming the required fields', async () => {
    const h = createHarness();
    const res = await h.app.request('/v1/merchants', { method: 'POST', headers: await h.auth() });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors).toContainEqual({ field: 'legalName', reason: 'is required' });
  });

  it('when the body is JSON but not an object, then 422 asking for one', async () => {
    const h = createHarness();
    const res = await h.json('POST', '/v1/merchants', '[1,2]');
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.[0]?.field).toBe('body');
  });

  it('when the body is larger than the limit, then 413 before anything else runs', async () => {
    const h = createHarness({ bodyLimitBytes: 1024 });
    const res = await h.json('POST', '/v1/merchants', newMerchantBody({ legalName: 'x'.repeat(2000) }));
    expect(res.status).toBe(413);
    expect(await problemOf(res)).toMatchObject({ code: 'request.body_too_large' });
    expect(h.fake.calls).toHaveLength(0);
  });

  it('when Content-Length announces a body over the default 64 KiB, then 413', async () => {
    const h = createHarness();
    const body = JSON.stringify(newMerchantBody({ legalName: 'x'.repeat(70 * 1024) }));
    const res = await h.app.request('/v1/merchants', {
      method: 'POST',
      headers: { ...(await h.auth()), 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) },
      body,
    });
    expect(res.status).toBe(413);
  });
});

describe('X-Request-Id', () => {
  it('when the caller sends a safe id, then it is echoed and given to the service', async () => {
    const h = createHarness();
    h.fake.seedMerchant({ id: 'C000000001' });
    const res = await h.app.request('/v1/merchants/C000000001', { headers: { ...(await h.auth()), 'X-Request-Id': 'abc.DEF_123-x' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('abc.DEF_123-x');
    expect(h.fake.callsOf('merchants.get')[0]?.ctx.requestId).toBe('abc.DEF_123-x');
    expect(h.fake.callsOf('merchants.get')[0]?.ctx.signal).toBeInstanceOf(AbortSignal);
    expect(h.logs.some((l) => JSON.parse(l).requestId === 'abc.DEF_123-x')).toBe(true);
  });

  it.each([
    ['with spaces', 'a b'],
    ['with a newline-ish payload', 'x\u0000y'],
    ['too long', 'a'.repeat(129)],
    ['with quotes', 'x"y'],
    ['empty', ''],
  ])('when the caller sends an unsafe id (%s), then a new UUID replaces it', async (_label, id) => {
    const h = createHarness();
    const headers = new Headers();
    try {
      headers.set('X-Request-Id', id);
    } catch {
      return; // not even representable as a header value
    }
    const res = await h.app.request('/health/live', { headers });
    const echoed = res.headers.get('x-request-id');
    expect(echoed).not.toBe(id);
    expect(echoed).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when the caller sends none, then one is generated and present on errors too', async () => {
    const h = createHarness();
    const res = await h.app.request('/v1/merchants');
    expect(res.status).toBe(401);
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await problemOf(res)).requestId).toBe(id);
  });
});

describe('access log', () => {
  it('when a request is served, then one line has method, path, status, duration and request id, and never the token or the body', async () => {
    const h = createHarness();
    const auth = await h.auth();
    await h.app.request('/v1/merchants', {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json', 'X-Request-Id': 'log-test-1' },
      body: JSON.stringify(newMerchantBody()),
    });
    const lines = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ method: 'POST', path: '/v1/merchants', status: 201, requestId: 'log-test-1' });
    expect(typeof lines[0]?.durationMs).toBe('number');
    const all = h.logs.join('\n');
    expect(all).not.toContain(auth.Authorization!.slice('Bearer '.length));
    expect(all).not.toContain(CLEAR_IBAN);
    expect(all).not.toContain('Caffè');
  });
});

describe('extension points', () => {
  it('when beforeWrite is given, then it runs on writes after auth and not on reads', async () => {
    const seen: string[] = [];
    const h = createHarness({
      beforeWrite: async (c, next) => {
        seen.push(`${c.req.method} ${c.req.path} ${c.get('principal').subject}`);
        await next();
      },
    });
    h.fake.seedMerchant({ id: 'C000000001' });
    await h.json('POST', '/v1/merchants', newMerchantBody());
    await h.app.request('/v1/merchants/C000000001', { headers: await h.auth() });
    await h.app.request('/v1/merchants', { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
    expect(seen).toEqual(['POST /v1/merchants client-1']);
  });

  it('when beforeWrite answers itself, then the handler does not run', async () => {
    const h = createHarness({ beforeWrite: (c) => Promise.resolve(c.json({ replayed: true }, 200)) });
    const res = await h.json('POST', '/v1/merchants', newMerchantBody());
    expect(await res.json()).toEqual({ replayed: true });
    expect(h.fake.calls).toHaveLength(0);
  });

  it('when ops routes are given, then they are mounted at /ops behind authentication', async () => {
    const { Hono } = await import('hono');
    const { requireScope } = await import('./auth/middleware.ts');
    const ops = new Hono<import('./env.ts').ApiEnv>().get('/ping', requireScope('ops:read'), (c) => c.json({ ok: true }));
    const h = createHarness({ ops });
    expect((await h.app.request('/ops/ping')).status).toBe(401);
    expect((await h.app.request('/ops/ping', { headers: await h.auth(['merchants:read']) })).status).toBe(403);
    expect((await h.app.request('/ops/ping', { headers: await h.auth(['ops:read']) })).status).toBe(200);
  });

  it('when extraRoutes registers a route, then it is served and 404/405 still work around it', async () => {
    const h = createHarness({
      extraRoutes: (app, tools) => {
        app.get('/metrics', (c) => c.text('m 1'));
        app.get('/private', tools.authenticate, (c) => c.text('ok'));
      },
    });
    expect(await (await h.app.request('/metrics')).text()).toBe('m 1');
    expect((await h.app.request('/private')).status).toBe(401);
    expect((await h.app.request('/metrics', { method: 'POST' })).status).toBe(405);
  });
});
