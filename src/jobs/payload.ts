import { maskIban } from '../domain/iban.ts';

/**
 * What the job layer needs from the field cipher (`src/jobs/crypto`, `createFieldCipher`):
 * encrypt and decrypt one string. Kept this small so the job layer does not depend on the
 * cipher's key handling; `main.ts` adapts the real cipher to it.
 */
export interface PayloadCipher {
  seal(plain: string): string;
  open(sealed: string): string;
}

/** Field names whose values are sensitive wherever they appear in an operation input. */
export const SENSITIVE_FIELDS: ReadonlySet<string> = new Set(['iban']);

/** A sealed value as stored: an object, so it can never be mistaken for (or logged as) the clear string. */
interface Sealed {
  $sealed: string;
}

function isSealed(v: unknown): v is Sealed {
  return typeof v === 'object' && v !== null && typeof (v as Sealed).$sealed === 'string' && Object.keys(v).length === 1;
}

function walk(value: unknown, onSensitive: (v: unknown) => unknown, sensitive: boolean): unknown {
  if (sensitive) return onSensitive(value);
  if (Array.isArray(value)) return value.map((v) => walk(v, onSensitive, false));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, onSensitive, SENSITIVE_FIELDS.has(k));
    return out;
  }
  return value;
}

/** Deep copy with every sensitive string replaced by `{ $sealed }`. Run before anything reaches Redis. */
export function sealPayload(value: unknown, cipher: PayloadCipher): unknown {
  return walk(value, (v) => (typeof v === 'string' ? { $sealed: cipher.seal(v) } : v), false);
}

/** Inverse of `sealPayload`; only the worker calls it, right before the service call. */
export function openPayload(value: unknown, cipher: PayloadCipher): unknown {
  return walk(value, (v) => (isSealed(v) ? cipher.open(v.$sealed) : v), false);
}

/**
 * For operators (dead letters): sensitive fields masked (`IT**…1234`). Sealed values are
 * opened only to compute the mask; one that cannot be opened is shown fully masked.
 */
export function maskPayload(value: unknown, cipher: PayloadCipher): unknown {
  return walk(
    value,
    (v) => {
      if (isSealed(v)) {
        try {
          return maskIban(cipher.open(v.$sealed));
        } catch {
          return '****';
        }
      }
      return typeof v === 'string' ? maskIban(v) : v;
    },
    false,
  );
}
