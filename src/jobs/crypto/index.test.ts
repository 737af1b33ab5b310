import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createFieldCipher,
  FieldCryptoError,
  isEncrypted,
  toStringCipher,
  type EncryptedField,
  type FieldKey,
} from './index.ts';

const IBAN = 'IT60X0542811101000000123456';

const k1: FieldKey = { id: 'k1', key: randomBytes(32) };
const k2: FieldKey = { id: 'k2', key: randomBytes(32) };

function flip(b64: string): string {
  const buf = Buffer.from(b64, 'base64');
  buf[0] = (buf[0] ?? 0) ^ 0x01;
  return buf.toString('base64');
}

function cryptoError(fn: () => unknown): FieldCryptoError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FieldCryptoError);
    return err as FieldCryptoError;
  }
  throw new Error('expected a FieldCryptoError');
}

describe('field cipher', () => {
  it.each([
    ['an IBAN', IBAN],
    ['an empty string', ''],
    ['unicode', 'Caffè Società — €'],
  ])('when %s is encrypted and decrypted, then it comes back unchanged', (_label, plain) => {
    const cipher = createFieldCipher({ keys: [k1] });
    expect(cipher.decrypt(cipher.encrypt(plain))).toBe(plain);
    expect(cipher.decrypt(cipher.encrypt(plain, 'input.iban'), 'input.iban')).toBe(plain);
  });

  it('when a value is encrypted, then it carries algorithm, key id, a 12-byte random iv, a 16-byte tag and no plaintext', () => {
    const cipher = createFieldCipher({ keys: [k1] });
    const a = cipher.encrypt(IBAN);
    const b = cipher.encrypt(IBAN);
    expect(a).toEqual({ $enc: 'aes-256-gcm', kid: 'k1', iv: expect.any(String), tag: expect.any(String), ct: expect.any(String) });
    expect(Buffer.from(a.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(a.tag, 'base64')).toHaveLength(16);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ct).not.toBe(b.ct);
    expect(JSON.stringify(a)).not.toContain(IBAN);
    expect(cipher.activeKeyId).toBe('k1');
  });

  it('when a new key is put first, then new values use it and values under the old key still decrypt', () => {
    const before = createFieldCipher({ keys: [k1] });
    const old = before.encrypt(IBAN);
    const rotated = createFieldCipher({ keys: [k2, k1] });
    const fresh = rotated.encrypt(IBAN);

    expect(fresh.kid).toBe('k2');
    expect(rotated.decrypt(old)).toBe(IBAN);
    expect(rotated.decrypt(fresh)).toBe(IBAN);
    // A process that has not got the new key yet says so, without the value.
    const err = cryptoError(() => before.decrypt(fresh));
    expect(err.code).toBe('crypto.unknown_key');
    expect(err.message).toContain("'k2'");
  });

  it.each([
    ['ciphertext', (f: EncryptedField): EncryptedField => ({ ...f, ct: flip(f.ct) })],
    ['tag', (f: EncryptedField): EncryptedField => ({ ...f, tag: flip(f.tag) })],
    ['iv', (f: EncryptedField): EncryptedField => ({ ...f, iv: flip(f.iv) })],
    ['key id (relabelled to another known key)', (f: EncryptedField): EncryptedField => ({ ...f, kid: 'k2' })],
    ['truncated tag', (f: EncryptedField): EncryptedField => ({ ...f, tag: f.tag.slice(0, 8) })],
  ])('when the %s is tampered with, then decrypt fails with crypto.decrypt_failed and no plaintext', (_label, tamper) => {
    const cipher = createFieldCipher({ keys: [k1, k2] });
    const err = cryptoError(() => cipher.decrypt(tamper(cipher.encrypt(IBAN))));
    expect(err.code).toBe('crypto.decrypt_failed');
    expect(err.retryable).toBe(false);
    expect(err.message).not.toContain(IBAN);
    expect(JSON.stringify(err)).not.toContain(IBAN);
    expect(err.cause).toBeUndefined();
  });

  it('when the key id matches but the key bytes differ, then decrypt fails', () => {
    const field = createFieldCipher({ keys: [k1] }).encrypt(IBAN);
    const impostor = createFieldCipher({ keys: [{ id: 'k1', key: randomBytes(32) }] });
    expect(cryptoError(() => impostor.decrypt(field)).code).toBe('crypto.decrypt_failed');
  });

  it('when a value is decrypted under another context than it was sealed with, then it fails', () => {
    const cipher = createFieldCipher({ keys: [k1] });
    const field = cipher.encrypt(IBAN, 'input.iban');
    expect(cryptoError(() => cipher.decrypt(field, 'input.other')).code).toBe('crypto.decrypt_failed');
    expect(cryptoError(() => cipher.decrypt(field)).code).toBe('crypto.decrypt_failed');
  });

  it('when the keys are unusable, then building the cipher fails without echoing key material', () => {
    expect(cryptoError(() => createFieldCipher({ keys: [] })).code).toBe('crypto.invalid_keyring');
    const short = randomBytes(31);
    const err = cryptoError(() => createFieldCipher({ keys: [{ id: 'k1', key: short }] }));
    expect(err.code).toBe('crypto.invalid_keyring');
    expect(err.message).not.toContain(short.toString('base64'));
    expect(cryptoError(() => createFieldCipher({ keys: [k1, { ...k2, id: 'k1' }] })).code).toBe('crypto.invalid_keyring');
    expect(cryptoError(() => createFieldCipher({ keys: [{ id: 'bad:id', key: randomBytes(32) }] })).code).toBe(
      'crypto.invalid_keyring',
    );
  });

  it('when the caller later overwrites the key buffer, then the cipher still works (keys are copied)', () => {
    const key = randomBytes(32);
    const cipher = createFieldCipher({ keys: [{ id: 'k9', key }] });
    const field = cipher.encrypt(IBAN);
    key.fill(0);
    expect(cipher.decrypt(field)).toBe(IBAN);
  });
});

describe('isEncrypted', () => {
  const cipher = createFieldCipher({ keys: [k1] });
  it.each([
    ['an encrypted field', cipher.encrypt('x'), true],
    ['a clear string', IBAN, false],
    ['null', null, false],
    ['an array', [], false],
    ['another algorithm', { ...cipher.encrypt('x'), $enc: 'aes-128-cbc' }, false],
    ['a field missing its tag', { $enc: 'aes-256-gcm', kid: 'k1', iv: 'a', ct: 'b' }, false],
  ])('when given %s, then %s', (_label, value, expected) => {
    expect(isEncrypted(value)).toBe(expected);
  });
});

describe('toStringCipher', () => {
  it('when a string is sealed, then it is JSON text without the plaintext that opens back (bound to the context)', () => {
    const cipher = createFieldCipher({ keys: [k1] });
    const s = toStringCipher(cipher, 'onboarding');
    const sealed = s.seal(IBAN);
    expect(sealed).not.toContain(IBAN);
    expect(s.open(sealed)).toBe(IBAN);
    expect(cryptoError(() => toStringCipher(cipher, 'other').open(sealed)).code).toBe('crypto.decrypt_failed');
    expect(cryptoError(() => s.open(IBAN)).code).toBe('crypto.invalid_field');
  });
});
