import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { requestId } from '../request-id/index.ts';
import { securityHeaders } from '../security-headers/index.ts';
import { beginResponseHeaders, finishResponseHeaders, jsonResponse, setResponseHeader } from './index.ts';

/** The gateway's header-adding middleware in the gateway's order, plus one inner header. */
function app() {
  const a = new Hono<{ Variables: { requestId: string } }>();
  a.use('*', requestId({ generate: () => 'gen-1' }));
  a.use('*', securityHeaders());
  a.use('*', async function inner(c, next) {
    const owner = beginResponseHeaders(c);
    setResponseHeader(c, 'RateLimit', '"read";r=9;t=60');
    await next();
    if (owner) finishResponseHeaders(c);
  });
  a.get('/fast', (c) => jsonResponse(c, { name: 'Bar Sport' }, 200));
  a.get('/plain', (c) => c.json({ name: 'Bar Sport' }, 200));
  a.get('/own-cache', (c) => c.json({}, 200, { 'Cache-Control': 'public, max-age=60', 'X-Frame-Options': 'SAMEORIGIN' }));
  return a;
}

const EXPECTED = {
  'x-request-id': 'gen-1',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'strict-transport-security': 'max-age=15552000; includeSubDomains',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  ratelimit: '"read";r=9;t=60',
  'content-type': 'application/json',
};

describe('response headers, served by @hono/node-server', () => {
  let server: Server;
  let base: string;
  const calls = { set: 0, append: 0, has: 0 };
  const original = { set: Headers.prototype.set, append: Headers.prototype.append, has: Headers.prototype.has };

  beforeAll(async () => {
    server = createServer(getRequestListener(app().fetch));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => vi.restoreAllMocks());

  /** Counts `Headers` writes made while the server answers (the client's own are not counted). */
  async function fetchCounting(path: string) {
    calls.set = calls.append = calls.has = 0;
    const spy = (name: keyof typeof calls) =>
      vi.spyOn(Headers.prototype, name).mockImplementation(function (this: Headers, ...args: [string, string]) {
        calls[name]++;
        return (original[name] as (...a: [string, string]) => never).apply(this, args);
      });
    spy('set');
    spy('append');
    spy('has');
    const { request } = await import('node:http');
    return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string; counted: number }>((resolve, reject) => {
      request(`${base}${path}`, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, counted: calls.set + calls.append + calls.has }));
      })
        .on('error', reject)
        .end();
    });
  }

  it('when a handler answers with jsonResponse, then every header is on it and no Headers object was written', async () => {
    const res = await fetchCounting('/fast');
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject(EXPECTED);
    expect(JSON.parse(res.body)).toEqual({ name: 'Bar Sport' });
    expect(res.counted).toBe(0);
  });

  it('when a handler answers with c.json, then the same headers are written onto its Headers', async () => {
    const res = await fetchCounting('/plain');
    expect(res.headers).toMatchObject(EXPECTED);
    expect(res.counted).toBeGreaterThan(0);
  });

  it('when the handler chose its own Cache-Control and X-Frame-Options, then the first is kept and the second replaced', async () => {
    const res = await fetchCounting('/own-cache');
    expect(res.headers['cache-control']).toBe('public, max-age=60');
    expect(res.headers['x-frame-options']).toBe('DENY');
  });
});

describe('jsonResponse without a header record', () => {
  it('when no middleware opened a record, then it is c.json', async () => {
    const a = new Hono();
    a.get('/', (c) => jsonResponse(c, { ok: true }, 201));
    const res = await a.request('/');
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ ok: true });
  });
});
