import { describe, expect, it } from 'vitest';
import { maskPayload, openPayload, sealPayload } from './payload.ts';
import { sanitizeMessage, toStoredError } from './sanitize.ts';
import { testCipher } from './test-support/harness.ts';
import { UnavailableError } from '../domain/errors/index.ts';

const IBAN = 'IT60X0542811101000000123456';

describe('payload sealing', () => {
  it('when an input holds IBANs at any depth, then sealing hides them, opening restores them and masking shows the last 4', () => {
    const cipher = testCipher();
    const input = { legalName: 'Bar', iban: IBAN, patch: { iban: 'DE89370400440532013000' }, list: [{ iban: null }] };
    const sealed = sealPayload(input, cipher);
    expect(JSON.stringify(sealed)).not.toContain('0542811101');
    expect(JSON.stringify(sealed)).not.toContain('3704004405');
    expect(openPayload(sealed, cipher)).toEqual(input);
    expect(maskPayload(sealed, cipher)).toEqual({
      legalName: 'Bar',
      iban: 'IT**************3456',
      patch: { iban: 'DE**************3000' },
      list: [{ iban: null }],
    });
  });

  it('when a sealed value cannot be opened (key gone), then the mask hides it entirely', () => {
    const sealed = sealPayload({ iban: IBAN }, testCipher());
    expect(maskPayload(sealed, testCipher())).toEqual({ iban: '****' });
  });
});

describe('sanitizing messages', () => {
  it.each([
    [`CRM-500 while saving ${IBAN}`, 'CRM-500 while saving IT**************3456'],
    ['POST http://user:s3cret@crm.local/ failed', 'POST http://[redacted]@crm.local/ failed'],
    ['<wsse:Password>hunter2</wsse:Password>', '<wsse:Password>[redacted]</wsse:Password>'],
    ['password=hunter2 rejected', 'password=[redacted] rejected'],
  ])('when a message is %j, then it is stored as %j', (raw, clean) => {
    expect(sanitizeMessage(raw)).toBe(clean);
  });

  it('when a gateway error is stored, then its message is sanitized and its cause dropped; other errors lose their message', () => {
    const err = new UnavailableError('tmo.unavailable', `down ${IBAN}`, { system: 'tmo', cause: new Error(IBAN) });
    expect(JSON.stringify(toStoredError(err))).not.toContain('0542811101');
    expect(toStoredError(new Error(IBAN))).toMatchObject({ code: 'gateway.internal', message: 'The operation failed unexpectedly' });
  });
});
