/**
 * The assembled gateway (startGateway: real adapters, services, operations, idempotency, auth)
 * against the in-process TMO and CRM simulators on port 0 and the run's private Redis: the
 * journey a new user takes with curl, plus what must never happen on the way (legacy codes,
 * legacy date formats, clear IBANs or credentials in answers, logs or Redis).
 */
import { Redis } from 'ioredis';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureDevKeys, type DevKeys } from '../../src/api/auth/dev-keys.ts';
import { loadConfig } from '../../src/config.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { startCrmSimulator, startTmoSimulator, type CrmSimulator, type TmoSimulator } from '../../src/simulators/index.ts';
import { createCapturedLogger, TEST_IBANS, TEST_PASSWORDS } from '../support/log-capture.ts';

const TMO_CREDS = { username: 'gw-test', password: 'Tmo-Test-Pa55w0rd' };
// XML-special characters: the WS-Security header must escape them, and nothing may log them.
const CRM_CREDS = { username: 'GW-TEST', password: 'crm&Test<Pa55>"w0rd"' };
const IBAN = TEST_IBANS[0] ?? '';

let tmo: TmoSimulator;
let crm: CrmSimulator;
let gw: Gateway;
let keys: DevKeys;
let token: string;

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  if (!gw.app) throw new Error('gateway has no app');
  return gw.app.request(path, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

const address = { line1: 'Via Garibaldi 7', city: 'Torino', postalCode: '10122', province: 'TO', country: 'IT' };
function merchantBody(vatNumber: string, extra: Record<string, unknown> = {}) {
  return {
    legalName: 'Pâtisserie Caffè Società Srl',
    vatNumber,
    taxCode: vatNumber,
    segment: 'retail',
    mcc: '5812',
    email: 'owner@patisserie.example',
    phone: '+390111234567',
    address,
    iban: IBAN,
    ...extra,
  };
}
const order = {
  model: 'P400',
  contactless: true,
  currency: 'EUR',
  shippingAddress: { line1: 'Corso Francia 1', city: 'Torino', postalCode: '10138', province: 'TO' },
};

beforeAll(async () => {
  [tmo, crm] = await Promise.all([
    startTmoSimulator({ credentials: TMO_CREDS }),
    startCrmSimulator({ credentials: CRM_CREDS }),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'lgw-e2e-'));
  keys = await ensureDevKeys(dir);
  const config = loadConfig({
    REDIS_URL: inject('redisUrl'),
    // its own key space: other connected gateways in this test run share the Redis database
    REDIS_KEY_PREFIX: 'e2e',
    // loopback simulators speak plain HTTP; the test Redis has no persistence
    LEGACY_ALLOW_PLAINTEXT: 'true',
    REDIS_ALLOW_NO_PERSISTENCE: 'true',
    TMO_URL: tmo.url,
    TMO_USERNAME: TMO_CREDS.username,
    TMO_PASSWORD: TMO_CREDS.password,
    CRM_URL: crm.url,
    CRM_USERNAME: CRM_CREDS.username,
    CRM_PASSWORD: CRM_CREDS.password,
    TMO_TIMEOUT_MS: '1500',
    TMO_BREAKER_RESET_MS: '1000',
    AUTH_JWKS_FILE: keys.jwksFile,
    AUTH_ISSUER: keys.issuer,
    AUTH_AUDIENCE: keys.audience,
    PAYLOAD_ENCRYPTION_KEYS: `e2e1:${Buffer.alloc(32, 7).toString('base64')}`,
    LEGACY_TIME_ZONE: 'UTC',
    DEV_DATA_DIR: dir,
  });
  gw = await startGateway(config, createCapturedLogger({ name: 'e2e' }), { listen: false, workers: true });
  token = await keys.signToken([
    'merchants:read', 'merchants:write', 'partners:read', 'partners:write', 'terminals:read', 'terminals:write', 'ops:read',
  ]);
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([tmo?.close(), crm?.close()]);
});

describe('the gateway end to end', () => {
  let merchantId = '';
  let terminalId = '';

  it('when a merchant onboards, then CRM and TMO each hold one record, linked, and the answer is clean', async () => {
    const res = await call('POST', '/v1/merchants', merchantBody('01234567897'), { 'Idempotency-Key': 'e2e-onboard-1', 'X-Request-Id': 'e2e-req-1' });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toBe('e2e-req-1');
    const m = (await res.json()) as Record<string, unknown>;
    merchantId = String(m.id);
    expect(res.headers.get('location')).toBe(`/v1/merchants/${merchantId}`);
    expect(m).toMatchObject({
      legalName: 'Pâtisserie Caffè Società Srl',
      segment: 'retail',
      mcc: '5812',
      status: 'active',
      address,
      createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
    expect(m.iban).toMatch(/^IT\*+3456$/);
    expect(JSON.stringify(m)).not.toContain(IBAN);

    const [customer] = [...crm.state.customersByVat().values()].filter((c) => c.VatNo === '01234567897');
    const tmoMerchant = tmo.state.merchantsByVat().get('01234567897');
    // TMO takes printable upper-case ASCII only
    expect(tmoMerchant?.MERCH_NAME).toBe('PATISSERIE CAFFE SOCIETA SRL');
    expect(tmoMerchant?.CRM_REF).toBe(merchantId);
    expect(customer?.ExternalRefs).toEqual([{ System: 'TMO', Value: tmoMerchant?.MID }]);
    expect(m.tmoMerchantId).toBe(tmoMerchant?.MID);
    // the request id travels to every legacy call of the onboarding
    const ops = [...tmo.state.recentCalls(), ...crm.state.recentCalls()].filter((c) => c.requestId === 'e2e-req-1').map((c) => c.operation);
    expect(ops).toEqual(expect.arrayContaining(['CreateCustomer', 'RegisterMerchant', 'AddExternalRef']));
  });

  it('when the same VAT number onboards again under a new key, then the existing merchant is answered and nothing is created', async () => {
    const res = await call('POST', '/v1/merchants', merchantBody('01234567897'), { 'Idempotency-Key': 'e2e-onboard-2' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toBe(merchantId);
    expect(crm.state.customers().filter((c) => c.VatNo === '01234567897')).toHaveLength(1);
    expect(tmo.state.merchants().filter((c) => c.VAT_NO === '01234567897')).toHaveLength(1);
  });

  it('when a terminal is ordered and read back, then it belongs to the merchant and speaks English enums', async () => {
    const res = await call('POST', `/v1/merchants/${merchantId}/terminals`, order, { 'Idempotency-Key': 'e2e-order-1' });
    expect(res.status).toBe(201);
    const t = (await res.json()) as Record<string, unknown>;
    terminalId = String(t.id);
    expect(t).toMatchObject({ merchantId, model: 'P400', status: 'pending', contactless: true, currency: 'EUR', lastSeenAt: null });

    tmo.state.activate(terminalId);
    tmo.state.recordSeen(terminalId, Date.UTC(2026, 10, 20, 9, 30, 15));
    const read = await call('GET', `/v1/terminals/${terminalId}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id: terminalId, merchantId, status: 'active', lastSeenAt: '2026-11-20T09:30:15.000Z' });

    const list = await call('GET', `/v1/merchants/${merchantId}/terminals?limit=10`);
    expect(await list.json()).toMatchObject({ items: [{ id: terminalId }], nextCursor: null });
  });

  it('when the merchant is read, then CRM and TMO data are merged; a PATCH changes CRM only', async () => {
    const res = await call('GET', `/v1/merchants/${merchantId}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: merchantId, mcc: '5812', status: 'active' });

    const patched = await call('PATCH', `/v1/merchants/${merchantId}`, { email: 'new@patisserie.example' });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ email: 'new@patisserie.example' });
  });

  it('when a terminal is suspended twice and then decommissioned, then the second is a no-op and a later change is refused', async () => {
    const s1 = await call('POST', `/v1/terminals/${terminalId}/status`, { status: 'suspended', reason: 'suspected_fraud' }, { 'Idempotency-Key': 'e2e-st-1' });
    expect(s1.status).toBe(200);
    expect(await s1.json()).toMatchObject({ status: 'suspended' });
    const s2 = await call('POST', `/v1/terminals/${terminalId}/status`, { status: 'suspended', reason: 'suspected_fraud' }, { 'Idempotency-Key': 'e2e-st-2' });
    expect(s2.status).toBe(200);
    const dc = await call('POST', `/v1/terminals/${terminalId}/status`, { status: 'decommissioned', reason: 'contract_ended' }, { 'Idempotency-Key': 'e2e-st-3' });
    expect(await dc.json()).toMatchObject({ status: 'decommissioned' });
    const again = await call('POST', `/v1/terminals/${terminalId}/status`, { status: 'active', reason: 'other' }, { 'Idempotency-Key': 'e2e-st-4' });
    expect(again.status).toBe(409);
    const p = (await again.json()) as { code: string; detail: string };
    expect(p.code).toBe('terminal.decommissioned');
    expect(JSON.stringify(p)).not.toMatch(/E101|RETURN_CODE|INVALID FIELD/);
  });

  it('when a pending terminal is asked to activate, then 409 not shipped; decommissioning it is allowed', async () => {
    const res = await call('POST', `/v1/merchants/${merchantId}/terminals`, { ...order, model: 'A920' }, { 'Idempotency-Key': 'e2e-order-pending' });
    const pending = (await res.json()) as { id: string };
    const act = await call('POST', `/v1/terminals/${pending.id}/status`, { status: 'active', reason: 'merchant_request' }, { 'Idempotency-Key': 'e2e-st-5' });
    expect(act.status).toBe(409);
    expect(((await act.json()) as { code: string }).code).toBe('terminal.not_shipped');
    const dc = await call('POST', `/v1/terminals/${pending.id}/status`, { status: 'decommissioned', reason: 'merchant_request' }, { 'Idempotency-Key': 'e2e-st-6' });
    expect(dc.status).toBe(200);
  });

  it('when a partner is created and a merchant joins it, then the partner lists the merchant', async () => {
    const res = await call('POST', '/v1/partners', { name: 'Rete Partner Spa', vatNumber: '09876543217', taxCode: '09876543217', address }, { 'Idempotency-Key': 'e2e-partner-1' });
    expect(res.status).toBe(201);
    const partner = (await res.json()) as { id: string };
    const m = await call('POST', '/v1/merchants', merchantBody('11111111115', { partnerId: partner.id }), { 'Idempotency-Key': 'e2e-onboard-3' });
    expect(m.status).toBe(201);
    const list = await call('GET', `/v1/partners/${partner.id}/merchants`);
    expect(((await list.json()) as { items: Array<{ vatNumber: string }> }).items.map((i) => i.vatNumber)).toEqual(['11111111115']);
  });

  it('when TMO refuses the MCC, then 422 with a clean code and no legacy text', async () => {
    const res = await call('POST', '/v1/merchants', merchantBody('22222222224', { mcc: '7995' }), { 'Idempotency-Key': 'e2e-onboard-4' });
    expect(res.status).toBe(422);
    const p = (await res.json()) as Record<string, unknown>;
    expect(p.code).toBe('merchant.mcc_not_allowed');
    expect(JSON.stringify(p)).not.toMatch(/E102|RETURN_MSG|NOT ALLOWED/);
  });

  it('when an unknown merchant or terminal is read, then 404 in API terms', async () => {
    const m = await call('GET', '/v1/merchants/C999999999');
    expect(m.status).toBe(404);
    expect(((await m.json()) as { code: string }).code).toBe('merchant.not_found');
    const t = await call('GET', '/v1/terminals/ZZZZ9999');
    expect(t.status).toBe(404);
    expect(((await t.json()) as { code: string }).code).toBe('terminal.not_found');
  });

  it('when TMO has an outage, then reads answer 503 with Retry-After (or the last-known copy when allowed), the breaker opens, and a write is accepted for later and applied once', async () => {
    tmo.faults.outageFor(2_500);
    // Since stale-if-error (issue 8) a read of a terminal seen before answers from its last-known
    // copy; `Cache-Control: no-cache` asks for legacy's own answer, which is the 503 checked here.
    const fresh = { 'Cache-Control': 'no-cache' };
    // The rolling window still holds the journey's successes: keep reading until the failure
    // share crosses the threshold (bounded), every answer a 503 meanwhile.
    const tmoState = async () =>
      ((await (await call('GET', '/ops/circuits')).json()) as { items: Array<{ system: string; state: string }> }).items.find(
        (c) => c.system === 'tmo',
      )?.state;
    const statuses: number[] = [];
    while (statuses.length < 60 && (await tmoState()) !== 'open') statuses.push((await call('GET', `/v1/terminals/${terminalId}`, undefined, fresh)).status);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 503)).toBe(true);
    expect(await tmoState()).toBe('open');
    const open = await call('GET', `/v1/terminals/${terminalId}`, undefined, fresh);
    expect(open.status).toBe(503);
    expect(open.headers.get('retry-after')).toMatch(/^\d+$/);
    const stale = await call('GET', `/v1/terminals/${terminalId}`);
    expect(stale.status).toBe(200);
    expect(stale.headers.get('cache-status')).toBe('legacy-gateway; hit; detail=stale-if-error');
    expect(stale.headers.get('age')).toMatch(/^\d+$/);

    const before = tmo.state.terminalsByMid().get(String(tmo.state.merchantsByVat().get('01234567897')?.MID))?.length ?? 0;
    const accepted = await call('POST', `/v1/merchants/${merchantId}/terminals`, { ...order, model: 'S1F2' }, { 'Idempotency-Key': 'e2e-order-2' });
    expect(accepted.status).toBe(202);
    const location = accepted.headers.get('location') ?? '';
    expect(location).toMatch(/^\/v1\/operations\/op_/);

    const deadline = Date.now() + 15_000;
    let view: { status: string; resource: { href: string } | null } = { status: 'queued', resource: null };
    while (Date.now() < deadline && view.status !== 'succeeded' && view.status !== 'failed') {
      await new Promise((r) => setTimeout(r, 250));
      view = (await (await call('GET', location)).json()) as typeof view;
    }
    expect(view.status).toBe('succeeded');
    const mid = String(tmo.state.merchantsByVat().get('01234567897')?.MID);
    expect(tmo.state.terminalsByMid().get(mid)?.length).toBe(before + 1);
    expect(tmo.state.terminalsByMid().get(mid)?.filter((t) => t.MODEL === 'S1F2')).toHaveLength(1);
  });

  it('when the journey is over, then no clear IBAN or password is anywhere in Redis', async () => {
    const redis = new Redis(inject('redisUrl'));
    try {
      const keysFound = await redis.keys('*');
      expect(keysFound.length).toBeGreaterThan(0);
      for (const key of keysFound) {
        const type = await redis.type(key);
        const dump =
          type === 'string' ? await redis.get(key)
          : type === 'hash' ? JSON.stringify(await redis.hgetall(key))
          : type === 'list' ? JSON.stringify(await redis.lrange(key, '0', '-1'))
          : type === 'zset' ? JSON.stringify(await redis.zrange(key, '0', '-1'))
          : type === 'set' ? JSON.stringify(await redis.smembers(key))
          : type === 'stream' ? JSON.stringify(await redis.xrange(key, '-', '+'))
          : '';
        const text = `${key} ${dump ?? ''}`;
        for (const secret of [...TEST_IBANS, ...TEST_PASSWORDS]) expect(text.includes(secret), `${secret.slice(0, 4)}… in ${key}`).toBe(false);
      }
    } finally {
      await redis.quit();
    }
  });
});
