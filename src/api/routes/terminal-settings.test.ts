import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { batchHarness, type BatchHarness } from '../../jobs/batch/test-support/harness.ts';
import { requireScope } from '../auth/middleware.ts';
import { createIdempotencyMiddleware } from '../idempotency/index.ts';
import { createBatchOpsApp } from '../ops/batch.ts';
import { createOperationsApp } from '../ops/operations.ts';
import { createHarness, signToken, type Harness } from '../test-support/harness.ts';

const redisUrl = inject('redisUrl');
let b: BatchHarness;
let api: Harness;
let idem: Redis;

const body = {
  tipping: true,
  contactless: true,
  contactlessLimit: { amount: 5000, currency: 'EUR' },
  receiptLines: ['Grazie e arrivederci', ''],
  language: 'it',
};

async function setup() {
  b = await batchHarness(redisUrl);
  idem = new Redis(redisUrl);
  api = createHarness({
    services: b.services,
    terminalSettings: b.batch.settings,
    beforeWrite: createIdempotencyMiddleware({ redis: idem, keyPrefix: `${b.prefix}:idem:` }),
    extraRoutes: (root, tools) => {
      root.use('/v1/operations/*', tools.authenticate);
      root.route('/', createOperationsApp({ operations: b.operations }));
      root.use('/ops/*', tools.authenticate);
      root.route('/ops', createBatchOpsApp({ exchange: b.batch.exchange, ledger: b.batch.ledger, audit: b.operations.audit, requireScope }));
    },
  });
}

afterEach(async () => {
  await b.close();
  await idem.quit();
});

const put = (tid: string, payload: unknown, key = `k-${Math.random()}`, headers: Record<string, string> = {}) =>
  api.json('PUT', `/v1/terminals/${tid}/settings`, payload, { 'Idempotency-Key': key, ...headers });
const bearer = async (scopes: string[]) => ({ Authorization: `Bearer ${await signToken(scopes)}` });

describe('PUT/GET /v1/terminals/{id}/settings and /ops/batch', () => {
  it('when settings are put, exported and acknowledged, then the operation and GET follow accepted → sent → applied', async () => {
    await setup();
    const [tid] = b.seedTerminals(1) as [string];
    const res = await put(tid, body);
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { operationId: string; href: string };
    expect(res.headers.get('location')).toBe(accepted.href);
    const op = await api.app.request(accepted.href, { headers: await api.auth() });
    expect(await op.json()).toMatchObject({ kind: 'terminal.settings', status: 'running' });

    const get = async () => (await (await api.app.request(`/v1/terminals/${tid}/settings`, { headers: await api.auth() })).json()) as Record<string, unknown>;
    expect(await get()).toMatchObject({ terminalId: tid, applied: null, pendingChange: { state: 'accepted', file: null } });

    const ops = await bearer(['ops:read', 'ops:write']);
    const exp = await api.app.request('/ops/batch/exports', { method: 'POST', headers: ops });
    expect(exp.status).toBe(200);
    const { file } = (await exp.json()) as { file: string };
    expect(file).toMatch(/^TPU_\d{8}_001\.DAT$/);
    expect(await get()).toMatchObject({ pendingChange: { state: 'sent', file: { name: file, recordNo: 1 } } });
    const listed = await (await api.app.request('/ops/batch/files', { headers: ops })).json();
    expect(listed).toMatchObject({ items: [{ name: file, state: 'sent', records: 1 }], nextCursor: null });

    await b.tmoBatch.processInbox();
    await b.batch.exchange.processAnswers();
    expect(await get()).toMatchObject({ applied: { settings: body }, pendingChange: { state: 'applied' } });
    expect(await (await api.app.request(accepted.href, { headers: await api.auth() })).json()).toMatchObject({
      status: 'succeeded',
      resource: { href: `/v1/terminals/${tid}/settings` },
    });
    expect(await (await api.app.request(`/ops/batch/files/${file}`, { headers: ops })).json()).toMatchObject({ state: 'acknowledged', applied: 1, rejected: 0 });
    const again = await api.app.request('/ops/batch/exports', { method: 'POST', headers: ops });
    expect(await again.json()).toEqual({ outcome: 'nothing_pending', file: null, records: 0 });
  });

  it('when the same Idempotency-Key is sent again, then the 202 is replayed and one change exists', async () => {
    await setup();
    const [tid] = b.seedTerminals(1) as [string];
    const first = await put(tid, body, 'same-key');
    const second = await put(tid, body, 'same-key');
    expect(second.status).toBe(202);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await second.json()).toEqual(await first.json());
  });

  it('when no Idempotency-Key is sent, then 400 idempotency.key_missing', async () => {
    await setup();
    const [tid] = b.seedTerminals(1) as [string];
    const res = await api.json('PUT', `/v1/terminals/${tid}/settings`, body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'idempotency.key_missing' });
  });

  it('when the terminal is unknown, then 404; when decommissioned, then 409', async () => {
    await setup();
    const [dc] = b.seedTerminals(1, 'DC') as [string];
    expect((await put('ZZZZ9999', body)).status).toBe(404);
    const res = await put(dc, body);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'terminal.decommissioned' });
    expect((await api.app.request('/v1/terminals/ZZZZ9999/settings', { headers: await api.auth() })).status).toBe(404);
  });

  it.each([
    ['contactlessLimit.amount', { contactlessLimit: { amount: 1_000_000, currency: 'EUR' } }],
    ['contactlessLimit.amount', { contactlessLimit: { amount: 12.5, currency: 'EUR' } }],
    ['contactlessLimit.currency', { contactlessLimit: { amount: 1, currency: 'USD' } }],
    ['receiptLines', { receiptLines: ['only one'] }],
    ['receiptLines.1', { receiptLines: ['ok', 'x'.repeat(41)] }],
    ['language', { language: 'es' }],
    ['tipping', { tipping: 'yes' }],
  ])('when %s is bad, then 422 naming it', async (field, patch) => {
    await setup();
    const [tid] = b.seedTerminals(1) as [string];
    const res = await put(tid, { ...body, ...patch });
    expect(res.status).toBe(422);
    const p = (await res.json()) as { errors: { field: string }[] };
    expect(p.errors.map((e) => e.field)).toContain(field);
  });

  it('when the caller lacks the scope, then 403 for PUT and for the ops export', async () => {
    await setup();
    const [tid] = b.seedTerminals(1) as [string];
    const res = await api.app.request(`/v1/terminals/${tid}/settings`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'x', ...(await bearer(['terminals:read'])) },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(403);
    expect((await api.app.request('/ops/batch/exports', { method: 'POST', headers: await bearer(['ops:read']) })).status).toBe(403);
  });
});
