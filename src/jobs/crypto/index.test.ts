import { randomBytes, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import {
  createFieldCipher,
  FieldCryptoError,
  isEncrypted,
  MASK_ENCRYPTED,
  MASK_UNDECRYPTABLE,
  maskFields,
  parseKeyring,
  toStringCipher,
  type EncryptedField,
  type FieldKey,
} from './index.ts';
import { maskIban } from '../../domain/iban.ts';

const IBAN = 'IT60X0542811101000000123456';
const IBAN_MASKED = 'IT**************3456';

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

describe('sealFields / openFields', () => {
  const cipher = createFieldCipher({ keys: [k1] });
  const payload = {
    kind: 'merchant.onboard',
    input: { legalName: 'Bar Roma', iban: IBAN, address: { city: 'Roma' } },
    accounts: [{ iban: IBAN }, { iban: null }],
  };

  it('when fields are sealed, then the JSON holds no clear IBAN, the original is untouched and open restores it', () => {
    const sealed = cipher.sealFields(payload, ['input.iban', 'accounts.0.iban', 'accounts.1.iban']);
    const json = JSON.stringify(sealed);

    expect(json).not.toContain(IBAN);
    expect(json).not.toContain(IBAN.slice(-10));
    expect(isEncrypted((sealed.input as Record<string, unknown>).iban)).toBe(true);
    expect((sealed.accounts as Array<Record<string, unknown>>)[1]?.iban).toBeNull();
    expect(payload.input.iban).toBe(IBAN);
    // Untouched branches are shared, touched ones copied.
    expect((sealed.input as Record<string, unknown>).address).toBe(payload.input.address);
    expect(sealed.input).not.toBe(payload.input);

    const opened = cipher.openFields(JSON.parse(json) as object, ['input.iban', 'accounts.0.iban', 'accounts.1.iban']);
    expect(opened).toEqual(payload);
  });

  it('when a path is missing or already sealed, then it is left alone', () => {
    const once = cipher.sealFields(payload, ['input.iban', 'input.nothing.here', 'absent']);
    const twice = cipher.sealFields(once, ['input.iban']);
    expect(twice).toBe(once);
    expect(cipher.openFields(twice, ['input.iban'])).toEqual(payload);
  });

  it('when a path holds something other than a string, then sealing fails naming the path only', () => {
    const err = cryptoError(() => cipher.sealFields({ input: { iban: 12345 } }, ['input.iban']));
    expect(err.code).toBe('crypto.invalid_field');
    expect(err.message).toContain('input.iban');
    expect(err.message).not.toContain('12345');
  });

  it('when a path would reach the prototype, then it is refused', () => {
    expect(cryptoError(() => cipher.sealFields({}, ['__proto__.polluted'])).code).toBe('crypto.invalid_field');
    expect(cryptoError(() => cipher.sealFields({}, ['a..b'])).code).toBe('crypto.invalid_field');
  });

  it('when a sealed value is moved to another field, then it does not open there', () => {
    const sealed = cipher.sealFields({ input: { iban: IBAN } }, ['input.iban']);
    const moved = { other: { iban: (sealed.input as Record<string, unknown>).iban } };
    expect(cryptoError(() => cipher.openFields(moved, ['other.iban'])).code).toBe('crypto.decrypt_failed');
  });

  it('when a sealed payload goes through a BullMQ queue, then no key or value in Redis holds the IBAN and the worker can open it', async () => {
    const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
    const prefix = `lgw-test-crypto-${randomUUID()}`;
    const queue = new Queue('onboarding', { connection, prefix });
    try {
      const job = await queue.add('merchant.onboard', cipher.sealFields(payload, ['input.iban', 'accounts.0.iban']));
      const dump: string[] = [];
      for (const key of await connection.keys(`${prefix}:*`)) {
        const type = await connection.type(key);
        const value =
          type === 'hash' ? JSON.stringify(await connection.hgetall(key))
          : type === 'string' ? await connection.get(key)
          : type === 'list' ? JSON.stringify(await connection.lrange(key, 0, -1))
          : type === 'zset' ? JSON.stringify(await connection.zrange(key, '0', '-1'))
          : type === 'stream' ? JSON.stringify(await connection.xrange(key, '-', '+'))
          : type;
        dump.push(`${key}=${value ?? ''}`);
      }
      expect(dump.length).toBeGreaterThan(0);
      expect(dump.join('\n')).not.toContain(IBAN);

      const stored = await queue.getJob(job.id ?? '');
      expect(cipher.openFields(stored?.data as object, ['input.iban', 'accounts.0.iban'])).toEqual(payload);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
    }
  });
});

describe('maskFields / maskIban', () => {
  const cipher = createFieldCipher({ keys: [k1] });

  it.each([
    ['a compact IBAN', IBAN, IBAN_MASKED],
    ['a grouped lower-case IBAN', 'it60 x054 2811 1010 0000 0123 456', IBAN_MASKED],
    ['an already masked IBAN', IBAN_MASKED, IBAN_MASKED],
    ['something that is not an IBAN', 'hunter2-secret', '****'],
    ['an empty string', '', '****'],
  ])('when masking %s, then %s', (_label, value, expected) => {
    expect(maskIban(value)).toBe(expected);
  });

  it('when a clear payload is masked for display, then the IBAN shows country and last 4 only', () => {
    const masked = maskFields({ input: { iban: IBAN, legalName: 'Bar Roma' } }, ['input.iban']);
    expect(masked).toEqual({ input: { iban: IBAN_MASKED, legalName: 'Bar Roma' } });
  });

  it('when a sealed payload is masked with the cipher, then it is decrypted only to build the mask', () => {
    const sealed = cipher.sealFields({ input: { iban: IBAN } }, ['input.iban']);
    const masked = maskFields(sealed, ['input.iban'], { cipher });
    expect(masked).toEqual({ input: { iban: IBAN_MASKED } });
    expect(JSON.stringify(masked)).not.toContain(IBAN);
  });

  it('when a sealed payload is masked without the cipher, or cannot be decrypted, then it shows a placeholder', () => {
    const sealed = cipher.sealFields({ input: { iban: IBAN } }, ['input.iban']);
    expect(maskFields(sealed, ['input.iban'])).toEqual({ input: { iban: MASK_ENCRYPTED } });
    const stranger = createFieldCipher({ keys: [k2] });
    expect(maskFields(sealed, ['input.iban'], { cipher: stranger })).toEqual({ input: { iban: MASK_UNDECRYPTABLE } });
  });
});

describe('parseKeyring', () => {
  const b64 = (k: FieldKey): string => k.key.toString('base64');

  it('when given two keys, then the first is the encrypting key and both decrypt', () => {
    const keys = parseKeyring(` k2:${b64(k2)} , k1:${b64(k1)} `);
    expect(keys.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(keys[0]?.key.equals(k2.key)).toBe(true);
    const cipher = createFieldCipher({ keys });
    expect(cipher.activeKeyId).toBe('k2');
    expect(cipher.decrypt(createFieldCipher({ keys: [k1] }).encrypt(IBAN))).toBe(IBAN);
  });

  it.each([
    ['empty', ''],
    ['no id', `:${b64(k1)}`],
    ['no separator', b64(k1)],
    ['a short key', `k1:${randomBytes(16).toString('base64')}`],
    ['a long key', `k1:${randomBytes(48).toString('base64')}`],
    ['not base64', 'k1:not*base64!'],
    ['a duplicate id', `k1:${b64(k1)},k1:${b64(k2)}`],
    ['an empty key', 'k1:'],
  ])('when the setting has %s, then crypto.invalid_keyring without key material', (_label, setting) => {
    const err = cryptoError(() => parseKeyring(setting));
    expect(err.code).toBe('crypto.invalid_keyring');
    const material = setting.split(',').map((e) => e.split(':')[1] ?? e);
    for (const m of material) if (m.length > 8) expect(err.message).not.toContain(m);
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
