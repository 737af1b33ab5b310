import { describe, expect, it } from 'vitest';
import { PROBLEM_CATALOG } from './problem.ts';
import { createHarness } from './test-support/harness.ts';

interface Operation {
  security?: Record<string, string[]>[];
  description?: string;
  tags?: string[];
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
  'x-problem-codes': { code: string }[];
}

async function loadDoc(): Promise<Doc> {
  const h = createHarness();
  const res = await h.app.request('/openapi.json');
  expect(res.status).toBe(200);
  return JSON.parse(await res.text()) as Doc;
}

describe('/openapi.json', () => {
  it('when fetched without a token, then it is an OpenAPI 3.1 document with every path', async () => {
    const doc = await loadDoc();
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`));
    expect(ops.sort()).toEqual([
      'GET /health/live',
      'GET /health/ready',
      'GET /v1/merchants',
      'GET /v1/merchants/{merchantId}',
      'GET /v1/merchants/{merchantId}/terminals',
      'GET /v1/partners/{partnerId}',
      'GET /v1/partners/{partnerId}/merchants',
      'GET /v1/terminals/{terminalId}',
      'PATCH /v1/merchants/{merchantId}',
      'POST /v1/merchants',
      'POST /v1/merchants/{merchantId}/terminals',
      'POST /v1/partners',
      'POST /v1/terminals/{terminalId}/status',
    ]);
  });

  it('when reading /v1 operations, then each has bearer security with its scope, a tag, and problem+json errors', async () => {
    const doc = await loadDoc();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(methods)) {
        const where = `${method} ${path}`;
        expect(op.security?.[0]?.bearerAuth?.length, where).toBeGreaterThan(0);
        for (const scope of op.security?.[0]?.bearerAuth ?? []) expect(op.description, where).toContain(scope);
        expect(op.tags?.length, where).toBe(1);
        for (const status of ['401', '403', '500', '503']) {
          expect(op.responses[status]?.content?.['application/problem+json']?.schema?.$ref, `${where} ${status}`).toBe('#/components/schemas/Problem');
        }
      }
    }
  });

  it('when reading the authenticated operations (/v1 and /ops), then each documents the 429 of the rate limits with Retry-After and the RateLimit headers', async () => {
    const doc = (await loadDoc()) as unknown as { paths: Record<string, Record<string, { responses: Record<string, { headers?: Record<string, unknown>; content?: unknown }> }>> };
    let checked = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (!path.startsWith('/v1/') && !path.startsWith('/ops/')) continue;
      for (const [method, op] of Object.entries(methods)) {
        expect(Object.keys(op.responses['429']?.headers ?? {}), `${method} ${path}`).toEqual(expect.arrayContaining(['Retry-After', 'RateLimit-Policy', 'RateLimit']));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('when reading the health operations, then they need no security', async () => {
    const doc = await loadDoc();
    expect(doc.paths['/health/live']?.get?.security).toEqual([]);
  });

  it('when reading the problem codes, then every API-defined code is documented', async () => {
    const doc = await loadDoc();
    expect(doc['x-problem-codes'].map((c) => c.code).sort()).toEqual(Object.keys(PROBLEM_CATALOG).sort());
  });

  it('when the schemas are read, then no legacy field names appear', async () => {
    const text = JSON.stringify(await loadDoc());
    for (const legacy of ['VAT_NO', 'MERCH_NAME', 'CustId', 'FiscalCd', 'RETURN_CODE', 'PostCode', 'CRM_REF', 'TID', 'MID"']) {
      expect(text).not.toContain(legacy);
    }
  });

  it('when /docs is opened, then the Swagger UI page starts from a script file that points at /openapi.json', async () => {
    const h = createHarness();
    const res = await h.app.request('/docs');
    expect(res.status).toBe(200);
    // no inline script: the page's CSP forbids it
    expect(await res.text()).toContain('<script src="/docs/assets/init.js">');
    expect(await (await h.app.request('/docs/assets/init.js')).text()).toContain("url: '/openapi.json'");
  });

  it('when /docs is opened, then every asset it loads is served by the gateway itself (no CDN)', async () => {
    const h = createHarness();
    const html = await (await h.app.request('/docs')).text();
    const urls = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(urls.length).toBeGreaterThanOrEqual(2);
    for (const url of urls) {
      expect(url.startsWith('/'), url).toBe(true);
      const asset = await h.app.request(url);
      expect(asset.status, url).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, url).toBeGreaterThan(100);
    }
    expect((await h.app.request('/docs/assets/swagger-ui-dist/package.json')).status).toBe(404);
  });
});
