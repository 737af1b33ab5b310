import { describe, expect, it } from 'vitest';
import { isMaskedIban, isValidIban, maskIban } from './iban.ts';

describe('IBAN', () => {
  it.each([
    ['IT60X0542811101000000123456', true],
    ['it60 x054 2811 1010 0000 0123 456', true],
    ['DE89370400440532013000', true],
    ['GB82WEST12345698765432', true],
    ['IT61X0542811101000000123456', false],
    ['IT60X05428', false],
    ['', false],
  ])('when %s is checked, then mod-97 says %s', (iban, valid) => {
    expect(isValidIban(iban)).toBe(valid);
  });

  it.each([
    ['IT60X0542811101000000123456', 'IT**************3456'],
    ['DE89 3704 0044 0532 0130 00', 'DE**************3000'],
    ['it**********************3456', 'IT**************3456'],
    ['ABC123', '****'],
    ['hunter2-secret-value', '****'],
    ['', '****'],
  ])('when %s is masked, then it reads %s', (iban, masked) => {
    expect(maskIban(iban)).toBe(masked);
  });

  it.each([
    ['IT**************3456', true],
    ['IT*********************3456', true],
    ['IT60X0542811101000000123456', false],
  ])('when %s is looked at, then masked is %s', (v, masked) => {
    expect(isMaskedIban(v)).toBe(masked);
  });
});
