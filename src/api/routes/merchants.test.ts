import { describe, expect, it } from 'vitest';
import { createHarness, newMerchantBody } from '../test-support/harness.ts';
import { CLEAR_IBAN, problemOf } from '../test-support/problem.ts';

describe('POST /v1/merchants', () => {
  it('when the merchant is new, then 201 with Location, camelCase fields and the IBAN masked', async () => {
    const h = createHarness();
    const res = await h.json('POST', '/v1/merchants', newMerchantBody({ partnerId: 'C000000042' }));
    expect(res.status).toBe(201);
    const text = await res.text();
    expect(text).not.toContain(CLEAR_IBAN);
    const body = JSON.parse(text) as Record<string, unknown>;
    expect(res.headers.get('location')).toBe(`/v1/merchants/${String(body.id)}`);
    expect(Object.keys(body).sort()).toEqual(
      ['address', 'createdAt', 'email', 'iban', 'id', 'legalName', 'mcc', 'partnerId', 'phone', 'segment', 'status', 'taxCode', 'tmoMerchantId', 'vatNumber'],
    );
    expect(body.iban).toMatch(/^IT\*+3456$/);
    const [call] = h.fake.callsOf('merchants.onboard');
    expect(call?.args[0]).toMatchObject({ legalName: 'Caffè Società Srl', iban: CLEAR_IBAN, partnerId: 'C000000042' });
  });

  it('when the VAT number was already onboarded, then 200 with the existing merchant', async () => {
    const h = createHarness();
    const existing = h.fake.seedMerchant({ vatNumber: '01234567890' });
    const res = await h.json('POST', '/v1/merchants', newMerchantBody());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: existing.id });
  });

  it('when optional fields are omitted or null, then the service gets nulls', async () => {
    const h = createHarness();
    const body = newMerchantBody({ email: null, phone: undefined, iban: undefined });
    const res = await h.json('POST', '/v1/merchants', body);
    expect(res.status).toBe(201);
    expect(h.fake.callsOf('merchants.onboard')[0]?.args[0]).toMatchObject({ email: null, phone: null, iban: null, partnerId: null });
  });

  it('when values need normalising (spaced IBAN, lower-case province), then the service gets the canonical form', async () => {
    const h = createHarness();
    const res = await h.json('POST', '/v1/merchants', newMerchantBody({
      iban: 'it60 x054 2811 1010 0000 0123 456',
      taxCode: 'rssmra80a01f205x',
      address: { line1: ' Via Roma 1 ', city: 'Milano', postalCode: '20121', province: 'mi', country: 'it' },
    }));
    expect(res.status).toBe(201);
    expect(h.fake.callsOf('merchants.onboard')[0]?.args[0]).toMatchObject({
      iban: CLEAR_IBAN,
      taxCode: 'RSSMRA80A01F205X',
      address: { line1: 'Via Roma 1', province: 'MI', country: 'IT' },
    });
  });

  describe('validation (422, nothing sent to the service)', () => {
    it.each([
      ['vatNumber', { vatNumber: 'IT01234567890' }, 'vatNumber', /11 digits/],
      ['vatNumber too short', { vatNumber: '123' }, 'vatNumber', /11 digits/],
      ['mcc', { mcc: '58' }, 'mcc', /4 digits/],
      ['taxCode', { taxCode: 'RSSMRA80' }, 'taxCode', /codice fiscale/],
      ['email', { email: 'not-an-email' }, 'email', /email/],
      ['phone', { phone: 'call me' }, 'phone', /phone/],
      ['legalName empty', { legalName: '   ' }, 'legalName', /empty/],
      ['legalName too long', { legalName: 'x'.repeat(201) }, 'legalName', /200/],
      ['segment', { segment: 'partner' }, 'segment', /retail, corporate/],
      ['iban format', { iban: 'NOT-AN-IBAN' }, 'iban', /IBAN/],
      ['iban checksum', { iban: 'IT61X0542811101000000123456' }, 'iban', /check digits/],
      ['iban Italian length', { iban: 'IT60X05428111010000001234' }, 'iban', /27/],
      ['partnerId', { partnerId: 'P-1' }, 'partnerId', /C \+ 9 digits/],
      ['postalCode', { address: { line1: 'Via Roma 1', city: 'Milano', postalCode: '2012', province: 'MI', country: 'IT' } }, 'address.postalCode', /5 digits/],
      ['province', { address: { line1: 'Via Roma 1', city: 'Milano', postalCode: '20121', province: 'MIL', country: 'IT' } }, 'address.province', /2 letters/],
      ['country', { address: { line1: 'Via Roma 1', city: 'Milano', postalCode: '20121', province: 'MI', country: 'XX' } }, 'address.country', /ISO 3166-1/],
      ['address missing a field', { address: { line1: 'Via Roma 1', postalCode: '20121', province: 'MI', country: 'IT' } }, 'address.city', /is required/],
      ['missing vatNumber', { vatNumber: undefined }, 'vatNumber', /is required/],
      ['a null required field', { mcc: null }, 'mcc', /must not be null/],
      ['an unknown field', { nickname: 'x' }, 'nickname', /not a known field/],
      ['an unknown nested field', { address: { line1: 'Via Roma 1', city: 'Milano', postalCode: '20121', province: 'MI', country: 'IT', zip: '1' } }, 'address.zip', /not a known field/],
    ])('when %s is invalid, then 422 names the field', async (_label, overrides, field, reason) => {
      const h = createHarness();
      const res = await h.json('POST', '/v1/merchants', newMerchantBody(overrides));
      expect(res.status).toBe(422);
      const problem = await problemOf(res);
      expect(problem.code).toBe('request.validation_failed');
      const entry = problem.errors?.find((e) => e.field === field);
      expect(entry, JSON.stringify(problem.errors)).toBeDefined();
      expect(entry?.reason).toMatch(reason);
      expect(h.fake.calls).toHaveLength(0);
    });

    it('when the IBAN is invalid, then the problem never echoes it', async () => {
      const h = createHarness();
      const bad = 'IT60X0542811101000000123457';
      const res = await h.json('POST', '/v1/merchants', newMerchantBody({ iban: bad }));
      expect(await res.text()).not.toContain(bad);
      expect(h.logs.join('')).not.toContain(bad);
    });
  });
});

describe('GET /v1/merchants/{merchantId}', () => {
  it('when the merchant exists, then 200 with it', async () => {
    const h = createHarness();
    const m = h.fake.seedMerchant({ id: 'C000000001' });
    const res = await h.app.request('/v1/merchants/C000000001', { headers: await h.auth(['merchants:read']) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: m.id, legalName: m.legalName, iban: m.ibanMasked, tmoMerchantId: m.tmoMerchantId });
  });

  it('when the service returned an IBAN in clear by mistake, then the API still masks it', async () => {
    const h = createHarness();
    h.fake.seedMerchant({ id: 'C000000001', ibanMasked: CLEAR_IBAN });
    const res = await h.app.request('/v1/merchants/C000000001', { headers: await h.auth() });
    const text = await res.text();
    expect(text).not.toContain(CLEAR_IBAN);
    expect((JSON.parse(text) as { iban: string }).iban).toBe('IT**************3456');
  });

  it('when the merchant does not exist, then 404 merchant.not_found', async () => {
    const h = createHarness();
    const res = await h.app.request('/v1/merchants/C000000009', { headers: await h.auth() });
    expect(res.status).toBe(404);
    expect(await problemOf(res)).toMatchObject({ code: 'merchant.not_found' });
  });

  it.each(['c000000001', 'C12', 'C0000000010', 'abc'])('when the id is malformed (%s), then 404 without calling the service', async (id) => {
    const h = createHarness();
    const res = await h.app.request(`/v1/merchants/${id}`, { headers: await h.auth() });
    expect(res.status).toBe(404);
    expect(await problemOf(res)).toMatchObject({ code: 'merchant.not_found' });
    expect(h.fake.calls).toHaveLength(0);
  });
});

describe('GET /v1/merchants', () => {
  it('when paging through, then nextCursor leads to every merchant once and ends with null', async () => {
    const h = createHarness();
    for (let i = 0; i < 5; i += 1) h.fake.seedMerchant({ segment: i % 2 === 0 ? 'retail' : 'corporate' });
    const headers = await h.auth(['merchants:read']);
    const seen: string[] = [];
    let url = '/v1/merchants?limit=2';
    for (let guard = 0; guard < 10; guard += 1) {
      const res = await h.app.request(url, { headers });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { items: { id: string; mcc: unknown; status: unknown }[]; nextCursor: string | null };
      seen.push(...body.items.map((m) => m.id));
      expect(body.items.every((m) => m.mcc === null && m.status === null)).toBe(true);
      if (body.nextCursor === null) break;
      url = `/v1/merchants?cursor=${body.nextCursor}`;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    expect(h.fake.callsOf('merchants.list').map((c) => c.args[1])).toEqual([
      { page: 1, pageSize: 2 },
      { page: 2, pageSize: 2 },
      { page: 3, pageSize: 2 },
    ]);
  });

  it('when filtered, then the filter reaches the service and the cursor keeps working with it', async () => {
    const h = createHarness();
    for (let i = 0; i < 3; i += 1) h.fake.seedMerchant({ partnerId: 'C000000042', segment: 'corporate' });
    const headers = await h.auth();
    const first = (await (await h.app.request('/v1/merchants?partnerId=C000000042&segment=corporate&limit=2', { headers })).json()) as { nextCursor: string };
    expect(h.fake.callsOf('merchants.list')[0]?.args[0]).toEqual({ partnerId: 'C000000042', segment: 'corporate' });
    const res = await h.app.request(`/v1/merchants?partnerId=C000000042&segment=corporate&cursor=${first.nextCursor}`, { headers });
    expect(res.status).toBe(200);
  });

  it('when a cursor is used with a different filter, then 422 request.cursor_mismatch', async () => {
    const h = createHarness();
    for (let i = 0; i < 3; i += 1) h.fake.seedMerchant();
    const headers = await h.auth();
    const first = (await (await h.app.request('/v1/merchants?segment=retail&limit=1', { headers })).json()) as { nextCursor: string };
    const res = await h.app.request(`/v1/merchants?segment=corporate&cursor=${first.nextCursor}`, { headers });
    expect(res.status).toBe(422);
    expect(await problemOf(res)).toMatchObject({ code: 'request.cursor_mismatch' });
  });

  it('when the cursor was tampered with, then 422 request.cursor_invalid', async () => {
    const h = createHarness();
    const res = await h.app.request('/v1/merchants?cursor=eyJ2IjoxLCJwIjoxfQ-garbage', { headers: await h.auth() });
    expect(res.status).toBe(422);
    expect(await problemOf(res)).toMatchObject({ code: 'request.cursor_invalid', errors: [{ field: 'cursor' }] });
  });

  it.each([
    ['limit=0', 'limit', /at least 1/],
    ['limit=101', 'limit', /at most 100/],
    ['limit=abc', 'limit', /integer/],
    ['limit=2.5', 'limit', /integer/],
    ['segment=partner', 'segment', /retail, corporate/],
    ['partnerId=42', 'partnerId', /C \+ 9 digits/],
    ['sort=name', 'sort', /not a known field/],
  ])('when the query has %s, then 422 on %s', async (query, field, reason) => {
    const h = createHarness();
    const res = await h.app.request(`/v1/merchants?${query}`, { headers: await h.auth() });
    expect(res.status).toBe(422);
    const problem = await problemOf(res);
    expect(problem.errors?.find((e) => e.field === field)?.reason).toMatch(reason);
  });
});

describe('PATCH /v1/merchants/{merchantId}', () => {
  it('when fields change, then only those reach the service and the merchant comes back', async () => {
    const h = createHarness();
    h.fake.seedMerchant({ id: 'C000000001' });
    const res = await h.json('PATCH', '/v1/merchants/C000000001', { email: 'new@example.it', address: { city: 'Roma' }, iban: CLEAR_IBAN });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(CLEAR_IBAN);
    expect(JSON.parse(text)).toMatchObject({ email: 'new@example.it', address: { city: 'Roma', line1: 'Via Roma 1' } });
    expect(h.fake.callsOf('merchants.update')[0]?.args).toEqual(['C000000001', { email: 'new@example.it', address: { city: 'Roma' }, iban: CLEAR_IBAN }]);
  });

  it.each([
    ['email', { email: null }, 'email'],
    ['phone', { phone: '' }, 'phone'],
    ['legalName', { legalName: null }, 'legalName'],
    ['address.city', { address: { city: '' } }, 'address.city'],
    ['address', { address: null }, 'address'],
    ['iban', { iban: '' }, 'iban'],
  ])('when %s is null or empty, then 422 saying a field cannot be cleared', async (_l, body, field) => {
    const h = createHarness();
    h.fake.seedMerchant({ id: 'C000000001' });
    const res = await h.json('PATCH', '/v1/merchants/C000000001', body);
    expect(res.status).toBe(422);
    const problem = await problemOf(res);
    expect(problem.errors).toContainEqual({ field, reason: expect.stringMatching(/cannot be cleared/) as unknown });
    expect(h.fake.calls).toHaveLength(0);
  });

  it.each([
    ['an empty patch', {}, 'body', /at least one field/],
    ['a read-only field', { vatNumber: '01234567890' }, 'vatNumber', /not a known field/],
    ['segment', { segment: 'corporate' }, 'segment', /not a known field/],
    ['an invalid value', { email: 'nope' }, 'email', /email/],
  ])('when the patch has %s, then 422', async (_l, body, field, reason) => {
    const h = createHarness();
    const res = await h.json('PATCH', '/v1/merchants/C000000001', body);
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.find((e) => e.field === field)?.reason).toMatch(reason);
  });

  it('when the merchant does not exist, then 404', async () => {
    const h = createHarness();
    const res = await h.json('PATCH', '/v1/merchants/C000000009', { email: 'a@b.it' });
    expect(res.status).toBe(404);
  });
});
