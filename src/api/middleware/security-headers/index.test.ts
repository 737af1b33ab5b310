import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createHarness } from '../../test-support/harness.ts';
import { secureHeaders } from 'hono/secure-headers';
import { API_CSP, PAGE_CSP, SECURE_HEADERS, securityHeaders } from './index.ts';

function tiny() {
  const app = new Hono();
  app.use('*', securityHeaders({ pagePrefixes: ['/docs', '/ops/queues'] }));
  app.get('/v1/thing', (c) => c.json({ name: 'Bar Sport' }));
  app.get('/docs', (c) => c.html('<p>docs</p>'));
  app.get('/ops/queues/api/x', (c) => c.json({}));
  app.get('/cached', (c) => c.text('x', 200, { 'Cache-Control': 'public, max-age=60' }));
  app.get('/boom', () => {
    throw new Error('boom');
  });
  return app;
}

describe('securityHeaders', () => {
  it.each([
    ['/v1/thing', 200, API_CSP],
    ['/docs', 200, PAGE_CSP],
    ['/ops/queues/api/x', 200, PAGE_CSP],
    ['/nowhere', 404, API_CSP],
    ['/boom', 500, API_CSP],
  ])('when %s is answered (%i), then nosniff, no-store, frame denial and the CSP %s are set', async (path, status, csp) => {
    const res = await tiny().request(path);
    expect(res.status).toBe(status);
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(res.headers.get('X-Frame-Options')).toBe('DENY');
    expect(res.headers.get('Referrer-Policy')).toBe('no-referrer');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('Content-Security-Policy')).toBe(csp);
  });

  it('when a handler chose its own cache policy (public assets), then it is kept', async () => {
    expect((await tiny().request('/cached')).headers.get('Cache-Control')).toBe('public, max-age=60');
  });

  it('when the pages policy is read, then it allows nothing from another origin and no inline script', () => {
    expect(PAGE_CSP).toContain("default-src 'none'");
    expect(PAGE_CSP).toMatch(/script-src 'self'(;|$)/);
    expect(PAGE_CSP).not.toMatch(/https?:|\*|'unsafe-eval'/);
  });
});

describe('CORS (createApp corsOrigins)', () => {
  const preflight = (origin: string) => ({
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,idempotency-key' },
  });

  it('when an origin is listed, then its preflight and requests are allowed with the API headers exposed', async () => {
    const h = createHarness({ corsOrigins: ['https://console.example'] });
    const pre = await h.app.request('/v1/merchants', preflight('https://console.example'));
    expect(pre.status).toBe(204);
    expect(pre.headers.get('Access-Control-Allow-Origin')).toBe('https://console.example');
    expect(pre.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toContain('idempotency-key');
    const res = await h.app.request('/health/live', { headers: { Origin: 'https://console.example' } });
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('https://console.example');
    expect(res.headers.get('Access-Control-Expose-Headers')).toContain('X-Request-Id');
    expect(res.headers.get('Access-Control-Allow-Credentials')).toBeNull();
  });

  it('when an origin is not listed, then nothing grants it', async () => {
    const h = createHarness({ corsOrigins: ['https://console.example'] });
    const pre = await h.app.request('/v1/merchants', preflight('https://evil.example'));
    expect(pre.headers.get('Access-Control-Allow-Origin')).toBeNull();
    const res = await h.app.request('/health/live', { headers: { Origin: 'https://evil.example' } });
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });

  it('when no origins are configured, then no CORS header is ever sent', async () => {
    const h = createHarness();
    const pre = await h.app.request('/v1/merchants', preflight('https://console.example'));
    expect(pre.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(pre.headers.get('Access-Control-Allow-Methods')).toBeNull();
  });
});

describe('SECURE_HEADERS', () => {
  it("when compared with hono's secureHeaders (DENY framing, no COEP), then it is the same set", async () => {
    const a = new Hono();
    a.use('*', secureHeaders({ xFrameOptions: 'DENY', crossOriginEmbedderPolicy: false }));
    a.get('/', (c) => c.body(null, 204));
    const res = await a.request('/');
    const fromHono = Object.fromEntries([...res.headers].filter(([k]) => k !== 'content-type'));
    const ours = Object.fromEntries(Object.entries(SECURE_HEADERS).map(([k, v]) => [k.toLowerCase(), v]));
    expect(ours).toEqual(fromHono);
  });
});
