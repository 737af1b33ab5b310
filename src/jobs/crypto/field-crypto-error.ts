export type FieldCryptoErrorCode =
  /** the keyring string or key list is unusable (bad format, wrong length, duplicate id) */
  | 'crypto.invalid_keyring'
  /** the field names a key id this process does not hold (rotated out, other environment) */
  | 'crypto.unknown_key'
  /** authentication failed: tampered, wrong key bytes, or opened under another context/path */
  | 'crypto.decrypt_failed'
  /** the value is not an encrypted field, or a path to seal holds something other than a string */
  | 'crypto.invalid_field';

/**
 * Encryption or decryption of a sensitive field failed. Messages name key ids and paths,
 * never a plaintext, ciphertext or key. Never retryable: a retry cannot fix a key problem
 * (decisions use `code`/`retryable`, the error may have crossed Redis as plain data).
 */
export class FieldCryptoError extends Error {
  readonly code: FieldCryptoErrorCode;
  readonly retryable = false;

  constructor(code: FieldCryptoErrorCode, message: string) {
    super(message);
    this.name = 'FieldCryptoError';
    this.code = code;
  }
}
