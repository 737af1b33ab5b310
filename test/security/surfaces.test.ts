/**
 * The locked-down surfaces of the assembled gateway (embedded mode, real dev tokens):
 * - every `/ops/*` route, the bull-board console page, its API calls and its static assets need
 *   an ops scope: a valid token without one gets 403, no token 401;
 * - `/metrics` is not on the API listener, only on the separate metrics port;
 * - security headers on every answer, a CSP on the HTML pages that holds offline (no inline
 *   script, nothing from another origin — bull-board's Google Fonts link is stripped);
 * - CORS is off unless origins are configured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PAGE_CSP } from '../../src/api/middleware/security-headers/index.ts';
import { loadConfig } from '../../src/config.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { createCapturedLogger } from '../support/log-capture.ts';

let gw: Gateway;
let devDir: string;
let noOps: string;
let opsRead: string;

const OP_ID = 'op_00000000000000000000000000000000';

beforeAll(async () => {
  devDir = mkdtempSync(join(tmpdir(), 'lgw-surfaces-'));
  const config = loadConfig({ REDIS_URL: inject('redisUrl'), DEV_DATA_DIR: devDir, PORT: '0', LOG_LEVEL: 'warn' });
  gw = await startGateway(config, createCapturedLogger({ name: 'surfaces' }), { listen: false });
  if (!gw.devKeys) throw new Error('embedded mode has dev keys');
  noOps = await gw.devKeys.signToken(['merchants:read', 'merchants:write', 'partners:read', 'partners:write', 'terminals:read', 'terminals:write'], {
    subject: 'client-no-ops',
  });
  opsRead = await gw.devKeys.signToken(['ops:read'], { subject: 'operator-ro' });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  if (devDir) rmSync(devDir, { recursive: true, force: true });
});

function request(method: string, path: string, token?: string, body?: unknown): Promise<Response> {
  if (!gw.app) throw new Error('no app');
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return Promise.resolve(gw.app.request(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }));
}

/** Every concrete /ops route the app registered (handlers, not middleware), plus bull-board's own calls and assets. */
function opsRequests(): Array<[string, string]> {
  if (!gw.app) throw new Error('no app');
  const routes = new Set<string>();
  for (const r of gw.app.routes) {
    if (!r.path.startsWith('/ops/') || r.method === 'ALL' || r.path.includes('*')) continue;
    routes.add(`${r.method} ${r.path.replace(/:id\b/g, OP_ID)}`);
  }
  const own = [...routes].map((s) => s.split(' ') as [string, string]);
  const board: Array<[string, string]> = [
    ['GET', '/ops/queues'],
    ['GET', '/ops/queues/'],
    ['GET', '/ops/queues/api/queues'],
    ['GET', '/ops/queues/api/redis/stats'],
    ['GET', '/ops/queues/static/images/logo.svg'],
    ['GET', '/ops/queues/static/favicon-32x32.png'],
    ['PUT', '/ops/queues/api/queues/pause'],
    ['PUT', '/ops/queues/api/queues/resume'],
    ['PUT', '/ops/queues/api/queues/ops-tmo/pause'],
    ['PUT', '/ops/queues/api/queues/ops-tmo/clean/failed'],
    ['DELETE', '/ops/queues/api/queues/ops-tmo/empty'],
  ];
  return [...own, ...board];
}

describe('surfaces: the ops scope', () => {
  it('when the app is built, then the /ops routes found include the dead-letter actions, the audit and the circuits', () => {
    const paths = opsRequests().map(([m, p]) => `${m} ${p}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'GET /ops/dead-letters',
        `POST /ops/dead-letters/${OP_ID}/retry`,
        `POST /ops/dead-letters/${OP_ID}/discard`,
        'GET /ops/audit',
        'GET /ops/circuits',
      ]),
    );
  });

  it('when a valid token without an ops scope calls any /ops route or console call or asset, then it is refused with 403', async () => {
    const answers = await Promise.all(
      opsRequests().map(async ([method, path]) => {
        const res = await request(method, path, noOps, method === 'POST' ? { reason: 'no scope here' } : undefined);
        return `${method} ${path} → ${res.status} ${res.headers.get('content-type') ?? ''}`;
      }),
    );
    for (const a of answers) expect(a).toMatch(/→ 403 application\/problem\+json/);
  });

  it('when no token is sent, then every /ops route, console call and asset answers 401', async () => {
    for (const [method, path] of opsRequests()) {
      expect(`${method} ${path} → ${(await request(method, path)).status}`).toBe(`${method} ${path} → 401`);
    }
  });

  it('when an operator with ops:read opens the console, then it loads with a CSP and nothing from another origin', async () => {
    const res = await request('GET', '/ops/queues', opsRead);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(PAGE_CSP);
    const html = await res.text();
    expect(html).toContain('static/js/');
    expect(html).not.toMatch(/fonts\.googleapis|https?:\/\//);
    // every executable script is a file from the gateway (the JSON config block is data, not script)
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\bsrc="|type="application\/json"/);
  });
});

describe('surfaces: metrics, headers, docs, CORS', () => {
  it('when /metrics is asked on the API, then it is not there; the metrics port serves it', async () => {
    expect((await request('GET', '/metrics')).status).toBe(404);
    expect(gw.metricsServer).not.toBeNull();
    const res = await fetch(gw.metricsServer?.url ?? '');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('lgw_http_request_duration_seconds');
    const other = await fetch((gw.metricsServer?.url ?? '').replace('/metrics', '/v1/merchants'));
    expect(other.status).toBe(404);
  });

  it.each([
    ['GET', '/health/live', undefined],
    ['GET', '/v1/merchants/C000000001', 'noOps'],
    ['GET', '/v1/merchants/C000000001', undefined],
    ['GET', '/nowhere', undefined],
    ['GET', '/openapi.json', undefined],
    ['GET', '/ops/dead-letters', 'opsRead'],
  ] as const)('when %s %s is answered, then it carries nosniff, frame denial and a cache policy', async (method, path, who) => {
    const res = await request(method, path, who === 'noOps' ? noOps : who === 'opsRead' ? opsRead : undefined);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBeTruthy();
    expect(res.headers.get('content-security-policy')).toBeTruthy();
  });

  it('when an answer may hold personal data (API reads, ops, problems), then it is Cache-Control: no-store', async () => {
    for (const [path, token] of [
      ['/v1/merchants/C000000001', noOps],
      ['/ops/dead-letters', opsRead],
      ['/ops/audit', opsRead],
      ['/v1/merchants/C000000001', undefined],
    ] as const) {
      expect(`${path} ${(await request('GET', path, token)).headers.get('cache-control')}`).toBe(`${path} no-store`);
    }
  });

  it('when /docs is opened, then the page has the CSP, no inline script and only local assets', async () => {
    const res = await request('GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(PAGE_CSP);
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThanOrEqual(2);
    for (const tag of scripts) expect(tag).toMatch(/\bsrc="\/docs\/assets\//);
    const init = await request('GET', '/docs/assets/init.js');
    expect(init.status).toBe(200);
    expect(await init.text()).toContain("url: '/openapi.json'");
  });

  it('when CORS_ORIGINS is unset and a browser origin calls or preflights, then no CORS header grants it', async () => {
    if (!gw.app) throw new Error('no app');
    const simple = await gw.app.request('/health/live', { headers: { Origin: 'https://evil.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await gw.app.request('/v1/merchants', {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull();
  });
});
