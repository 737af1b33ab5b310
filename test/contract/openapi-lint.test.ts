/**
 * The OpenAPI document the assembled gateway serves (API, operations and ops routes) passes
 * Redocly's `recommended` ruleset with zero errors, and declares the headers clients must send.
 * Offline: the document is linted from a string, nothing is fetched.
 */
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SCOPES } from '../../src/api/auth/scopes.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { configOnFreePort, connectedSetup, flushDb, redisOnDb, startLegacy, type ConnectedSetup, type Legacy, REDIS_DBS } from '../acceptance/support.ts';
import { createCapturedLogger } from '../support/log-capture.ts';

const REDIS_DB = REDIS_DBS.openapiLint;

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
}
interface Operation {
  parameters?: Parameter[];
  responses: Record<string, { headers?: Record<string, unknown> }>;
}
interface Doc {
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: { bearerAuth: { description: string } } };
}

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let gw: Gateway | undefined;
let text = '';

beforeAll(async () => {
  const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
  await flushDb(redisUrl);
  legacy = await startLegacy();
  setup = await connectedSetup(legacy, redisUrl, { LOG_LEVEL: 'warn' });
  gw = await startGateway(configOnFreePort(setup.env), createCapturedLogger({ name: 'openapi-lint' }), { listen: false, workers: false });
  const res = await gw.app.request('/openapi.json');
  expect(res.status).toBe(200);
  text = await res.text();
});

afterAll(async () => {
  await gw?.close();
  await legacy?.close();
  setup?.cleanup();
});

const header = (op: Operation | undefined, name: string) => op?.parameters?.find((p) => p.in === 'header' && p.name === name);

describe('the served OpenAPI document', () => {
  it('when linted with Redocly recommended rules, then there is no error', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: text, absoluteRef: 'openapi.json', config });
    const errors = problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`);
    expect(errors).toEqual([]);
  });

  it('when read by a client generator, then writes declare Idempotency-Key (required on POST, optional on PATCH) and Prefer', () => {
    const doc = JSON.parse(text) as Doc;
    const writes = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ where: `${method} ${path}`, method, op })))
      .filter(({ method }) => method === 'post' || method === 'patch');
    expect(writes.map((w) => w.where).sort()).toEqual([
      'patch /v1/merchants/{merchantId}',
      'post /v1/merchants',
      'post /v1/merchants/{merchantId}/terminals',
      'post /v1/partners',
      'post /v1/terminals/{terminalId}/status',
    ]);
    for (const { where, method, op } of writes) {
      expect(header(op, 'Idempotency-Key')?.required, where).toBe(method === 'post');
      expect(header(op, 'Prefer'), where).toBeDefined();
      expect(op.responses['202']?.headers, where).toHaveProperty('Location');
      expect(op.responses['200']?.headers ?? op.responses['201']?.headers, where).toHaveProperty('Idempotent-Replayed');
      expect(op.responses['503']?.headers, where).toHaveProperty('Retry-After');
    }
    expect(doc.paths['/v1/merchants']?.post?.responses['201']?.headers).toHaveProperty('Location');
  });

  it('when read, then every operation takes and answers X-Request-Id, servers is set and every scope (ops included) is listed', () => {
    const doc = JSON.parse(text) as Doc;
    expect(doc.servers?.length).toBeGreaterThan(0);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        expect(header(op, 'X-Request-Id'), `${method} ${path}`).toBeDefined();
        for (const [status, r] of Object.entries(op.responses)) expect(r.headers, `${method} ${path} ${status}`).toHaveProperty('X-Request-Id');
      }
    }
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/ops/'))).toBe(true);
    for (const scope of SCOPES) expect(doc.components.securitySchemes.bearerAuth.description).toContain(scope);
  });
});
