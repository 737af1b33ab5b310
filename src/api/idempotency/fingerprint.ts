import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted (recursively), no whitespace, so `{"a":1,"b":2}` and
 * `{ "b": 2, "a": 1 }` fingerprint the same. Arrays keep their order (it is meaningful).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    // Null prototype: `out['__proto__'] = …` on a plain object sets its prototype instead of a
    // key, so a body with a `__proto__` member would fingerprint like the body without it.
    const out = Object.create(null) as Record<string, unknown>;
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/**
 * SHA-256 over method, path and the canonical body. A JSON body is canonicalised; anything
 * else (or JSON that does not parse — the handler will reject it) is hashed as sent.
 * Only this hash is ever stored: the body itself may hold an IBAN.
 */
export function requestFingerprint(method: string, path: string, rawBody: string, contentType: string | undefined): string {
  let canonical = rawBody;
  if (rawBody !== '' && isJson(contentType)) {
    try {
      canonical = canonicalJson(JSON.parse(rawBody));
    } catch {
      canonical = rawBody;
    }
  }
  return createHash('sha256')
    .update(method.toUpperCase())
    .update('\n')
    .update(path)
    .update('\n')
    .update(canonical)
    .digest('base64url');
}

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/** Redis key for one (principal, method, path, key) scope: hashed, so no caller text reaches a key name. */
export function scopeKey(prefix: string, principal: string, method: string, path: string, key: string): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([principal, method.toUpperCase(), path, key]))
    .digest('base64url');
  return `${prefix}${digest}`;
}
