// Free-text fields (names, address lines, cities, ops reasons) refuse characters no such text
// needs and that make stored text lie or break its readers (issue 7 defect 6).
import { describe, expect, it } from 'vitest';
import { createHarness, newMerchantBody } from './test-support/harness.ts';
import { problemOf } from './test-support/problem.ts';

const address = { line1: 'Via Roma 1', city: 'Milano', postalCode: '20121', province: 'MI', country: 'IT' };
const partnerBody = { name: 'Acquiring Partner Spa', vatNumber: '09876543210', taxCode: '09876543210', address };
const orderBody = { model: 'A920', contactless: true, currency: 'EUR', shippingAddress: { line1: 'Via Roma 1', city: 'Milano', postalCode: '20121', province: 'MI' } };

const UNSAFE: Array<[string, string]> = [
  ['DEL', '\u007F'],
  ['NUL', '\u0000'],
  ['a newline', '\n'],
  ['C1 NEL', '\u0085'],
  ['C1 CSI', '\u009B'],
  ['RIGHT-TO-LEFT OVERRIDE', '\u202E'],
  ['LEFT-TO-RIGHT EMBEDDING', '\u202A'],
  ['LEFT-TO-RIGHT ISOLATE', '\u2066'],
  ['POP DIRECTIONAL ISOLATE', '\u2069'],
  ['RIGHT-TO-LEFT MARK', '\u200F'],
  ['LINE SEPARATOR', '\u2028'],
  ['PARAGRAPH SEPARATOR', '\u2029'],
  ['an unpaired surrogate', '\uD800'],
];

/** [label, method, path, body carrying `bad` in the field, field name as the problem names it] */
type Case = [string, string, string, (bad: string) => Record<string, unknown>, string];
const FIELDS: Case[] = [
  ['merchant legalName', 'POST', '/v1/merchants', (bad) => newMerchantBody({ legalName: `Bar ${bad}Sport Srl` }), 'legalName'],
  ['merchant address.line1', 'POST', '/v1/merchants', (bad) => newMerchantBody({ address: { ...address, line1: `Via${bad} Roma 1` } }), 'address.line1'],
  ['merchant address.city', 'POST', '/v1/merchants', (bad) => newMerchantBody({ address: { ...address, city: `Mil${bad}ano` } }), 'address.city'],
  ['merchant update legalName', 'PATCH', '/v1/merchants/C000000001', (bad) => ({ legalName: `Bar${bad}Sport` }), 'legalName'],
  ['partner name', 'POST', '/v1/partners', (bad) => ({ ...partnerBody, name: `Partner ${bad}Spa` }), 'name'],
  ['terminal shipping line1', 'POST', '/v1/merchants/C000000001/terminals', (bad) => ({ ...orderBody, shippingAddress: { ...orderBody.shippingAddress, line1: `Via ${bad}1` } }), 'shippingAddress.line1'],
];

describe('free-text fields', () => {
  describe.each(FIELDS)('%s', (_label, method, path, body, field) => {
    it.each(UNSAFE)('when it holds %s, then 422 names the field and nothing reaches the service', async (_name, bad) => {
      const h = createHarness();
      h.fake.seedMerchant({ id: 'C000000001' });
      const res = await h.json(method, path, body(bad));
      expect(res.status).toBe(422);
      const problem = await problemOf(res);
      expect(problem.errors).toContainEqual({ field, reason: expect.stringMatching(/control characters, line separators or bidirectional/) as unknown });
      expect(h.fake.calls.filter((c) => c.method !== 'merchants.get')).toHaveLength(0);
    });
  });

  it.each([
    ['accents', 'Caffè Società Srl'],
    ['non-Latin scripts', 'Müller & Søn 株式会社 Ελληνικά'],
    ['a right-to-left name without formatting characters', 'مقهى روما'],
    ['an emoji (a surrogate pair)', 'Bar 🍺 Sport'],
  ])('when a legal name has %s, then it is accepted', async (_label, legalName) => {
    const h = createHarness();
    const res = await h.json('POST', '/v1/merchants', newMerchantBody({ legalName }));
    expect(res.status).toBe(201);
    expect(h.fake.callsOf('merchants.onboard')[0]?.args[0]).toMatchObject({ legalName });
  });
});
