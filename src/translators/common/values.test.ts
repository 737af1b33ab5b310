import { describe, expect, it } from 'vitest';
import { fromYesNo, toYesNo } from './flags.ts';
import { isMaskedIban, maskIban, toMaskedIban } from './iban.ts';
import { isCustomerId, isTerminalId, isTmoMerchantId } from './ids.ts';
import { asArray, listItems } from './lists.ts';
import { fromTmoAmount, toTmoAmount } from './money.ts';
import type { Money } from '../../domain/model.ts';

describe('id validators', () => {
  it.each([
    ['000000000012345', true],
    ['12345', false],
    ['0000000000123456', false],
    ['00000000001234A', false],
    [12345, false],
  ])('when a MID is %j, then valid is %s', (v, ok) => expect(isTmoMerchantId(v)).toBe(ok));

  it.each([
    ['T0000001', true],
    ['AB12CD34', true],
    ['ab12cd34', false],
    ['T000001', false],
    ['T00000011', false],
    ['T000-001', false],
  ])('when a TID is %j, then valid is %s', (v, ok) => expect(isTerminalId(v)).toBe(ok));

  it.each([
    ['C000012345', true],
    ['c000012345', false],
    ['C00001234', false],
    ['X000012345', false],
    [null, false],
  ])('when a CustId is %j, then valid is %s', (v, ok) => expect(isCustomerId(v)).toBe(ok));
});

describe('Y/N flags', () => {
  it.each([
    [true, 'Y'],
    [false, 'N'],
  ])('when %s goes to legacy, then it is %s', (b, yn) => {
    expect(toYesNo(b)).toBe(yn);
    expect(fromYesNo(yn, 'tmo', 'CONTACTLESS')).toBe(b);
  });

  it.each(['', 'y', 'YES', '1'])('when legacy sends the flag %j, then it is a translation error', (v) => {
    expect(() => fromYesNo(v, 'crm', 'Flag')).toThrow(expect.objectContaining({ code: 'crm.contract_violation' }));
  });
});

describe('money', () => {
  it.each<[Money, number | undefined, string]>([
    [{ amount: 12345, currency: 'EUR' }, undefined, '12345'],
    [{ amount: 0, currency: 'EUR' }, undefined, '0'],
    [{ amount: 12345, currency: 'EUR' }, 12, '000000012345'],
  ])('when %j goes to TMO (width %s), then it is %j', (money, width, digits) => {
    expect(toTmoAmount(money, width)).toBe(digits);
  });

  it.each<[Money, number | undefined]>([
    [{ amount: -1, currency: 'EUR' }, undefined],
    [{ amount: 1.5, currency: 'EUR' }, undefined],
    [{ amount: 123456, currency: 'EUR' }, 3],
    [{ amount: 1, currency: 'USD' as 'EUR' }, undefined],
  ])('when %j goes to TMO (width %s), then it is a validation error', (money, width) => {
    expect(() => toTmoAmount(money, width)).toThrow(expect.objectContaining({ kind: 'validation' }));
  });

  it.each([
    ['000000012345', { amount: 12345, currency: 'EUR' }],
    ['0', { amount: 0, currency: 'EUR' }],
    ['', null],
  ])('when TMO sends the amount %j, then it is %j', (digits, money) => {
    expect(fromTmoAmount(digits)).toEqual(money);
  });

  it.each(['-1', '12.50', '1 000', '99999999999999999999'])('when TMO sends the amount %j, then it is a translation error', (v) => {
    expect(() => fromTmoAmount(v)).toThrow(expect.objectContaining({ code: 'tmo.contract_violation' }));
  });
});

describe('IBAN masking', () => {
  it.each([
    ['IT**************1234', 'IT**************1234'],
    ['IT60X0542811101000000123456', 'IT**************3456'],
    ['IT60 X054 2811 1010 0000 0123 456', 'IT**************3456'],
    ['IT*********************3456', 'IT**************3456'],
    ['', null],
    ['abc', '****'],
  ])('when CRM sends the IBAN %j, then the model shows %j', (crm, shown) => {
    expect(toMaskedIban(crm)).toBe(shown);
  });

  it('when a clear IBAN is masked, then none of its middle digits survive', () => {
    const masked = maskIban('IT60X0542811101000000123456') ?? '';
    expect(masked).not.toContain('0542811101');
    expect(isMaskedIban(masked)).toBe(true);
  });
});

describe('lists', () => {
  it.each<[unknown, unknown[]]>([
    [undefined, []],
    [null, []],
    ['', []],
    [{ a: 1 }, [{ a: 1 }]],
    [[{ a: 1 }, { a: 2 }], [{ a: 1 }, { a: 2 }]],
  ])('when a repeated element is %j, then the array is %j', (value, expected) => {
    expect(asArray(value as never)).toEqual(expected);
  });

  it.each<[unknown, unknown[]]>([
    [null, []],
    ['', []],
    [undefined, []],
    [{}, []],
    [{ TERMINAL: { TID: 'A' } }, [{ TID: 'A' }]],
    [{ TERMINAL: [{ TID: 'A' }, { TID: 'B' }] }, [{ TID: 'A' }, { TID: 'B' }]],
  ])('when a list wrapper is %j, then its items are %j', (wrapper, expected) => {
    expect(listItems(wrapper, 'TERMINAL')).toEqual(expected);
  });
});
