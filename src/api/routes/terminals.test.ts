import { describe, expect, it } from 'vitest';
import { BusinessError } from '../../domain/errors/index.ts';
import { createHarness } from '../test-support/harness.ts';
import { problemOf } from '../test-support/problem.ts';

const orderBody = {
  model: 'A920',
  contactless: true,
  currency: 'EUR',
  shippingAddress: { line1: 'Via Roma 1', city: 'Milano', postalCode: '20121', province: 'MI' },
};

describe('terminals', () => {
  it('when a terminal is ordered, then 201 with Location and the terminal; country defaults to IT', async () => {
    const h = createHarness();
    const m = h.fake.seedMerchant({ id: 'C000000001' });
    const res = await h.json('POST', '/v1/merchants/C000000001/terminals', orderBody);
    expect(res.status).toBe(201);
    const t = (await res.json()) as Record<string, unknown>;
    expect(res.headers.get('location')).toBe(`/v1/terminals/${String(t.id)}`);
    expect(Object.keys(t).sort()).toEqual(['contactless', 'currency', 'id', 'lastSeenAt', 'merchantId', 'model', 'serialNumber', 'status', 'tmoMerchantId']);
    expect(t).toMatchObject({ merchantId: m.id, model: 'A920', status: 'pending', contactless: true, currency: 'EUR' });
    expect(h.fake.callsOf('terminals.order')[0]?.args[1]).toMatchObject({ shippingAddress: { country: 'IT' } });
  });

  it.each([
    [{ ...orderBody, model: 'X1' }, 'model', /A920, P400, S1F2/],
    [{ ...orderBody, contactless: 'yes' }, 'contactless', /true or false/],
    [{ ...orderBody, currency: 'USD' }, 'currency', /EUR/],
    [{ ...orderBody, shippingAddress: { ...orderBody.shippingAddress, country: 'FR' } }, 'shippingAddress.country', /Italy/],
    [{ ...orderBody, shippingAddress: { ...orderBody.shippingAddress, postalCode: 'ABCDE' } }, 'shippingAddress.postalCode', /5 digits/],
    [{ ...orderBody, quantity: 2 }, 'quantity', /not a known field/],
  ])('when the order is invalid, then 422 naming the field', async (body, field, reason) => {
    const h = createHarness();
    const res = await h.json('POST', '/v1/merchants/C000000001/terminals', body);
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.find((e) => e.field === field)?.reason).toMatch(reason);
  });

  it('when listing a merchant\'s terminals, then pages of at most 50 with cursors', async () => {
    const h = createHarness();
    const m = h.fake.seedMerchant({ id: 'C000000001' });
    for (let i = 0; i < 3; i += 1) h.fake.seedTerminal(m);
    const headers = await h.auth(['terminals:read']);
    const first = (await (await h.app.request('/v1/merchants/C000000001/terminals?limit=2', { headers })).json()) as { items: unknown[]; nextCursor: string };
    expect(first.items).toHaveLength(2);
    const second = (await (await h.app.request(`/v1/merchants/C000000001/terminals?cursor=${first.nextCursor}`, { headers })).json()) as { items: unknown[]; nextCursor: unknown };
    expect(second).toMatchObject({ nextCursor: null });
    const tooBig = await h.app.request('/v1/merchants/C000000001/terminals?limit=51', { headers });
    expect((await problemOf(tooBig)).errors).toEqual([{ field: 'limit', reason: 'must be at most 50' }]);
    const def = await h.app.request('/v1/merchants/C000000001/terminals', { headers });
    expect(def.status).toBe(200);
    expect(h.fake.callsOf('terminals.listForMerchant').at(-1)?.args[1]).toEqual({ page: 1, pageSize: 20 });
  });

  it('when a terminal is read, then 200; unknown → 404 terminal.not_found; malformed → 404', async () => {
    const h = createHarness();
    h.fake.seedTerminal(h.fake.seedMerchant(), { id: 'T0000001' });
    const headers = await h.auth(['terminals:read']);
    expect((await h.app.request('/v1/terminals/T0000001', { headers })).status).toBe(200);
    expect(await problemOf(await h.app.request('/v1/terminals/T0000009', { headers }))).toMatchObject({ status: 404, code: 'terminal.not_found' });
    expect(await problemOf(await h.app.request('/v1/terminals/t0000001', { headers }))).toMatchObject({ status: 404, code: 'terminal.not_found' });
    expect(h.fake.callsOf('terminals.get')).toHaveLength(2);
  });

  it('when the status changes, then 200 with the terminal', async () => {
    const h = createHarness();
    h.fake.seedTerminal(h.fake.seedMerchant(), { id: 'T0000001', status: 'active' });
    const res = await h.json('POST', '/v1/terminals/T0000001/status', { status: 'suspended', reason: 'suspected_fraud' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: 'T0000001', status: 'suspended' });
    expect(h.fake.callsOf('terminals.changeStatus')[0]?.args).toEqual(['T0000001', 'suspended', 'suspected_fraud']);
  });

  it.each([
    [{ status: 'pending', reason: 'other' }, 'status'],
    [{ status: 'active', reason: 'because' }, 'reason'],
    [{ status: 'active' }, 'reason'],
  ])('when the status change is invalid, then 422', async (body, field) => {
    const h = createHarness();
    const res = await h.json('POST', '/v1/terminals/T0000001/status', body);
    expect((await problemOf(res)).errors?.map((e) => e.field)).toContain(field);
  });

  it('when the terminal is decommissioned already, then the business refusal is a 422 with its code', async () => {
    const h = createHarness();
    h.fake.failNext('terminals.changeStatus', new BusinessError('terminal.decommissioned', 'The terminal is decommissioned; its status cannot change.'));
    const res = await h.json('POST', '/v1/terminals/T0000001/status', { status: 'active', reason: 'other' });
    expect(await problemOf(res)).toMatchObject({ status: 422, code: 'terminal.decommissioned', detail: 'The terminal is decommissioned; its status cannot change.' });
  });
});
