import { describe, expect, it } from 'vitest';
import type { CustomerSegment, NewCustomer } from '../../domain/model.ts';
import {
  cleanFieldFromCrmText,
  existingCustIdFromText,
  fromCrmCustomer,
  fromCrmSegment,
  toCrmAddExternalRef,
  toCrmNewCustomer,
  toCrmSearchCustomers,
  toCrmSegment,
  toCrmUpdateCustomer,
} from './index.ts';

const violation = expect.objectContaining({ kind: 'translation', code: 'crm.contract_violation', system: 'crm' });

const RECORD = {
  CustId: 'C000012345',
  CustName: 'Caffè Società Srl',
  VatNo: '12345678901',
  FiscalCd: '12345678901',
  Segment: 'RET',
  Email: 'info@caffe.example',
  Phone: '',
  Street: 'Via Roma 1',
  City: 'Milano',
  PostCode: '20100',
  Province: 'MI',
  Country: 'IT',
  Iban: 'IT**************1234',
  PartnerId: 'C000000007',
  CreatedOn: '15/01/2024',
  ExternalRefs: { Ref: [{ System: 'OTHER', Value: 'x' }, { System: 'TMO', Value: '000000000012345' }] },
};

const NEW: NewCustomer = {
  name: 'Caffè Società Srl',
  vatNumber: '12345678901',
  taxCode: '12345678901',
  segment: 'retail',
  email: null,
  phone: '+39 02 1234567',
  address: { line1: 'Via Roma 1', city: 'Milano', postalCode: '20100', province: 'MI', country: 'IT' },
  iban: 'IT60X0542811101000000123456',
  partnerId: null,
};

describe('CRM segments', () => {
  it.each<[string, CustomerSegment]>([
    ['RET', 'retail'],
    ['CORP', 'corporate'],
    ['PTN', 'partner'],
  ])('when CRM segment is %s, then the segment is %s (and back)', (code, segment) => {
    expect(fromCrmSegment(code)).toBe(segment);
    expect(toCrmSegment(segment)).toBe(code);
  });

  it.each(['', 'ret', 'VIP'])('when CRM sends the segment %j, then it is a contract violation', (code) => {
    expect(() => fromCrmSegment(code)).toThrow(violation);
  });
});

describe('CRM requests', () => {
  it('when a customer is created, then UTF-8 is kept and absent values are empty strings', () => {
    expect(toCrmNewCustomer(NEW)).toEqual({
      Customer: {
        CustName: 'Caffè Società Srl',
        VatNo: '12345678901',
        FiscalCd: '12345678901',
        Segment: 'RET',
        Email: '',
        Phone: '+39 02 1234567',
        Street: 'Via Roma 1',
        City: 'Milano',
        PostCode: '20100',
        Province: 'MI',
        Country: 'IT',
        Iban: 'IT60X0542811101000000123456',
        PartnerId: '',
      },
    });
  });

  it('when a customer is patched, then every unchanged field is an empty string', () => {
    const { CustId, Customer } = toCrmUpdateCustomer('C000012345', { email: 'new@x.example', address: { city: 'Roma' } });
    expect(CustId).toBe('C000012345');
    expect(Customer).toEqual({
      CustName: '', VatNo: '', FiscalCd: '', Segment: '', Email: 'new@x.example', Phone: '', Street: '',
      City: 'Roma', PostCode: '', Province: '', Country: '', Iban: '', PartnerId: '',
    });
  });

  it.each([
    [{ partnerId: null, segment: null, page: 1, pageSize: 20 }, { PartnerId: '', Segment: '', PageNo: '1', PageSize: '20' }],
    [{ partnerId: 'C000000007', segment: 'corporate' as const, page: 3, pageSize: 100 }, { PartnerId: 'C000000007', Segment: 'CORP', PageNo: '3', PageSize: '100' }],
  ])('when customers are searched with %j, then CRM gets %j', (search, fields) => {
    expect(toCrmSearchCustomers(search)).toEqual(fields);
  });

  it('when an external ref is added, then CRM gets CustId, System and Value', () => {
    expect(toCrmAddExternalRef('C000012345', 'TMO', '000000000012345')).toEqual({ CustId: 'C000012345', System: 'TMO', Value: '000000000012345' });
  });
});

describe('CRM records', () => {
  it('when CRM returns a customer, then listed fields are copied, the MID comes from the TMO ref', () => {
    expect(fromCrmCustomer({ ...RECORD, Secret: 'leak' })).toEqual({
      id: 'C000012345',
      name: 'Caffè Società Srl',
      vatNumber: '12345678901',
      taxCode: '12345678901',
      segment: 'retail',
      email: 'info@caffe.example',
      phone: null,
      address: { line1: 'Via Roma 1', city: 'Milano', postalCode: '20100', province: 'MI', country: 'IT' },
      ibanMasked: 'IT**************1234',
      partnerId: 'C000000007',
      createdAt: '2024-01-15',
      tmoMerchantId: '000000000012345',
    });
  });

  it.each<[string, unknown, string | null]>([
    ['null', null, null],
    ['empty element', '', null],
    ['one ref (object, not array)', { Ref: { System: 'TMO', Value: '000000000000001' } }, '000000000000001'],
    ['no TMO ref', { Ref: [{ System: 'SAP', Value: '1' }] }, null],
  ])('when ExternalRefs is %s, then tmoMerchantId is %j', (_label, refs, mid) => {
    expect(fromCrmCustomer({ ...RECORD, ExternalRefs: refs }).tmoMerchantId).toBe(mid);
  });

  it.each([
    ['masked', 'IT**************1234', 'IT**************1234'],
    ['in clear (CRM bug)', 'IT60X0542811101000000123456', 'IT**************3456'],
    ['empty', '', null],
  ])('when the Iban is %s, then ibanMasked never holds a clear IBAN', (_label, iban, shown) => {
    const c = fromCrmCustomer({ ...RECORD, Iban: iban });
    expect(c.ibanMasked).toBe(shown);
    expect(JSON.stringify(c)).not.toContain('0542811101');
  });

  it.each([
    ['bad CustId', { ...RECORD, CustId: '12345' }],
    ['bad PartnerId', { ...RECORD, PartnerId: 'P1' }],
    ['bad segment', { ...RECORD, Segment: 'X' }],
    ['bad date', { ...RECORD, CreatedOn: '2024-01-15' }],
    ['missing CustName', { ...RECORD, CustName: undefined }],
    ['malformed ref', { ...RECORD, ExternalRefs: { Ref: 'x' } }],
  ])('when the customer has %s, then it is a contract violation', (_label, rec) => {
    expect(() => fromCrmCustomer(rec)).toThrow(violation);
  });
});

describe('CRM fault texts', () => {
  it.each([
    ['VatNo is invalid', 'vatNumber'],
    ['Invalid field: PostCode', 'address.postalCode'],
    ['Email format', 'email'],
    ['PartnerId does not exist', 'partnerId'],
    ['something else', null],
    ['CityName', null],
  ])('when CRM-400 says %j, then the clean field is %j', (text, field) => {
    expect(cleanFieldFromCrmText(text)).toBe(field);
  });

  it.each([
    ['Duplicate VatNo: C000012345', 'C000012345'],
    ['C000000001 already has this VatNo', 'C000000001'],
  ])('when CRM-409 says %j, then the existing CustId is %s', (text, id) => {
    expect(existingCustIdFromText(text)).toBe(id);
  });

  it.each(['Duplicate VatNo', 'C12345', 'XC000012345'])('when CRM-409 says %j, then it is a contract violation', (text) => {
    expect(() => existingCustIdFromText(text)).toThrow(violation);
  });
});
