import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type * as soap from 'soap';
import { startCrmSimulator, type CrmSimulator } from './index.ts';
import { call, crmClient, failure } from './test-support.ts';

const T0 = Date.UTC(2024, 2, 5, 13, 4, 5);
let clock = T0;
const IBAN = 'IT60X0542811101000000123456';

const CUST = {
  CustName: 'Caffè Società Srl',
  VatNo: '12345678901',
  FiscalCd: '12345678901',
  Segment: 'RET',
  Email: 'info@caffe.it',
  Phone: '+39 02 1234567',
  Street: 'Via Roma 1',
  City: 'Milano',
  PostCode: '20100',
  Province: 'MI',
  Country: 'IT',
  Iban: IBAN,
  PartnerId: '',
};

type Customer = Record<string, unknown> & { ExternalRefs: { Ref: Array<{ System: string; Value: string }> } | null };

describe('CRM simulator', () => {
  let sim: CrmSimulator;
  let client: soap.Client;
  const create = async (over: Partial<typeof CUST> = {}) =>
    (await call<{ CustId: string }>(client, 'CreateCustomer', { Customer: { ...CUST, ...over } })).CustId;
  const get = async (CustId: string) => (await call<{ Customer: Customer }>(client, 'GetCustomer', { CustId })).Customer;

  beforeAll(async () => {
    sim = await startCrmSimulator({ now: () => clock });
    client = await crmClient(sim.url);
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.state.reset();
    sim.faults.reset();
    clock = T0;
  });

  describe('CreateCustomer and GetCustomer', () => {
    it('when a customer is created, then a sequential CustId C+9 digits and GetCustomer returns it with the IBAN masked', async () => {
      const id = await create();
      expect(id).toBe('C000000001');
      expect(await create({ VatNo: '10987654321', FiscalCd: 'RSSMRA80A01F205X' })).toBe('C000000002');
      expect(await get(id)).toEqual({
        CustId: id,
        ...CUST,
        Iban: 'IT**************3456',
        CreatedOn: '05/03/2024',
        ExternalRefs: null,
      });
      expect(sim.state.clearIban(id)).toBe(IBAN);
      expect(sim.state.customer(id)?.Iban).toBe('IT**************3456');
    });

    it('when the simulator masks in the same-length style, then the IBAN keeps its length', async () => {
      const s = await startCrmSimulator({ ibanMask: 'same-length' });
      try {
        const c = await crmClient(s.url);
        const { CustId } = await call<{ CustId: string }>(c, 'CreateCustomer', { Customer: CUST });
        const got = await call<{ Customer: Customer }>(c, 'GetCustomer', { CustId });
        expect(got.Customer.Iban).toBe('IT*********************3456');
      } finally {
        await s.close();
      }
    });

    it('when the clear IBAN is stored, then no response and no journal entry contains it', async () => {
      const id = await create();
      await get(id);
      await call(client, 'SearchCustomers', { PartnerId: '', Segment: '', PageNo: 1, PageSize: 10 });
      expect(String(client.lastResponse)).not.toContain(IBAN);
      expect(JSON.stringify(sim.state.customers())).not.toContain(IBAN);
      expect(JSON.stringify(sim.state.recentCalls())).not.toContain(IBAN);
      expect(JSON.stringify(sim.state.summary())).not.toContain(IBAN);
    });

    it('when no IBAN and no optional fields are given, then they read as empty strings', async () => {
      const id = await create({ Iban: '', Email: '', Phone: '', Province: '' });
      expect(await get(id)).toMatchObject({ Iban: '', Email: '', Phone: '', Province: '' });
    });

    it('when the VAT number already exists, then a soap:Client fault CRM-409 whose Text holds the existing CustId', async () => {
      const id = await create();
      const f = await failure(create({ CustName: 'Other' }));
      expect(f.status).toBe(500);
      expect(f.fault).toEqual({
        faultcode: 'soap:Client',
        faultstring: 'CRM-409',
        detail: { CrmError: { Code: 'CRM-409', Text: `Duplicate VatNo: already registered as customer ${id}` } },
      });
      expect(sim.state.customers()).toHaveLength(1);
      expect(sim.state.createCalls(CUST.VatNo)).toBe(2);
    });

    it.each([
      ['CustName', '', 'is required'],
      ['CustName', 'x'.repeat(101), 'must be at most 100 characters'],
      ['VatNo', '1234567890', 'must be 11 digits'],
      ['FiscalCd', 'ABC', 'must be 16 alphanumerics or 11 digits'],
      ['Segment', 'VIP', 'must be RET, CORP or PTN'],
      ['Segment', 'ret', 'must be RET, CORP or PTN'],
      ['Email', 'not-an-email', 'is not an e-mail address'],
      ['Phone', 'call me', 'must be 6-20 digits, optional leading +'],
      ['Street', '', 'is required'],
      ['PostCode', '1', 'must be 3-10 letters, digits, spaces or dashes'],
      ['Province', 'MIL', 'must be 2 letters'],
      ['Country', 'it', 'must be an ISO 3166 alpha-2 code'],
      ['Iban', 'IT60X0542811101000000123457', 'is not a valid IBAN'],
      ['Iban', 'IT60 X054 2811 1010 0000 0123 456', 'is not a valid IBAN'],
      ['PartnerId', 'P1', 'must be C followed by 9 digits'],
      ['PartnerId', 'C000000099', 'must reference an existing partner (Segment PTN)'],
    ])('when %s is %j, then CRM-400 whose Text names the field', async (field, value, reason) => {
      const f = await failure(create({ [field]: value }));
      expect(f.fault?.faultcode).toBe('soap:Client');
      expect(f.fault?.faultstring).toBe('CRM-400');
      expect(f.fault?.detail?.CrmError).toEqual({ Code: 'CRM-400', Text: `Validation failed: ${field} ${reason}` });
      expect(JSON.stringify(f.fault)).not.toContain('IT60X054');
    });

    it('when PartnerId references a partner (PTN), then it is accepted; a non-partner customer is refused', async () => {
      const partner = await create({ VatNo: '99999999999', Segment: 'PTN', CustName: 'Partner Spa' });
      const retail = await create({ VatNo: '88888888888' });
      expect(await create({ VatNo: '77777777777', PartnerId: partner })).toBe('C000000003');
      const f = await failure(create({ VatNo: '66666666666', PartnerId: retail }));
      expect(f.fault?.detail?.CrmError?.Text).toBe('Validation failed: PartnerId must reference an existing partner (Segment PTN)');
    });

    it('when the customer does not exist, then CRM-404; when the CustId is malformed, then CRM-400 CustId', async () => {
      const nf = await failure(get('C000000404'));
      expect(nf.fault?.detail?.CrmError).toEqual({ Code: 'CRM-404', Text: 'Customer C000000404 not found' });
      expect(nf.fault?.faultcode).toBe('soap:Client');
      const bad = await failure(get('12345'));
      expect(bad.fault?.detail?.CrmError).toEqual({ Code: 'CRM-400', Text: 'Validation failed: CustId must be C followed by 9 digits' });
    });

    it('when an element is xsi:nil or unknown, then CRM-400 naming it', async () => {
      const nil = await failure(call(client, 'CreateCustomer', { Customer: { ...CUST, Email: null } }));
      expect(nil.fault?.detail?.CrmError?.Text).toBe('Validation failed: Email has no value (empty or xsi:nil)');
      const extra = await failure(call(client, 'GetCustomer', { CustId: 'C000000001', Foo: 'x' }));
      expect(extra.fault?.detail?.CrmError?.Text).toBe('Validation failed: Foo is not an expected element');
      const missing = await failure(call(client, 'GetCustomer', {}));
      expect(missing.fault?.detail?.CrmError?.Text).toBe('Validation failed: CustId is missing');
    });
  });

  describe('UpdateCustomer', () => {
    it('when some fields are given, then only non-empty ones change and UpdatedOn is today as DD/MM/YYYY', async () => {
      const id = await create();
      clock = Date.UTC(2024, 11, 31, 23, 0, 0);
      const res = await call(client, 'UpdateCustomer', {
        CustId: id,
        Customer: { CustName: '', City: 'Roma', Iban: 'GB82WEST12345698765432' },
      });
      expect(res).toEqual({ UpdatedOn: '31/12/2024' });
      expect(await get(id)).toMatchObject({ CustName: CUST.CustName, City: 'Roma', Iban: 'GB**************5432', CreatedOn: '05/03/2024' });
      expect(sim.state.clearIban(id)).toBe('GB82WEST12345698765432');
      expect(sim.state.updateCalls(id)).toBe(1);
    });

    it('when the customer does not exist, then CRM-404', async () => {
      const f = await failure(call(client, 'UpdateCustomer', { CustId: 'C000000404', Customer: { City: 'Roma' } }));
      expect(f.fault?.detail?.CrmError?.Code).toBe('CRM-404');
    });

    it('when the new VAT number belongs to another customer, then CRM-409 with that CustId', async () => {
      const a = await create();
      const b = await create({ VatNo: '10987654321' });
      const f = await failure(call(client, 'UpdateCustomer', { CustId: b, Customer: { VatNo: CUST.VatNo } }));
      expect(f.fault?.detail?.CrmError).toEqual({ Code: 'CRM-409', Text: `Duplicate VatNo: already registered as customer ${a}` });
    });

    it('when a given field is invalid, then CRM-400 naming it and nothing changes', async () => {
      const id = await create();
      const f = await failure(call(client, 'UpdateCustomer', { CustId: id, Customer: { City: 'Roma', Segment: 'XX' } }));
      expect(f.fault?.detail?.CrmError?.Text).toBe('Validation failed: Segment must be RET, CORP or PTN');
      expect((await get(id)).City).toBe('Milano');
    });
  });

  describe('SearchCustomers', () => {
    it('when searching by segment with paging, then TotalCount is a number and pages are 1-based', async () => {
      for (let i = 0; i < 5; i++) await create({ VatNo: `1000000000${i}` });
      await create({ VatNo: '20000000000', Segment: 'CORP' });
      type S = { TotalCount: number; Customers: { Customer: Customer[] } | null };
      const p1 = await call<S>(client, 'SearchCustomers', { PartnerId: '', Segment: 'RET', PageNo: 1, PageSize: 2 });
      const p3 = await call<S>(client, 'SearchCustomers', { PartnerId: '', Segment: 'RET', PageNo: 3, PageSize: 2 });
      const p4 = await call<S>(client, 'SearchCustomers', { PartnerId: '', Segment: 'RET', PageNo: 4, PageSize: 2 });
      expect(p1.TotalCount).toBe(5);
      expect(p1.Customers?.Customer.map((c) => c.CustId)).toEqual(['C000000001', 'C000000002']);
      expect(p1.Customers?.Customer[0]?.Iban).toBe('IT**************3456');
      expect(p3.Customers?.Customer.map((c) => c.CustId)).toEqual(['C000000005']);
      expect(p4).toEqual({ TotalCount: 5, Customers: null });
    });

    it('when searching by partner, then only that partner customers; none at all gives an empty list', async () => {
      const partner = await create({ VatNo: '99999999999', Segment: 'PTN' });
      await create({ VatNo: '10000000001', PartnerId: partner });
      await create({ VatNo: '10000000002' });
      const res = await call<{ TotalCount: number; Customers: { Customer: Customer[] } }>(client, 'SearchCustomers', {
        PartnerId: partner,
        Segment: '',
        PageNo: 1,
        PageSize: 100,
      });
      expect(res.TotalCount).toBe(1);
      expect(res.Customers.Customer[0]?.PartnerId).toBe(partner);
      const none = await call(client, 'SearchCustomers', { PartnerId: 'C000000999', PageNo: 1, PageSize: 10 });
      expect(none).toEqual({ TotalCount: 0, Customers: null });
    });

    it.each([
      ['PageNo', 0, 'must be an integer >= 1'],
      ['PageSize', 0, 'must be an integer from 1 to 100'],
      ['PageSize', 101, 'must be an integer from 1 to 100'],
      ['Segment', 'X', 'must be RET, CORP or PTN'],
      ['PartnerId', 'X1', 'must be C followed by 9 digits'],
    ])('when %s is %j, then CRM-400 naming it', async (field, value, reason) => {
      const f = await failure(call(client, 'SearchCustomers', { PartnerId: '', Segment: '', PageNo: 1, PageSize: 10, [field]: value }));
      expect(f.fault?.detail?.CrmError).toEqual({ Code: 'CRM-400', Text: `Validation failed: ${field} ${reason}` });
    });
  });

  describe('AddExternalRef', () => {
    it('when a ref is added twice, then both calls answer OK and GetCustomer lists it once', async () => {
      const id = await create();
      const args = { CustId: id, System: 'TMO', Value: '000000000000001' };
      expect(await call(client, 'AddExternalRef', args)).toEqual({ Result: 'OK' });
      expect(await call(client, 'AddExternalRef', args)).toEqual({ Result: 'OK' });
      expect((await get(id)).ExternalRefs).toEqual({ Ref: [{ System: 'TMO', Value: '000000000000001' }] });
      expect(sim.state.addRefCalls(id)).toBe(2);
    });

    it('when the customer does not exist, then CRM-404; when Value is empty, then CRM-400 Value', async () => {
      const nf = await failure(call(client, 'AddExternalRef', { CustId: 'C000000404', System: 'TMO', Value: '1' }));
      expect(nf.fault?.detail?.CrmError?.Code).toBe('CRM-404');
      const id = await create();
      const empty = await failure(call(client, 'AddExternalRef', { CustId: id, System: 'TMO', Value: '' }));
      expect(empty.fault?.detail?.CrmError).toEqual({ Code: 'CRM-400', Text: 'Validation failed: Value is required' });
    });
  });

  describe('authentication', () => {
    it.each([
      ['no token', null, 'PasswordText'],
      ['a wrong password', { username: 'gateway', password: 'wrong' }, 'PasswordText'],
      ['a wrong user', { username: 'intruder', password: 'gateway-dev-secret' }, 'PasswordText'],
      ['PasswordDigest', { username: 'gateway', password: 'gateway-dev-secret' }, 'PasswordDigest'],
    ] as const)('when the call carries %s, then a soap:Client fault CRM-AUTH and nothing is applied', async (_label, creds, type) => {
      const c = await crmClient(sim.url, creds, type);
      const f = await failure(call(c, 'CreateCustomer', { Customer: CUST }));
      expect(f.status).toBe(500);
      expect(f.fault).toEqual({
        faultcode: 'soap:Client',
        faultstring: 'CRM-AUTH',
        detail: { CrmError: { Code: 'CRM-AUTH', Text: 'Authentication failed' } },
      });
      expect(sim.state.customers()).toHaveLength(0);
      expect(sim.state.createCalls(CUST.VatNo)).toBe(0);
    });
  });

  describe('inspection', () => {
    it('when customers exist, then customersByVat, summary and the journal reflect them (counts only in summary)', async () => {
      const id = await create();
      await call(client, 'AddExternalRef', { CustId: id, System: 'TMO', Value: '1' }, {}, { 'X-Request-Id': 'r-9' });
      expect(sim.state.customersByVat().get(CUST.VatNo)?.CustId).toBe(id);
      expect(sim.state.summary()).toEqual({
        system: 'CRM',
        customers: 1,
        customersBySegment: { RET: 1, CORP: 0, PTN: 0 },
        externalRefs: 1,
        calls: { CreateCustomer: 1, GetCustomer: 0, UpdateCustomer: 0, SearchCustomers: 0, AddExternalRef: 1 },
      });
      expect(sim.state.recentCalls().at(-1)).toEqual({ operation: 'AddExternalRef', requestId: 'r-9', at: T0, outcome: 'OK' });
    });
  });
});
