import { OpenAPIHono } from '@hono/zod-openapi';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { BusinessError, UnavailableError } from '../../domain/errors/index.ts';
import type { NewMerchant } from '../../domain/services/types.ts';
import { createHarness, fastPolicy, type Harness } from '../../jobs/test-support/harness.ts';
import { requireScope } from '../auth/middleware.ts';
import type { ApiEnv } from '../env.ts';
import { createOperationsApp, createOpsApp } from './index.ts';
import { FAILED_TAB_NOTE } from './queue-console.ts';

const address = { line1: 'Via Roma 1', city: 'Milano', postalCode: '20100', province: 'MI', country: 'IT' };
const merchant = (vat: string): NewMerchant => ({
  legalName: 'Bar Sport',
  vatNumber: vat,
  taxCode: vat,
  segment: 'retail',
  mcc: '5812',
  email: null,
  phone: null,
  address,
  iban: 'IT60X0542811101000000123456',
  partnerId: null,
});
const ctx = { requestId: 'req-ops', principal: 'client-a', preferAsync: true };
const tmoDown = () => new UnavailableError('tmo.unavailable', 'TMO is unavailable', { system: 'tmo' });

/** A tiny root app: the principal comes from test headers instead of a JWT. */
function app(h: Harness) {
  const root = new OpenAPIHono<ApiEnv>();
  root.use('*', async (c, next) => {
    c.set('requestId', 'req-test');
    c.set('logger', pino({ level: 'silent' }));
    const scopes = c.req.header('x-test-scopes');
    if (scopes !== undefined) {
      c.set('principal', { subject: c.req.header('x-test-sub') ?? 'operator-1', scopes: new Set(scopes.split(' ').filter(Boolean)) });
    }
    await next();
  });
  const { operations } = h;
  root.route(
    '/ops',
    createOpsApp({
      operations,
      deadLetters: operations.deadLetters,
      audit: operations.audit,
      circuits: h.circuits,
      queues: operations.queues.all,
      requireScope,
    }),
  );
  root.route('/', createOperationsApp({ operations }));
  return root;
}

type Req = { method?: string; scopes?: string; sub?: string; body?: unknown };
async function call(a: ReturnType<typeof app>, path: string, r: Req = {}) {
  const headers: Record<string, string> = { 'x-test-scopes': r.scopes ?? 'ops:read ops:write' };
  if (r.sub) headers['x-test-sub'] = r.sub;
  if (r.body !== undefined) headers['content-type'] = 'application/json';
  const res = await a.request(path, {
    method: r.method ?? 'GET',
    headers,
    ...(r.body !== undefined ? { body: JSON.stringify(r.body) } : {}),
  });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // html or empty
  }
  return { status: res.status, headers: res.headers, text, json: json as Record<string, unknown> & { items: Record<string, unknown>[] } };
}

async function deadLetter(h: Harness, vat: string): Promise<string> {
  const r = await h.operations.submit('merchant.onboard', merchant(vat), ctx);
  if (r.outcome !== 'accepted') throw new Error('expected accepted');
  await h.waitForStatus(r.operationId, 'failed');
  return r.operationId;
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('ops API: dead letters', () => {
  it('when an outage outlasted the retry budget, then a retry from the ops API resumes from the stored steps and succeeds', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 2 }) });
    h.tmo.fail = (op) => (op === 'registerMerchant' ? tmoDown() : undefined);
    const id = await deadLetter(h, '12345678901');
    const a = app(h);

    const list = await call(a, '/ops/dead-letters?system=tmo');
    expect(list.status).toBe(200);
    expect(list.json.items).toHaveLength(1);
    expect(list.json.items[0]).toMatchObject({ id, errorCode: 'tmo.unavailable', reason: 'attempts_exhausted', attempts: 2 });
    expect(list.text).not.toContain('IT60X0542811101000000123456');

    h.tmo.fail = undefined; // TMO is back
    const retry = await call(a, `/ops/dead-letters/${id}/retry`, { method: 'POST' });
    expect(retry.status).toBe(202);
    expect(retry.headers.get('location')).toBe(`/v1/operations/${id}`);
    await h.waitForStatus(id, 'succeeded');

    expect(h.crm.calls.createCustomer).toBe(1); // never a second customer
    expect(h.tmo.merchants.size).toBe(1);
    expect((await call(a, `/ops/dead-letters/${id}`)).json).toMatchObject({ state: 'resolved', lastAction: { by: 'operator-1', action: 'retry' } });

    const op = await call(a, `/v1/operations/${id}`, { scopes: '', sub: 'client-a' });
    expect(op.status).toBe(200);
    expect(op.json).toMatchObject({ status: 'succeeded', resource: { type: 'merchant', id: 'C000000001' }, problem: null });
    expect(op.headers.get('location')).toBe('/v1/merchants/C000000001');

    const audit = await call(a, '/ops/audit');
    expect(audit.json.items[0]).toMatchObject({ actor: 'operator-1', action: 'dead_letter.retry', target: id, outcome: 'succeeded' });
  });

  it('when the same dead letter is retried twice at once, then exactly one job is enqueued and the other retry answers 409', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 1 }) });
    h.tmo.fail = (op) => (op === 'registerMerchant' ? tmoDown() : undefined);
    const id = await deadLetter(h, '12345678901');
    await h.workers?.close(); // keep the re-enqueued job where we can count it
    const a = app(h);

    const [r1, r2] = await Promise.all([
      call(a, `/ops/dead-letters/${id}/retry`, { method: 'POST' }),
      call(a, `/ops/dead-letters/${id}/retry`, { method: 'POST' }),
    ]);
    expect([r1.status, r2.status].sort()).toEqual([202, 409]);
    const conflict = r1.status === 409 ? r1 : r2;
    expect(conflict.headers.get('content-type')).toContain('application/problem+json');
    expect(conflict.json).toMatchObject({ code: 'dead_letter.not_open', status: 409 });
    expect(await h.operations.queues.byName.crm.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('when retrying by filter, then only matching open dead letters are re-enqueued and the summary groups by error code', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 1 }) });
    h.tmo.fail = (op) => (op === 'registerMerchant' ? tmoDown() : undefined);
    const t1 = await deadLetter(h, '10000000001');
    const t2 = await deadLetter(h, '10000000002');
    h.crm.fail = (op) => (op === 'createCustomer' ? new BusinessError('customer.refused', 'refused', { system: 'crm' }) : undefined);
    const c1 = await deadLetter(h, '10000000003');
    h.crm.fail = undefined;
    const a = app(h);

    const summary = await call(a, '/ops/dead-letters/summary');
    expect(summary.json.items).toEqual([
      expect.objectContaining({ errorCode: 'tmo.unavailable', count: 2, systems: ['tmo'] }),
      expect.objectContaining({ errorCode: 'customer.refused', count: 1, systems: ['crm'] }),
    ]);

    // cursor pagination, newest first
    const p1 = await call(a, '/ops/dead-letters?system=tmo&limit=1');
    const p2 = await call(a, `/ops/dead-letters?system=tmo&limit=1&cursor=${String(p1.json.nextCursor)}`);
    expect([p1.json.items[0]?.id, p2.json.items[0]?.id]).toEqual([t2, t1]);
    expect(p2.json.nextCursor).toBeNull();

    h.tmo.fail = undefined;
    const bulk = await call(a, '/ops/dead-letters/retry', { method: 'POST', body: { system: 'tmo', errorCode: 'tmo.unavailable' } });
    expect(bulk.status).toBe(202);
    expect(bulk.json).toMatchObject({ matched: 2, skipped: [] });
    expect((bulk.json.retried as string[]).sort()).toEqual([t1, t2].sort());
    await h.waitForStatus(t1, 'succeeded');
    await h.waitForStatus(t2, 'succeeded');
    expect((await call(a, `/ops/dead-letters/${c1}`)).json).toMatchObject({ state: 'open' });
    expect((await call(a, '/ops/audit?limit=1')).json.items[0]).toMatchObject({ action: 'dead_letter.retry_all', detail: 'matched 2, retried 2, skipped 0' });
  });

  it('when discarding, then a reason is required, the discard is audited and the dead letter cannot be retried afterwards', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 1 }) });
    h.tmo.fail = (op) => (op === 'registerMerchant' ? tmoDown() : undefined);
    const id = await deadLetter(h, '12345678901');
    const a = app(h);

    const noReason = await call(a, `/ops/dead-letters/${id}/discard`, { method: 'POST', body: {} });
    expect(noReason.status).toBe(422);
    expect(noReason.json).toMatchObject({ code: 'request.validation_failed' });
    const forged = await call(a, `/ops/dead-letters/${id}/discard`, { method: 'POST', body: { reason: 'ok\u2028{"level":60,"msg":"forged"}' } });
    expect(forged.status).toBe(422);
    expect(forged.json.errors).toEqual([{ field: 'reason', reason: expect.stringMatching(/line separators/) as unknown }]);

    const ok = await call(a, `/ops/dead-letters/${id}/discard`, { method: 'POST', body: { reason: 'merchant withdrew, ticket OPS-42' }, sub: 'alice' });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ state: 'discarded', lastAction: { by: 'alice', action: 'discard', reason: 'merchant withdrew, ticket OPS-42' } });

    const again = await call(a, `/ops/dead-letters/${id}/retry`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect((await call(a, '/ops/dead-letters')).json.items).toHaveLength(0);
    expect((await call(a, '/ops/dead-letters?state=discarded')).json.items).toHaveLength(1);

    const audit = await call(a, '/ops/audit');
    expect(audit.json.items.map((e) => [e.actor, e.action, e.outcome])).toEqual([
      ['operator-1', 'dead_letter.retry', 'rejected'],
      ['alice', 'dead_letter.discard', 'succeeded'],
    ]);
    expect(audit.json.items[1]).toMatchObject({ target: id, detail: 'merchant withdrew, ticket OPS-42' });
  });

  it('when an operator discarded an operation, then its caller reads status discarded with the reason and no retry advice', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 1 }) });
    h.tmo.fail = (op) => (op === 'registerMerchant' ? tmoDown() : undefined);
    const id = await deadLetter(h, '12345678901');
    const a = app(h);

    const failed = await call(a, `/v1/operations/${id}`, { scopes: '', sub: 'client-a' });
    expect(failed.json).toMatchObject({ status: 'failed', discarded: null, problem: { code: 'upstream.unavailable' } });
    // a GET carries no Retry-After: the failed operation says who can retry it instead
    expect(String((failed.json.problem as { detail: string }).detail)).not.toMatch(/Retry-After/);
    expect(String((failed.json.problem as { detail: string }).detail)).toContain('operator');

    await call(a, `/ops/dead-letters/${id}/discard`, { method: 'POST', body: { reason: 'merchant withdrew, ticket OPS-42' }, sub: 'alice' });
    const op = await call(a, `/v1/operations/${id}`, { scopes: '', sub: 'client-a' });
    expect(op.status).toBe(200);
    expect(op.json).toMatchObject({
      status: 'discarded',
      discarded: { reason: 'merchant withdrew, ticket OPS-42' },
      problem: { code: 'operation.discarded', status: 409 },
    });
    const detail = String((op.json.problem as { detail: string }).detail);
    expect(detail).toContain('merchant withdrew, ticket OPS-42');
    expect(detail).not.toMatch(/retry/i);
  });

  it('when a dead letter failed for a reason retrying cannot fix, then retry answers 409 unless force: true', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 3 }) });
    h.crm.fail = (op) => (op === 'createCustomer' ? new BusinessError('customer.refused', 'refused', { system: 'crm' }) : undefined);
    const id = await deadLetter(h, '12345678901');
    const a = app(h);
    expect((await call(a, `/ops/dead-letters/${id}`)).json).toMatchObject({ reason: 'not_retryable', state: 'open' });

    const refused = await call(a, `/ops/dead-letters/${id}/retry`, { method: 'POST' });
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ code: 'dead_letter.not_retryable' });
    expect((await call(a, `/ops/dead-letters/${id}`)).json).toMatchObject({ state: 'open' });
    expect((await call(a, '/ops/audit?limit=1')).json.items[0]).toMatchObject({ action: 'dead_letter.retry', outcome: 'rejected', target: id });

    h.crm.fail = undefined; // the operator fixed the cause in CRM
    const forced = await call(a, `/ops/dead-letters/${id}/retry`, { method: 'POST', body: { force: true } });
    expect(forced.status).toBe(202);
    await h.waitForStatus(id, 'succeeded');
  });

  it('when a bulk retry names no filter, then it is refused; all: true retries every open one except the not retryable unless forced', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 1 }) });
    h.tmo.fail = (op) => (op === 'registerMerchant' ? tmoDown() : undefined);
    const t1 = await deadLetter(h, '10000000001');
    h.crm.fail = (op) => (op === 'createCustomer' ? new BusinessError('customer.refused', 'refused', { system: 'crm' }) : undefined);
    const c1 = await deadLetter(h, '10000000003');
    h.crm.fail = undefined;
    h.tmo.fail = undefined;
    const a = app(h);

    const empty = await call(a, '/ops/dead-letters/retry', { method: 'POST', body: {} });
    expect(empty.status).toBe(422);
    expect(empty.json).toMatchObject({ code: 'request.validation_failed', errors: [{ field: 'all' }] });
    const none = await call(a, '/ops/dead-letters/retry', { method: 'POST' });
    expect([400, 415, 422]).toContain(none.status);
    expect((await call(a, `/ops/dead-letters/${t1}`)).json).toMatchObject({ state: 'open' });

    const all = await call(a, '/ops/dead-letters/retry', { method: 'POST', body: { all: true } });
    expect(all.status).toBe(202);
    expect(all.json).toMatchObject({ matched: 2, retried: [t1], skipped: [{ id: c1, state: 'not_retryable' }] });
    await h.waitForStatus(t1, 'succeeded');

    const forced = await call(a, '/ops/dead-letters/retry', { method: 'POST', body: { all: true, force: true } });
    expect(forced.json).toMatchObject({ matched: 1, retried: [c1], skipped: [] });
    await h.waitForStatus(c1, 'succeeded');
  });

  it('when the principal lacks the ops scopes, then reads need ops:read and actions need ops:write', async () => {
    h = await createHarness(inject('redisUrl'), { workers: false });
    const a = app(h);
    expect((await call(a, '/ops/dead-letters', { scopes: 'merchants:read' })).status).toBe(403);
    expect((await call(a, '/ops/dead-letters', { scopes: 'ops:read' })).status).toBe(200);
    const denied = await call(a, '/ops/dead-letters/retry', { method: 'POST', scopes: 'ops:read', body: {} });
    expect(denied.status).toBe(403);
    expect(denied.json).toMatchObject({ code: 'auth.insufficient_scope' });
    expect((await call(a, '/ops/queues', { scopes: 'merchants:read' })).status).toBe(403);
  });
});

describe('ops API: circuits, queue console, operations', () => {
  it('when asking for circuits, then each legacy system shows its state and last transition', async () => {
    h = await createHarness(inject('redisUrl'), { workers: false });
    h.circuits.set('tmo', 'open');
    const r = await call(h && app(h), '/ops/circuits', { scopes: 'ops:read' });
    expect(r.status).toBe(200);
    expect(r.json.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ system: 'tmo', state: 'open', lastTransitionAt: expect.any(String) }),
        expect.objectContaining({ system: 'crm', state: 'closed', lastTransitionAt: null }),
      ]),
    );
  });

  it('when opening the queue console, then ops:read gets a read-only board with its assets and ops:write may act', async () => {
    h = await createHarness(inject('redisUrl'), { workers: false });
    const a = app(h);
    const page = await call(a, '/ops/queues', { scopes: 'ops:read' });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<base href="/ops/queues/" />');
    const asset = await call(a, '/ops/queues/static/images/logo.svg', { scopes: 'ops:read' });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('image/svg');

    const queues = await call(a, '/ops/queues/api/queues', { scopes: 'ops:read' });
    expect(queues.status).toBe(200);
    const names = (queues.json.queues as { name: string; readOnlyMode: boolean }[]).map((q) => [q.name, q.readOnlyMode]);
    expect(names).toEqual(expect.arrayContaining([['ops-tmo', true], ['ops-crm', true]]));
    // the Failed tab keeps resolved and discarded runs: each queue's page says so and where the open ones are
    for (const q of queues.json.queues as { description?: string }[]) expect(q.description).toBe(FAILED_TAB_NOTE);

    const readOnly = await call(a, '/ops/queues/api/queues/ops-tmo/promote', { method: 'PUT', scopes: 'ops:read' });
    expect(readOnly.status).toBe(403);
    const writer = await call(a, '/ops/queues/api/queues/ops-tmo/promote', { method: 'PUT', scopes: 'ops:read ops:write' });
    expect(writer.status).toBeLessThan(300);

    // console actions join the audit trail, refused ones too
    const audit = await call(a, '/ops/audit', { scopes: 'ops:read' });
    const entries = (audit.json.items as { action: string; target: string; outcome: string }[]).filter((e) => e.action === 'queue_console.mutation');
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ target: 'PUT /api/queues/ops-tmo/promote', outcome: 'succeeded' }),
        expect.objectContaining({ target: 'PUT /api/queues/ops-tmo/promote', outcome: 'rejected' }),
      ]),
    );
  });

  it.each([
    ['PUT', '/api/queues/pause'],
    ['PUT', '/api/queues/resume'],
    ['PUT', '/api/queues/ops-tmo/pause'],
    ['PUT', '/api/queues/ops-tmo/empty'],
    ['PUT', '/api/queues/ops-tmo/obliterate'],
    ['PUT', '/api/queues/ops-tmo/retry/failed'],
    ['PUT', '/api/queues/ops-tmo/clean/completed'],
    ['POST', '/api/queues/ops-tmo/add'],
    ['POST', '/api/metrics/history/purge'],
  ])('when a read-only token sends %s %s to the console, then it is refused with 403, nothing changes and the audit says rejected', async (method, path) => {
    h = await createHarness(inject('redisUrl'), { workers: false });
    const a = app(h);
    const res = await call(a, `/ops/queues${path}`, { method, scopes: 'ops:read', sub: 'reader-1', body: method === 'POST' ? { name: 'x', data: {} } : undefined });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ code: 'auth.insufficient_scope' });
    for (const q of h.operations.queues.all) expect(await q.isPaused()).toBe(false);
    const audit = await call(a, '/ops/audit', { scopes: 'ops:read' });
    const entries = (audit.json.items as { actor: string; action: string; target: string; outcome: string }[]).filter(
      (e) => e.action === 'queue_console.mutation',
    );
    expect(entries).toEqual([expect.objectContaining({ actor: 'reader-1', target: `${method} ${path}`, outcome: 'rejected', detail: 'HTTP 403' })]);
  });

  it('when an ops:write token pauses all queues through the console, then they are paused and the audit says succeeded', async () => {
    h = await createHarness(inject('redisUrl'), { workers: false });
    const a = app(h);
    const res = await call(a, '/ops/queues/api/queues/pause', { method: 'PUT', scopes: 'ops:read ops:write' });
    expect(res.status).toBe(200);
    for (const q of h.operations.queues.all) expect(await q.isPaused()).toBe(true);
    const audit = await call(a, '/ops/audit', { scopes: 'ops:read' });
    expect(audit.json.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ target: 'PUT /api/queues/pause', outcome: 'succeeded' })]),
    );
  });

  it('when reading an operation, then the submitter or ops:read may; for anyone else, even with the family read scope, it is 404', async () => {
    h = await createHarness(inject('redisUrl'), { workers: false });
    const a = app(h);
    h.tmo.fail = (op) => (op === 'registerMerchant' ? new BusinessError('merchant.mcc_not_allowed', 'MCC not allowed', { system: 'tmo' }) : undefined);
    await expect(h.operations.submit('merchant.onboard', merchant('12345678901'), { ...ctx, preferAsync: false })).rejects.toBeDefined();
    const r = await h.operations.submit('merchant.onboard', merchant('12345678902'), ctx);
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    const path = `/v1/operations/${r.operationId}`;

    expect((await call(a, path, { scopes: '', sub: 'client-a' })).json).toMatchObject({ status: 'queued', kind: 'merchant.onboard' });
    expect((await call(a, path, { scopes: 'ops:read', sub: 'someone' })).status).toBe(200);
    expect((await call(a, path, { scopes: 'merchants:read', sub: 'someone' })).status).toBe(404);
    const denied = await call(a, path, { scopes: 'terminals:read', sub: 'someone' });
    expect(denied.status).toBe(404);
    expect((await call(a, '/v1/operations/op_00000000000000000000000000000000', { scopes: 'ops:read' })).status).toBe(404);

    await h.startWorkers();
    await h.waitForStatus(r.operationId, 'failed');
    const failed = await call(a, path, { scopes: 'merchants:read', sub: 'client-a' });
    expect(failed.json).toMatchObject({ status: 'failed', problem: { status: 422, code: 'merchant.mcc_not_allowed' } });
  });
});
