import { describe, expect, it } from 'vitest';
import { createHarness } from '../test-support/harness.ts';
import { problemOf } from '../test-support/problem.ts';

const partnerBody = {
  name: 'Acquiring Partner Spa',
  vatNumber: '09876543210',
  taxCode: '09876543210',
  email: 'ops@partner.example',
  address: { line1: 'Corso Italia 5', city: 'Torino', postalCode: '10121', province: 'TO', country: 'IT' },
};

describe('partners', () => {
  it('when a partner is created, then 201 with Location; the same VAT again answers 200', async () => {
    const h = createHarness();
    const first = await h.json('POST', '/v1/partners', partnerBody);
    expect(first.status).toBe(201);
    const created = (await first.json()) as { id: string };
    expect(first.headers.get('location')).toBe(`/v1/partners/${created.id}`);
    expect(Object.keys(created).sort()).toEqual(['address', 'createdAt', 'email', 'id', 'name', 'phone', 'taxCode', 'vatNumber']);
    expect(h.fake.callsOf('partners.create')[0]?.args[0]).toMatchObject({ phone: null });
    const again = await h.json('POST', '/v1/partners', partnerBody);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(created.id);
  });

  it.each([
    [{ ...partnerBody, vatNumber: '1' }, 'vatNumber'],
    [{ ...partnerBody, segment: 'partner' }, 'segment'],
    [{ ...partnerBody, name: '' }, 'name'],
  ])('when the body is invalid, then 422 naming the field', async (body, field) => {
    const h = createHarness();
    const res = await h.json('POST', '/v1/partners', body);
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.map((e) => e.field)).toContain(field);
  });

  it('when a partner is read, then 200; unknown → 404 partner.not_found; malformed → 404', async () => {
    const h = createHarness();
    h.fake.seedPartner({ id: 'C000000042' });
    const headers = await h.auth(['partners:read']);
    expect((await h.app.request('/v1/partners/C000000042', { headers })).status).toBe(200);
    const missing = await h.app.request('/v1/partners/C000000043', { headers });
    expect(await problemOf(missing)).toMatchObject({ status: 404, code: 'partner.not_found' });
    const malformed = await h.app.request('/v1/partners/42', { headers });
    expect(await problemOf(malformed)).toMatchObject({ status: 404, code: 'partner.not_found' });
  });

  it('when listing a partner\'s merchants, then pages with cursors bound to that partner', async () => {
    const h = createHarness();
    h.fake.seedPartner({ id: 'C000000042' });
    h.fake.seedPartner({ id: 'C000000043' });
    for (let i = 0; i < 3; i += 1) h.fake.seedMerchant({ partnerId: 'C000000042' });
    const headers = await h.auth(['partners:read', 'merchants:read']);
    const first = await h.app.request('/v1/partners/C000000042/merchants?limit=2', { headers });
    const body = (await first.json()) as { items: unknown[]; nextCursor: string };
    expect(body.items).toHaveLength(2);
    const second = (await (await h.app.request(`/v1/partners/C000000042/merchants?cursor=${body.nextCursor}`, { headers })).json()) as { items: unknown[]; nextCursor: string | null };
    expect(second).toMatchObject({ nextCursor: null });
    expect(second.items).toHaveLength(1);
    const other = await h.app.request(`/v1/partners/C000000043/merchants?cursor=${body.nextCursor}`, { headers });
    expect(await problemOf(other)).toMatchObject({ status: 422, code: 'request.cursor_mismatch' });
    const fromMerchants = (await (await h.app.request('/v1/merchants?limit=1', { headers })).json()) as { nextCursor: string };
    const crossList = await h.app.request(`/v1/partners/C000000042/merchants?cursor=${fromMerchants.nextCursor}`, { headers });
    expect(await problemOf(crossList)).toMatchObject({ status: 422, code: 'request.cursor_mismatch' });
  });

  it('when listing merchants with only partners:read, then 403 naming merchants:read', async () => {
    const h = createHarness();
    const res = await h.app.request('/v1/partners/C000000042/merchants', { headers: await h.auth(['partners:read']) });
    expect(res.status).toBe(403);
    expect((await problemOf(res)).detail).toContain('merchants:read');
  });
});
