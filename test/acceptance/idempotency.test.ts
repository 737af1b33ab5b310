/**
 * Acceptance (durable writes): "50 parallel requests with one idempotency key reach legacy
 * once" — through the real assembled gateway (startGateway, connected mode), the real SOAP
 * adapters, the TMO/CRM simulators and the private test Redis.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { createCapturedLogger } from '../support/log-capture.ts';
import { configOnFreePort, connectedSetup, flushDb, IBAN, merchantBody, randomVat, redisOnDb, startLegacy, type ConnectedSetup, type Legacy, REDIS_DBS } from './support.ts';

/** This file's own logical database (see `redisOnDb`). */
const REDIS_DB = REDIS_DBS.idempotency;

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let gw: Gateway | undefined;
let token = '';

beforeAll(async () => {
  const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
  await flushDb(redisUrl);
  legacy = await startLegacy();
  setup = await connectedSetup(legacy, redisUrl);
  gw = await startGateway(configOnFreePort(setup.env), createCapturedLogger({ name: 'acceptance-idempotency' }), { listen: true });
  token = await setup.keys.signToken(['merchants:read', 'merchants:write'], { subject: 'client-idem' });
});

afterAll(async () => {
  await gw?.close();
  await legacy?.close();
  setup?.cleanup();
});

function post(body: Record<string, unknown>, key: string): Promise<Response> {
  if (!gw?.url) throw new Error('gateway is not listening');
  return fetch(`${gw.url}/v1/merchants`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': key },
    body: JSON.stringify(body),
  });
}

describe('acceptance: idempotency keys through the assembled gateway', () => {
  it('when 50 requests with one idempotency key and body arrive at once, then legacy is reached once, every answer is 201 or 409 in progress, and a different body with that key is 422', async () => {
    if (!gw || !legacy) throw new Error('set-up failed');
    const vat = randomVat();
    const key = `acc-idem-${vat}`;
    const body = merchantBody(vat);
    // A little legacy latency keeps the first request running while the others arrive.
    legacy.crm.faults.set({ latencyMs: 150 });
    legacy.tmo.faults.set({ latencyMs: 150 });

    const responses = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const res = await post(body, key);
        return { status: res.status, replayed: res.headers.get('idempotent-replayed'), text: await res.text() };
      }),
    );
    legacy.crm.faults.reset();
    legacy.tmo.faults.reset();

    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s !== 201 && s !== 409), `unexpected statuses: ${statuses.join(',')}`).toEqual([]);
    const created = responses.filter((r) => r.status === 201);
    const inProgress = responses.filter((r) => r.status === 409);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(inProgress.length, 'the requests did not overlap: nothing was refused as in progress').toBeGreaterThan(0);
    // exactly one request ran the handler; any other 201 is a replay of its stored answer
    expect(created.filter((r) => r.replayed !== 'true')).toHaveLength(1);
    for (const r of inProgress) expect(JSON.parse(r.text)).toMatchObject({ code: 'idempotency.in_progress' });
    const ids = new Set(created.map((r) => (JSON.parse(r.text) as { id: string }).id));
    expect(ids.size).toBe(1);

    // legacy saw one CreateCustomer and one RegisterMerchant for the VAT number
    expect(legacy.crm.state.createCalls(vat)).toBe(1);
    expect(legacy.tmo.state.registerCalls(vat)).toBe(1);
    const customer = legacy.crm.state.customersByVat().get(vat);
    expect(customer).toBeDefined();
    expect(legacy.crm.state.addRefCalls(customer?.CustId ?? '')).toBe(1);
    expect(legacy.tmo.state.merchantsByVat().get(vat)?.MID).toBe(customer?.ExternalRefs.find((r) => r.System === 'TMO')?.Value);

    // a late duplicate is a replay of the same answer
    const late = await post(body, key);
    expect(late.status).toBe(201);
    expect(late.headers.get('idempotent-replayed')).toBe('true');
    expect((await late.json()) as unknown).toMatchObject({ id: [...ids][0], vatNumber: vat });

    // the same key with another body is refused, and legacy is not called again
    const reused = await post(merchantBody(vat, { legalName: 'Another Name Srl' }), key);
    expect(reused.status).toBe(422);
    const problem = await reused.text();
    expect(JSON.parse(problem)).toMatchObject({ code: 'idempotency.key_reused' });
    expect(legacy.crm.state.createCalls(vat)).toBe(1);
    expect(legacy.tmo.state.registerCalls(vat)).toBe(1);

    // nothing sent back holds the IBAN in clear
    for (const r of [...responses.map((x) => x.text), problem]) expect(r).not.toContain(IBAN);
  });
});
