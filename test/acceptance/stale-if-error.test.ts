/**
 * Acceptance (issue 8, reads that survive a legacy outage): the REAL assembled gateway keeps a
 * last-known copy of every terminal and merchant read or written through it, and answers 200
 * from it with `Age` and `Cache-Status` while the legacy system is down (breaker open), unless
 * the client says otherwise. Writes refresh the copy wherever they complete: inline, or later in a
 * worker (202). The copy of a merchant is sealed: no IBAN, e-mail or name in clear.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startGateway, startWorker, type Gateway, type WorkerProcess } from '../../src/gateway.ts';
import { createCapturedLogger } from '../support/log-capture.ts';
import { configOnFreePort, connectedSetup, flushDb, IBAN, merchantBody, randomVat, redisOnDb, startLegacy, waitFor, type ConnectedSetup, type Legacy, REDIS_DBS } from './support.ts';

/** This file's own logical database (see `redisOnDb`). */
const REDIS_DB = REDIS_DBS.staleIfError;
const STALE = 'legacy-gateway; hit; detail=stale-if-error';

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let gw: Gateway | undefined;
let worker: WorkerProcess | undefined;
let redis: Redis | undefined;
let token = '';

beforeAll(async () => {
  const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
  await flushDb(redisUrl);
  redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  legacy = await startLegacy();
  // A breaker that opens after two failed calls and stays open for the whole test.
  const breaker = { BREAKER_VOLUME_THRESHOLD: '2', BREAKER_RESET_MS: '600000' };
  setup = await connectedSetup(legacy, redisUrl, {
    ...Object.fromEntries(Object.entries(breaker).flatMap(([k, v]) => [[`TMO_${k}`, v], [`CRM_${k}`, v]])),
    WORKERS_IN_PROCESS: 'false',
  });
  gw = await startGateway(configOnFreePort(setup.env), createCapturedLogger({ name: 'acceptance-stale-if-error' }), { listen: true });
  token = await setup.keys.signToken(['merchants:read', 'merchants:write', 'terminals:read', 'terminals:write'], { subject: 'client-stale' });
});

afterAll(async () => {
  await worker?.close();
  await gw?.close();
  await legacy?.close();
  redis?.disconnect();
  setup?.cleanup();
});

function call(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
  if (!gw?.url) throw new Error('gateway is not listening');
  return fetch(`${gw.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(opts.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...opts.headers },
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
}

async function copyOf(kind: 'terminal' | 'merchant', id: string): Promise<string | undefined> {
  return (await redis?.get(`{lgw}:lk:${kind}:${id}`)) ?? undefined;
}

describe('acceptance: reads that survive a legacy outage', () => {
  it('when TMO and CRM are down with their breakers open, then reads answer 200 from the last-known copy (Age, Cache-Status) unless the client refuses, writes updated the copy (inline, and 202 ones applied by a worker), never-seen ids are 503, and no copy holds an IBAN in clear', async () => {
    if (!gw || !legacy || !redis) throw new Error('set-up failed');
    // A merchant (with an IBAN and an e-mail) and one of its terminals, read while all is well.
    const created = await call('POST', '/v1/merchants', { body: merchantBody(randomVat()), headers: { 'Idempotency-Key': `stale-${randomVat()}` } });
    expect(created.status).toBe(201);
    const merchant = (await created.json()) as { id: string; tmoMerchantId: string; email: string };
    const tid = legacy.tmo.state.seedTerminal(merchant.tmoMerchantId, { MODEL: 'A920', CONTACTLESS: 'Y', STATUS: 'AC' });

    const fresh = await call('GET', `/v1/terminals/${tid}`);
    expect(fresh.status).toBe(200);
    expect(await fresh.json()).toMatchObject({ id: tid, status: 'active' });
    // a fresh answer never carries the stale headers
    expect(fresh.headers.get('age')).toBeNull();
    expect(fresh.headers.get('cache-status')).toBeNull();
    const freshMerchant = await call('GET', `/v1/merchants/${merchant.id}`);
    expect(freshMerchant.status).toBe(200);
    expect(freshMerchant.headers.get('cache-status')).toBeNull();
    const freshMerchantBody = (await freshMerchant.json()) as Record<string, unknown>;
    expect(JSON.stringify(freshMerchantBody)).toMatch(/IT\*+3456/); // the masked IBAN is part of what is kept

    // A write through the gateway updates the copy: the terminal is suspended after the last read.
    const suspended = await call('POST', `/v1/terminals/${tid}/status`, { body: { status: 'suspended', reason: 'merchant_request' }, headers: { 'Idempotency-Key': `stale-s-${tid}` } });
    expect(suspended.status).toBe(200);
    await waitFor('the copy to show the write', async () => ((await copyOf('terminal', tid))?.includes('"suspended"') ? true : undefined), { timeoutMs: 3000 });

    // Writes that complete later in a worker update it too: two respond-async writes (202), applied
    // by a worker process started afterwards (its configuration without any AUTH_* variable).
    const async = { Prefer: 'respond-async' };
    const reactivated = await call('POST', `/v1/terminals/${tid}/status`, { body: { status: 'active', reason: 'merchant_request' }, headers: { ...async, 'Idempotency-Key': `stale-a-${tid}` } });
    expect(reactivated.status).toBe(202);
    const newEmail = 'contabilita@bar-nuovo.example';
    const patched = await call('PATCH', `/v1/merchants/${merchant.id}`, { body: { email: newEmail }, headers: { ...async, 'Idempotency-Key': `stale-p-${merchant.id}` } });
    expect(patched.status).toBe(202);
    const operations = [reactivated.headers.get('location'), patched.headers.get('location')];
    const workerEnv = Object.fromEntries(Object.entries(setup?.env ?? {}).filter(([k]) => !k.startsWith('AUTH_')));
    worker = await startWorker(loadConfig(workerEnv, 'worker'), createCapturedLogger({ name: 'acceptance-stale-if-error-worker' }));
    for (const location of operations) {
      expect(location).toMatch(/^\/v1\/operations\//);
      await waitFor(`${location} to succeed in the worker`, async () => {
        const op = (await (await call('GET', location ?? '')).json()) as { status: string };
        return op.status === 'succeeded' ? true : undefined;
      }, { timeoutMs: 10_000 });
    }
    await worker.close();
    worker = undefined;

    // Both systems go down; a few reads open both breakers.
    legacy.tmo.faults.outageFor(600_000);
    legacy.crm.faults.outageFor(600_000);
    const stateOf = () => Object.fromEntries((gw as Gateway).circuits.circuits().map((c) => [c.system, c.state]));
    for (let i = 0; i < 40 && (stateOf().tmo !== 'open' || stateOf().crm !== 'open'); i++) {
      await call('GET', '/v1/terminals/T9999990', { headers: { 'Cache-Control': 'no-cache' } });
      await call('GET', '/v1/merchants/C999999990', { headers: { 'Cache-Control': 'no-cache' } });
    }
    const states = stateOf();
    expect(states).toEqual({ tmo: 'open', crm: 'open' });

    // breaker open → 200 from the copy, with Age and Cache-Status; the copy has the state the
    // worker's write left (active again), not the inline write's before it
    const stale = await call('GET', `/v1/terminals/${tid}`);
    expect(stale.status).toBe(200);
    expect(stale.headers.get('cache-status')).toBe(STALE);
    expect(Number(stale.headers.get('age'))).toBeGreaterThanOrEqual(0);
    expect(stale.headers.get('age')).toMatch(/^\d+$/);
    expect(await stale.json()).toMatchObject({ id: tid, status: 'active', merchantId: merchant.id });

    const staleMerchant = await call('GET', `/v1/merchants/${merchant.id}`);
    expect(staleMerchant.status).toBe(200);
    expect(staleMerchant.headers.get('cache-status')).toBe(STALE);
    expect(staleMerchant.headers.get('age')).toMatch(/^\d+$/);
    expect(await staleMerchant.json()).toEqual({ ...freshMerchantBody, email: newEmail });

    // Cache-Control: no-cache → the 503 itself
    const refused = await call('GET', `/v1/terminals/${tid}`, { headers: { 'Cache-Control': 'no-cache' } });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ code: 'upstream.unavailable' });
    expect(refused.headers.get('cache-status')).toBeNull();

    // max-stale: a copy older than allowed is not used; a generous one is
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call('GET', `/v1/terminals/${tid}`, { headers: { 'Cache-Control': 'max-stale=0' } })).status).toBe(503);
    const allowed = await call('GET', `/v1/terminals/${tid}`, { headers: { 'Cache-Control': 'max-stale=3600' } });
    expect(allowed.status).toBe(200);
    expect(Number(allowed.headers.get('age'))).toBeGreaterThanOrEqual(1);
    // RFC 5861's request directive bounds the copy the same way
    expect((await call('GET', `/v1/terminals/${tid}`, { headers: { 'Cache-Control': 'stale-if-error=0' } })).status).toBe(503);
    expect((await call('GET', `/v1/terminals/${tid}`, { headers: { 'Cache-Control': 'stale-if-error=3600' } })).status).toBe(200);
    // a bound that is not delta-seconds is read as 0 (the most restrictive), not as "any age"
    expect((await call('GET', `/v1/terminals/${tid}`, { headers: { 'Cache-Control': 'max-stale=abc' } })).status).toBe(503);

    // never seen → 503, whatever the client allows
    expect((await call('GET', '/v1/terminals/T7777770')).status).toBe(503);
    expect((await call('GET', '/v1/merchants/C777777770')).status).toBe(503);

    // The copies in Redis: the merchant's sealed (no IBAN, e-mail or name in clear), nothing holds an IBAN.
    const sealed = await copyOf('merchant', merchant.id);
    expect(sealed).toContain('"sealed"');
    for (const needle of [merchant.email, newEmail, 'Bar Acceptance', '3456']) expect(sealed).not.toContain(needle);
    const keys = await redis.keys('*');
    expect(keys).toContain(`{lgw}:lk:terminal:${tid}`);
    for (const key of keys) {
      const type = await redis.type(key);
      const values =
        type === 'string' ? [await redis.get(key)] : type === 'hash' ? Object.values(await redis.hgetall(key)) : type === 'list' ? await redis.lrange(key, 0, -1) : [];
      for (const v of values) {
        expect(v ?? '', key).not.toContain(IBAN);
        expect(v ?? '', key).not.toContain(IBAN.slice(4, 20));
      }
    }
    legacy.tmo.faults.reset();
    legacy.crm.faults.reset();
  }, 60_000);
});
