import { maskIban } from '../domain/iban.ts';
import { isGatewayErrorLike } from '../domain/errors/index.ts';
import type { StoredError } from './types.ts';

// IBAN: 2 letters, 2 check digits, 11–30 alphanumerics, possibly grouped by spaces.
const IBAN_RE = /\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b/gi;
// Credentials that a transport error might quote (URLs with user:pass, auth headers, WS-Security).
const URL_CREDENTIALS_RE = /\/\/[^/\s:@]+:[^/\s@]+@/g;
const AUTH_HEADER_RE = /\b(authorization|basic|bearer)\b\s*[:=]?\s*\S+/gi;
const PASSWORD_RE = /\b(password|passwd|pwd|secret|token)\b\s*[:=]\s*\S+/gi;
const PASSWORD_ELEMENT_RE = /<([\w:]*Password)[^>]*>[^<]*<\/\1>/gi;

const MAX_MESSAGE = 300;

/**
 * Makes a message safe for Redis, logs and problem bodies: IBAN-like strings masked,
 * credentials redacted, length bounded. Defence in depth: adapters should never put such
 * data in a message, but a job record lives for days and is shown to operators.
 */
export function sanitizeMessage(message: string): string {
  const clean = message
    .replace(PASSWORD_ELEMENT_RE, '<$1>[redacted]</$1>')
    .replace(URL_CREDENTIALS_RE, '//[redacted]@')
    .replace(AUTH_HEADER_RE, '$1 [redacted]')
    .replace(PASSWORD_RE, '$1=[redacted]')
    .replace(IBAN_RE, (m) => maskIban(m));
  return clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE - 1)}…` : clean;
}

/**
 * A failure as data, safe to keep: gateway errors keep kind/code/retryable/fields/system
 * with a sanitized message; anything else becomes an `internal` translation-kind error whose
 * message is not kept (it could be anything, including a stack with payload values).
 */
export function toStoredError(err: unknown): StoredError {
  if (isGatewayErrorLike(err)) {
    return {
      name: typeof err.name === 'string' ? err.name : 'GatewayError',
      kind: err.kind,
      code: err.code,
      message: sanitizeMessage(typeof err.message === 'string' ? err.message : ''),
      retryable: err.retryable === true,
      fields: Array.isArray(err.fields)
        ? err.fields.map((f) => ({ field: sanitizeMessage(String(f.field)), reason: sanitizeMessage(String(f.reason)) }))
        : [],
      ...(typeof err.system === 'string' ? { system: err.system } : {}),
    };
  }
  return {
    name: 'InternalError',
    kind: 'translation',
    code: 'gateway.internal',
    message: 'The operation failed unexpectedly',
    retryable: false,
    fields: [],
  };
}
