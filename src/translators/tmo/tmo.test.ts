import { describe, expect, it } from 'vitest';
import type { LifecycleStatus, StatusChangeReason } from '../../domain/model.ts';
import {
  cleanFieldFromTmoMessage,
  existingMidFromMessage,
  fromTmoMerchant,
  fromTmoReason,
  fromTmoStatus,
  fromTmoTerminal,
  toTmoChangeTerminalStatus,
  toTmoListTerminals,
  toTmoOrderTerminal,
  toTmoReason,
  toTmoRegisterMerchant,
  toTmoStatus,
} from './index.ts';

const violation = expect.objectContaining({ kind: 'translation', code: 'tmo.contract_violation', system: 'tmo' });

describe('TMO codes', () => {
  it.each<[string, LifecycleStatus]>([
    ['PE', 'pending'],
    ['AC', 'active'],
    ['SU', 'suspended'],
    ['DC', 'decommissioned'],
  ])('when TMO status is %s, then the status is %s (and back)', (code, status) => {
    expect(fromTmoStatus(code)).toBe(status);
    expect(toTmoStatus(status)).toBe(code);
  });

  it.each<[string, StatusChangeReason]>([
    ['01', 'merchant_request'],
    ['02', 'suspected_fraud'],
    ['03', 'lost_or_stolen'],
    ['04', 'contract_ended'],
    ['99', 'other'],
  ])('when TMO reason is %s, then the reason is %s (and back)', (code, reason) => {
    expect(fromTmoReason(code)).toBe(reason);
    expect(toTmoReason(reason)).toBe(code);
  });

  it.each(['XX', '', 'ac', 'toString', '__proto__'])('when TMO sends the status %j, then it is a contract violation', (code) => {
    expect(() => fromTmoStatus(code)).toThrow(violation);
  });

  it.each(['05', '1', ''])('when TMO sends the reason %j, then it is a contract violation', (code) => {
    expect(() => fromTmoReason(code)).toThrow(violation);
  });
});

describe('TMO requests', () => {
  it('when a merchant is registered, then every field is ASCII upper case within the TMO maxima', () => {
    expect(
      toTmoRegisterMerchant({
        vatNumber: '12345678901',
        name: 'Caffè Società Srl con un nome molto più lungo di quaranta caratteri',
        mcc: '5812',
        address: { line1: 'Via Roma 1', city: 'Forlì', postalCode: '47121', province: 'fc', country: 'it' },
        customerId: 'C000012345',
      }),
    ).toEqual({
      VAT_NO: '12345678901',
      MERCH_NAME: 'CAFFE SOCIETA SRL CON UN NOME MOLTO PIU',
      MCC: '5812',
      ADDR_LINE: 'VIA ROMA 1',
      CITY: 'FORLI',
      ZIP: '47121',
      PROV: 'FC',
      COUNTRY: 'IT',
      CRM_REF: 'C000012345',
    });
  });

  it('when a terminal is ordered, then the flags and shipping address are TMO-shaped', () => {
    expect(
      toTmoOrderTerminal('000000000012345', {
        model: 'A920',
        contactless: true,
        currency: 'EUR',
        shippingAddress: { line1: 'Piazza Duomo 1', city: 'Milano', postalCode: '20121', province: 'MI', country: 'IT' },
      }),
    ).toEqual({
      MID: '000000000012345',
      MODEL: 'A920',
      CONTACTLESS: 'Y',
      CURRENCY: 'EUR',
      SHIP_ADDR_LINE: 'PIAZZA DUOMO 1',
      SHIP_CITY: 'MILANO',
      SHIP_ZIP: '20121',
      SHIP_PROV: 'MI',
    });
  });

  it.each([
    ['active', 'merchant_request', 'AC', '01'],
    ['suspended', 'suspected_fraud', 'SU', '02'],
    ['decommissioned', 'contract_ended', 'DC', '04'],
  ] as const)('when a terminal goes %s for %s, then TMO gets %s/%s', (status, reason, code, rc) => {
    expect(toTmoChangeTerminalStatus('T0000001', status, reason)).toEqual({ TID: 'T0000001', NEW_STATUS: code, REASON_CODE: rc });
  });

  it('when terminals are listed, then page numbers are digit strings', () => {
    expect(toTmoListTerminals('000000000012345', 2, 50)).toEqual({ MID: '000000000012345', PAGE_NO: '2', PAGE_SIZE: '50' });
  });
});

const MERCHANT = {
  MID: '000000000012345',
  VAT_NO: '12345678901',
  MERCH_NAME: 'CAFFE SOCIETA SRL',
  MCC: '5812',
  ADDR_LINE: 'VIA ROMA 1',
  CITY: 'MILANO',
  ZIP: '20100',
  PROV: 'MI',
  COUNTRY: 'IT',
  CRM_REF: 'C000012345',
  STATUS: 'AC',
  REG_DATE: '20240115',
};

const TERMINAL = {
  TID: 'T0000001',
  MID: '000000000012345',
  MODEL: 'P400',
  SERIAL_NO: 'SN123',
  STATUS: 'PE',
  CONTACTLESS: 'N',
  CURRENCY: 'EUR',
  LAST_SEEN_DATE: '20240715',
  LAST_SEEN_TIME: '103000',
};

describe('TMO records', () => {
  it('when TMO returns a merchant, then only listed fields are copied into the clean shape', () => {
    expect(fromTmoMerchant({ ...MERCHANT, EXTRA: 'leak' })).toEqual({
      tmoMerchantId: '000000000012345',
      vatNumber: '12345678901',
      name: 'CAFFE SOCIETA SRL',
      mcc: '5812',
      address: { line1: 'VIA ROMA 1', city: 'MILANO', postalCode: '20100', province: 'MI', country: 'IT' },
      customerId: 'C000012345',
      status: 'active',
      registeredAt: '2024-01-15',
    });
  });

  it('when TMO returns a terminal, then the last-seen time is an instant in the configured zone', () => {
    expect(fromTmoTerminal(TERMINAL, 'Europe/Rome')).toEqual({
      id: 'T0000001',
      tmoMerchantId: '000000000012345',
      model: 'P400',
      serialNumber: 'SN123',
      status: 'pending',
      contactless: false,
      currency: 'EUR',
      lastSeenAt: '2024-07-15T08:30:00.000Z',
    });
  });

  it('when a terminal was never seen and has no serial yet, then those are null', () => {
    expect(fromTmoTerminal({ ...TERMINAL, SERIAL_NO: '', LAST_SEEN_DATE: '', LAST_SEEN_TIME: '' }, 'Europe/Rome')).toMatchObject({
      serialNumber: null,
      lastSeenAt: null,
    });
  });

  it.each([
    ['MID too short', { ...MERCHANT, MID: '12345' }],
    ['unknown status', { ...MERCHANT, STATUS: 'ZZ' }],
    ['bad date', { ...MERCHANT, REG_DATE: '2024-01-15' }],
    ['bad CRM_REF', { ...MERCHANT, CRM_REF: 'X1' }],
    ['missing field', { ...MERCHANT, VAT_NO: undefined }],
    ['nested element', { ...MERCHANT, MCC: { x: '1' } }],
    ['not a record', ''],
    ['absent record', undefined],
  ])('when the merchant has %s, then it is a contract violation', (_label, rec) => {
    expect(() => fromTmoMerchant(rec)).toThrow(violation);
  });

  it.each([
    ['TID lower case', { ...TERMINAL, TID: 't0000001' }],
    ['unknown model', { ...TERMINAL, MODEL: 'X1' }],
    ['bad flag', { ...TERMINAL, CONTACTLESS: '' }],
    ['other currency', { ...TERMINAL, CURRENCY: 'USD' }],
    ['bad time', { ...TERMINAL, LAST_SEEN_TIME: '256000' }],
  ])('when the terminal has %s, then it is a contract violation', (_label, rec) => {
    expect(() => fromTmoTerminal(rec, 'Europe/Rome')).toThrow(violation);
  });

  it('when a contract violation is raised, then the message never carries the legacy value', () => {
    try {
      fromTmoMerchant({ ...MERCHANT, STATUS: 'SECRET-VALUE' });
      expect.unreachable();
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('SECRET-VALUE');
    }
  });
});

describe('TMO messages', () => {
  it.each([
    ['E101 INVALID FIELD ZIP', 'address.postalCode'],
    ['FIELD SHIP_ADDR_LINE TOO LONG', 'shippingAddress.line1'],
    ['ADDR_LINE: invalid', 'address.line1'],
    ['VAT_NO must be 11 digits', 'vatNumber'],
    ['invalid MERCH_NAME', 'name'],
    ['NEW_STATUS not allowed', 'status'],
    ['SOMETHING WRONG', null],
    ['MIDDLE', null],
  ])('when E101 says %j, then the clean field is %j', (msg, field) => {
    expect(cleanFieldFromTmoMessage(msg)).toBe(field);
  });

  it.each([
    ['MERCHANT ALREADY REGISTERED: 000000000012345', '000000000012345'],
    ['000000000099999 EXISTS', '000000000099999'],
  ])('when E301 says %j, then the existing MID is %s', (msg, mid) => {
    expect(existingMidFromMessage(msg)).toBe(mid);
  });

  it.each(['ALREADY REGISTERED', 'MID 12345', 'MID 0000000000123456'])('when E301 says %j, then it is a contract violation', (msg) => {
    expect(() => existingMidFromMessage(msg)).toThrow(violation);
  });
});
