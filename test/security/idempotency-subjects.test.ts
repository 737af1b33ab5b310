/**
 * Attack suite, idempotency across callers (issue 7): an `Idempotency-Key` is scoped to the
 * token's subject. The same key from a second subject never replays the first one's stored
 * answer (it is processed as the second caller's own request), and an operation accepted for
 * one subject is not readable by another (404, as if it did not exist).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPLAYED_HEADER } from '../../src/api/idempotency/index.ts';
import { CLIENT_SCOPES, merchantBody, problemOf, startApiGateway, vatNumber, type ApiSetup } from './api-support.ts';

let s: ApiSetup;
let alice: string;
let bob: string;

beforeAll(async () => {
  s = await startApiGateway(inject('redisUrl'), {
    name: 'attack-idem',
    token: async (k) => {
      alice = await k.signToken(CLIENT_SCOPES, { subject: 'client-alice' });
      bob = await k.signToken(CLIENT_SCOPES, { subject: 'client-bob' });
      return alice;
    },
  });
}, 60_000);
afterAll(async () => {
  await s?.close();
});

const order = {
  model: 'P400',
  contactless: true,
  currency: 'EUR',
  shippingAddress: { line1: 'Corso Francia 1', city: 'Torino', postalCode: '10138', province: 'TO' },
};

describe('attack: one Idempotency-Key, two subjects', () => {
  let aliceMerchant = '';

  it('when two subjects use the same key for different merchants, then each gets its own merchant; only the first subject replays its own', async () => {
    const key = 'shared-key-1';
    const a = await s.call('POST', '/v1/merchants', { token: alice, body: merchantBody(vatNumber(6_000_000_001), { legalName: 'Alice Srl' }), headers: { 'Idempotency-Key': key } });
    expect(a.status).toBe(201);
    aliceMerchant = ((await a.json()) as { id: string }).id;

    const b = await s.call('POST', '/v1/merchants', { token: bob, body: merchantBody(vatNumber(6_000_000_002), { legalName: 'Bob Srl' }), headers: { 'Idempotency-Key': key } });
    expect(b.status).toBe(201);
    expect(b.headers.get(REPLAYED_HEADER)).toBeNull();
    const bobMerchant = (await b.json()) as { id: string; legalName: string };
    expect(bobMerchant.id).not.toBe(aliceMerchant);
    expect(bobMerchant.legalName).toBe('Bob Srl');
    expect(s.crm.state.customers().map((c) => c.CustName)).toEqual(expect.arrayContaining(['Alice Srl', 'Bob Srl']));

    // the store does work: Alice's own retry is a replay of her answer
    const again = await s.call('POST', '/v1/merchants', { token: alice, body: merchantBody(vatNumber(6_000_000_001), { legalName: 'Alice Srl' }), headers: { 'Idempotency-Key': key } });
    expect(again.status).toBe(201);
    expect(again.headers.get(REPLAYED_HEADER)).toBe('true');
    expect(((await again.json()) as { id: string }).id).toBe(aliceMerchant);
  });

  it('when the second subject repeats the first one\'s key and exact body, then it is processed afresh (no replay of the 201), answering 200 for the existing merchant', async () => {
    const body = merchantBody(vatNumber(6_000_000_003), { legalName: 'Carol Srl' });
    const a = await s.call('POST', '/v1/merchants', { token: alice, body, headers: { 'Idempotency-Key': 'shared-key-2' } });
    expect(a.status).toBe(201);
    const callsBefore = s.crm.state.recentCalls().length;
    const b = await s.call('POST', '/v1/merchants', { token: bob, body, headers: { 'Idempotency-Key': 'shared-key-2' } });
    expect(b.headers.get(REPLAYED_HEADER)).toBeNull();
    expect(b.status).toBe(200);
    // Bob's request went to legacy (a replay would not)
    expect(s.crm.state.recentCalls().length).toBeGreaterThan(callsBefore);
  });

  it('when an accepted write belongs to one subject, then the other cannot read its operation (404) nor get its Location by reusing the key', async () => {
    s.tmo.faults.outageFor(30_000);
    try {
      const a = await s.call('POST', `/v1/merchants/${aliceMerchant}/terminals`, { token: alice, body: order, headers: { 'Idempotency-Key': 'shared-key-3' } });
      expect(a.status, await a.clone().text()).toBe(202);
      const location = a.headers.get('location') ?? '';
      expect(location).toMatch(/^\/v1\/operations\/op_/);
      expect((await s.call('GET', location, { token: alice })).status).toBe(200);

      const p = await problemOf(await s.call('GET', location, { token: bob }), 404);
      expect(JSON.stringify(p)).not.toContain(aliceMerchant);

      const b = await s.call('POST', `/v1/merchants/${aliceMerchant}/terminals`, { token: bob, body: order, headers: { 'Idempotency-Key': 'shared-key-3' } });
      expect(b.headers.get(REPLAYED_HEADER)).toBeNull();
      expect(b.headers.get('location')).not.toBe(location);
    } finally {
      s.tmo.faults.reset();
    }
  });
});
