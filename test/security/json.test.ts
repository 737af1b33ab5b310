/**
 * Attack suite, request shape (issue 7): deeply nested JSON, prototype keys, oversized bodies,
 * hostile `X-Request-Id` values and encoded path traversal in ids, against the assembled gateway.
 * Each gets its specific safe answer (a problem+json 4xx, a fresh request id) and none reaches legacy.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLIENT_SCOPES, merchantBody, problemOf, startApiGateway, vatNumber, type ApiSetup } from './api-support.ts';

let s: ApiSetup;
let token: string;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

beforeAll(async () => {
  s = await startApiGateway(inject('redisUrl'), {
    name: 'attack-json',
    listen: true,
    token: async (k) => (token = await k.signToken(CLIENT_SCOPES, { subject: 'client-json' })),
  });
}, 60_000);
afterAll(async () => {
  await s?.close();
});

function legacyCalls(): number {
  return s.tmo.state.recentCalls().length + s.crm.state.recentCalls().length;
}

/** Sends raw bytes over a socket (no client-side header validation) and returns the raw answer head. */
function rawRequest(head: Buffer): Promise<string> {
  const url = new URL(s.gw.url ?? '');
  return new Promise((resolve, reject) => {
    const sock = connect(Number(url.port), url.hostname);
    let out = '';
    sock.setTimeout(5_000, () => sock.destroy(new Error('raw request timed out')));
    sock.on('data', (d) => {
      out += d.toString('latin1');
      if (out.includes('\r\n\r\n')) sock.end();
    });
    sock.on('close', () => resolve(out));
    sock.on('error', reject);
    sock.write(head);
  });
}

function headerOf(raw: string, name: string): string[] {
  const head = raw.split('\r\n\r\n')[0] ?? '';
  return head
    .split('\r\n')
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(name.length + 1).trim());
}

describe('attack: JSON bodies', () => {
  it('when the body nests 10,000 levels deep, then a 4xx problem (not a crash), no legacy call, and the gateway still answers', async () => {
    const before = legacyCalls();
    const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const res = await s.call('POST', '/v1/merchants', { body: deep, headers: { 'Idempotency-Key': 'json-deep' } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    await problemOf(res, res.status);
    const deepArray = '['.repeat(10_000) + ']'.repeat(10_000);
    const arr = await s.call('POST', '/v1/merchants', { body: deepArray, headers: { 'Idempotency-Key': 'json-deep-arr' } });
    await problemOf(arr, 422);
    expect(legacyCalls()).toBe(before);
    expect((await s.call('GET', '/health/live')).status).toBe(200);
  });

  it.each(['__proto__', 'constructor', 'prototype'])(
    'when a body carries a `%s` key, then 422 naming it, no legacy call, and Object.prototype is untouched',
    async (key) => {
      const before = legacyCalls();
      const body = JSON.stringify(merchantBody(vatNumber(5_000_000_001))).replace(/^\{/, `{"${key}":{"polluted":"yes","isAdmin":true},`);
      const res = await s.call('POST', '/v1/merchants', { body, headers: { 'Idempotency-Key': `json-proto-${key}` } });
      const p = await problemOf(res, 422);
      expect(p.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: key })]));
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
      expect(legacyCalls()).toBe(before);
    },
  );

  it('when a nested object carries `__proto__`, then 422 and Object.prototype is untouched', async () => {
    const body = JSON.stringify(merchantBody(vatNumber(5_000_000_002))).replace('"address":{', '"address":{"__proto__":{"polluted":"yes"},');
    const p = await problemOf(await s.call('POST', '/v1/merchants', { body, headers: { 'Idempotency-Key': 'json-proto-nested' } }), 422);
    expect(JSON.stringify(p.errors)).toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('when the body is over the limit (1 MB), then 413 problem before auth or validation runs', async () => {
    const before = legacyCalls();
    const big = JSON.stringify(merchantBody(vatNumber(5_000_000_003), { legalName: 'x'.repeat(1024 * 1024) }));
    const p = await problemOf(await s.call('POST', '/v1/merchants', { body: big, headers: { 'Idempotency-Key': 'json-big' } }), 413);
    expect(p.code).toBe('request.body_too_large');
    expect(legacyCalls()).toBe(before);
  });

  it('when an oversized body streams without Content-Length over the wire, then 413 all the same', async () => {
    const chunk = Buffer.alloc(200 * 1024, 'a');
    const head = Buffer.from(
      `POST /v1/merchants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nIdempotency-Key: json-chunked\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n`,
    );
    const raw = await rawRequest(Buffer.concat([head, chunk, Buffer.from('\r\n0\r\n\r\n')]));
    expect(raw).toMatch(/^HTTP\/1\.1 413 /);
    expect(headerOf(raw, 'content-type')[0]).toMatch(/^application\/problem\+json/);
  });
});

describe('attack: X-Request-Id', () => {
  it.each([
    ['oversized (10,000 characters)', 'a'.repeat(10_000)],
    ['129 characters', 'b'.repeat(129)],
    ['percent-encoded CRLF and a header', 'abc%0D%0ASet-Cookie:%20evil=1'],
    ['a space and a colon', 'abc Set-Cookie: evil'],
    ['a tab', 'abc\tdef'],
    ['HTML', '<script>alert(1)</script>'],
  ])('when the caller sends an id that is %s, then it is replaced by a fresh id, never echoed', async (_n, id) => {
    const res = await s.call('GET', '/health/live', { token: null, headers: { 'X-Request-Id': id } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(UUID);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('when the id holds non-ASCII bytes on the wire, then a fresh id answers, not the bytes', async () => {
    const raw = await rawRequest(Buffer.concat([Buffer.from('GET /health/live HTTP/1.1\r\nHost: x\r\nX-Request-Id: req-'), Buffer.from('é€\u202e', 'utf8'), Buffer.from('\r\nConnection: close\r\n\r\n')]));
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(headerOf(raw, 'x-request-id')).toEqual([expect.stringMatching(UUID)]);
  });

  it('when the id smuggles a bare CR and a Set-Cookie on the wire, then the request is refused and no cookie header answers', async () => {
    const raw = await rawRequest(Buffer.from('GET /health/live HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\rSet-Cookie: evil=1\r\nConnection: close\r\n\r\n', 'latin1'));
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(headerOf(raw, 'set-cookie')).toEqual([]);
    expect(raw).not.toMatch(/evil=1/);
  });

  it('when a CRLF splits the id into a second request header, then the answer carries only the first part and no injected header', async () => {
    const raw = await rawRequest(Buffer.from('GET /health/live HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\r\nSet-Cookie: evil=1\r\nConnection: close\r\n\r\n', 'latin1'));
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(headerOf(raw, 'x-request-id')).toEqual(['abc']);
    expect(headerOf(raw, 'set-cookie')).toEqual([]);
  });
});

describe('attack: encoded path traversal in ids', () => {
  it.each([
    '/v1/terminals/..%2F..%2Fetc%2Fpasswd',
    '/v1/terminals/..%252F..%252Fetc%252Fpasswd',
    '/v1/terminals/T0000001%00',
    '/v1/terminals/%00',
    '/v1/terminals/T0000001%2F..%2F..%2Fops',
    '/v1/merchants/C000000001%0D%0ASet-Cookie:%20x=1',
    '/v1/merchants/..%2F..%2Fops%2Fdead-letters',
    '/v1/operations/..%2F..%2Fetc%2Fpasswd',
  ])('when %s is asked, then 400/404 problem and no legacy call with it', async (path) => {
    const before = legacyCalls();
    const res = await s.call('GET', path);
    expect([400, 404]).toContain(res.status);
    await problemOf(res, res.status);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(legacyCalls()).toBe(before);
  });
});
