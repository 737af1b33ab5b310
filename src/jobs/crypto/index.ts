import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { FieldCryptoError } from './field-crypto-error.ts';

export { FieldCryptoError, type FieldCryptoErrorCode } from './field-crypto-error.ts';

/**
 * Field-level encryption for job payloads: an IBAN (or any secret string) never sits in
 * Redis in clear. AES-256-GCM with a random 96-bit IV per value; the key id travels with the
 * value so keys can rotate (the first key encrypts, every key decrypts).
 *
 * Associated data binds each value to `lgw-field/v1`, its key id and an optional context (the
 * field path when sealing), so a ciphertext copied to another field, or relabelled with
 * another key id, does not decrypt.
 */

export const FIELD_ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface FieldKey {
  /** key id stored with every value: letters, digits, `.`, `_`, `-` (1–64) */
  id: string;
  /** 32 random bytes */
  key: Buffer;
}

/** An encrypted string as stored in a job payload (JSON-safe, all parts base64). */
export interface EncryptedField {
  $enc: typeof FIELD_ALGORITHM;
  kid: string;
  iv: string;
  tag: string;
  ct: string;
}

export interface FieldCipherOptions {
  /** First key encrypts; all keys decrypt. Put the new key first to rotate. */
  keys: readonly FieldKey[];
}

export interface FieldCipher {
  /** id of the key that encrypts */
  readonly activeKeyId: string;
  /** Encrypts `plain`; `context` (e.g. the field path) must be given again to decrypt. */
  encrypt(plain: string, context?: string): EncryptedField;
  /** Throws `FieldCryptoError` (`crypto.unknown_key` / `crypto.decrypt_failed` / `crypto.invalid_field`). */
  decrypt(field: EncryptedField, context?: string): string;
}

/** True for a value shaped like an `EncryptedField` (it says nothing about the key). */
export function isEncrypted(x: unknown): x is EncryptedField {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const f = x as Record<string, unknown>;
  return (
    f.$enc === FIELD_ALGORITHM &&
    typeof f.kid === 'string' &&
    typeof f.iv === 'string' &&
    typeof f.tag === 'string' &&
    typeof f.ct === 'string'
  );
}

/** Builds a cipher over a keyring (PAYLOAD_ENCRYPTION_KEYS, parsed by src/config.ts). Key bytes are copied. */
export function createFieldCipher(options: FieldCipherOptions): FieldCipher {
  const keys = validateKeys(options.keys);
  const [active] = keys;
  if (active === undefined) throw new FieldCryptoError('crypto.invalid_keyring', 'at least one key is required');
  const activeId = active.id;
  const activeKey = active.key;
  const byId = new Map(keys.map((k) => [k.id, k.key]));

  function encrypt(plain: string, context?: string): EncryptedField {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(FIELD_ALGORITHM, activeKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(activeId, context));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return {
      $enc: FIELD_ALGORITHM,
      kid: activeId,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ct: ct.toString('base64'),
    };
  }

  function decrypt(field: EncryptedField, context?: string): string {
    if (!isEncrypted(field)) throw new FieldCryptoError('crypto.invalid_field', 'not an encrypted field');
    const key = byId.get(field.kid);
    if (key === undefined) {
      throw new FieldCryptoError('crypto.unknown_key', `no key with id '${safeId(field.kid)}' in the keyring`);
    }
    const iv = Buffer.from(field.iv, 'base64');
    const tag = Buffer.from(field.tag, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new FieldCryptoError('crypto.decrypt_failed', 'encrypted field has a malformed iv or tag');
    }
    try {
      const decipher = createDecipheriv(FIELD_ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(field.kid, context));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(field.ct, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      // No cause attached: keep the error plain data, safe to log and to store in Redis.
      throw new FieldCryptoError(
        'crypto.decrypt_failed',
        `encrypted field did not authenticate with key '${field.kid}'${context === undefined ? '' : ` for '${context}'`} (tampered, wrong key or wrong field)`,
      );
    }
  }

  return {
    activeKeyId: activeId,
    encrypt,
    decrypt,
  };
}

function validateKeys(keys: readonly FieldKey[]): FieldKey[] {
  if (keys.length === 0) throw new FieldCryptoError('crypto.invalid_keyring', 'at least one key is required');
  const seen = new Set<string>();
  return keys.map(({ id, key }) => {
    if (!KEY_ID.test(id)) {
      throw new FieldCryptoError('crypto.invalid_keyring', `key id '${safeId(id)}' must be 1-64 of [A-Za-z0-9._-]`);
    }
    if (seen.has(id)) throw new FieldCryptoError('crypto.invalid_keyring', `key id '${id}' appears twice`);
    seen.add(id);
    if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
      throw new FieldCryptoError('crypto.invalid_keyring', `key '${id}' must be ${KEY_BYTES} bytes, got ${Buffer.isBuffer(key) ? key.length : 'no buffer'}`);
    }
    return { id, key: Buffer.from(key) };
  });
}

function aad(kid: string, context: string | undefined): Buffer {
  return Buffer.from(`lgw-field/v1\0${kid}\0${context ?? ''}`, 'utf8');
}

/** A key id as it may appear in a message: only when it looks like one (it comes from Redis). */
function safeId(id: string): string {
  return KEY_ID.test(id) ? id : '<invalid id>';
}

/** String-in, string-out view of a cipher (the shape `src/jobs/payload.ts` asks for as `PayloadCipher`). */
export interface StringCipher {
  /** the encrypted field as a JSON string */
  seal(plain: string): string;
  open(sealed: string): string;
}

/**
 * Adapts a cipher to seal single strings into JSON text. `context`, when given, is bound to
 * every value (e.g. a payload kind), so values from one kind do not open under another.
 */
export function toStringCipher(cipher: FieldCipher, context?: string): StringCipher {
  return {
    seal: (plain) => JSON.stringify(cipher.encrypt(plain, context)),
    open: (sealed) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(sealed);
      } catch {
        throw new FieldCryptoError('crypto.invalid_field', 'sealed value is not an encrypted field');
      }
      if (!isEncrypted(parsed)) throw new FieldCryptoError('crypto.invalid_field', 'sealed value is not an encrypted field');
      return cipher.decrypt(parsed, context);
    },
  };
}
