/**
 * RFC 9457 problem details: the only error shape the API sends.
 *
 * Every error response is `application/problem+json` with
 * `{ type, title, status, detail, instance, code, requestId, errors? }`. `type` is
 * `https://legacy-gateway.dev/problems/<code>`. Domain errors are mapped by `kind` (never by
 * `instanceof`: errors may have crossed a process boundary), see `problemFromError`.
 */
import type { Context } from 'hono';
import { isGatewayErrorLike, type ErrorKind } from '../domain/errors/index.ts';

export const PROBLEM_TYPE_BASE = 'https://legacy-gateway.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
/** Retry-After sent with a 503 when the error does not say how long to wait. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

export interface ProblemFieldError {
  /** path in API terms, e.g. `address.postalCode` */
  field: string;
  reason: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  requestId: string;
  errors?: ProblemFieldError[];
}

interface CatalogEntry {
  status: number;
  title: string;
  /** default `detail` and the description in the OpenAPI document */
  detail: string;
}

/**
 * Codes the API itself defines. Domain errors of a 4xx kind keep their own namespaced code
 * (e.g. `merchant.mcc_not_allowed`) when it is safe to show; see `problemFromError`.
 */
export const PROBLEM_CATALOG = {
  'request.malformed_body': { status: 400, title: 'Malformed request body', detail: 'The request body is not well-formed JSON.' },
  'request.unsupported_media_type': { status: 415, title: 'Unsupported media type', detail: 'Send the request body as application/json.' },
  'request.body_too_large': { status: 413, title: 'Request body too large', detail: 'The request body exceeds the size limit.' },
  'request.rate_limited': { status: 429, title: 'Too many requests', detail: 'This client sent too many requests of this kind; retry after the time in Retry-After.' },
  'request.validation_failed': { status: 422, title: 'Invalid request', detail: 'The request has invalid fields; see `errors`.' },
  'request.cursor_invalid': { status: 422, title: 'Invalid cursor', detail: 'The cursor is not one this API issued.' },
  'request.cursor_mismatch': { status: 422, title: 'Cursor does not match the query', detail: 'The cursor was issued for a different list, filter or page size.' },
  'route.not_found': { status: 404, title: 'Not found', detail: 'No resource at this path.' },
  'method.not_allowed': { status: 405, title: 'Method not allowed', detail: 'The resource does not support this method; see the Allow header.' },
  'auth.token_missing': { status: 401, title: 'Authentication required', detail: 'Send a bearer token in the Authorization header.' },
  'auth.token_invalid': { status: 401, title: 'Invalid token', detail: 'The bearer token is not valid.' },
  'auth.token_expired': { status: 401, title: 'Token expired', detail: 'The bearer token has expired.' },
  'auth.insufficient_scope': { status: 403, title: 'Insufficient scope', detail: 'The token lacks a scope this operation requires.' },
  'auth.unavailable': { status: 503, title: 'Authentication unavailable', detail: 'Tokens cannot be verified right now; retry later.' },
  'merchant.not_found': { status: 404, title: 'Merchant not found', detail: 'No merchant with this id.' },
  'partner.not_found': { status: 404, title: 'Partner not found', detail: 'No partner with this id.' },
  'terminal.not_found': { status: 404, title: 'Terminal not found', detail: 'No terminal with this id.' },
  'resource.not_found': { status: 404, title: 'Not found', detail: 'The resource does not exist.' },
  'resource.conflict': { status: 409, title: 'Conflict', detail: 'The request conflicts with the current state of the resource.' },
  'operation.discarded': { status: 409, title: 'Discarded by an operator', detail: 'An operator discarded this operation; it will not be applied.' },
  'business.rejected': { status: 422, title: 'Request refused', detail: 'The request was refused for a business reason.' },
  'upstream.unavailable': { status: 503, title: 'Service unavailable', detail: 'A backing system is unavailable; retry after the time in Retry-After.' },
  'upstream.timeout': { status: 504, title: 'Upstream timeout', detail: 'A backing system did not answer in time; the change may or may not have been applied. Read the resource before retrying a write (or retry with the same Idempotency-Key).' },
  'upstream.bad_response': { status: 502, title: 'Bad upstream response', detail: 'A backing system sent an answer the gateway could not understand.' },
  'internal.error': { status: 500, title: 'Internal error', detail: 'An unexpected error occurred. Quote the requestId when reporting it.' },
} as const satisfies Record<string, CatalogEntry>;

export type ProblemCode = keyof typeof PROBLEM_CATALOG;

const KIND_FALLBACK: Record<ErrorKind, ProblemCode> = {
  validation: 'request.validation_failed',
  not_found: 'resource.not_found',
  conflict: 'resource.conflict',
  business: 'business.rejected',
  unavailable: 'upstream.unavailable',
  timeout: 'upstream.timeout',
  translation: 'upstream.bad_response',
};

export interface ProblemInit {
  status: number;
  code: string;
  title: string;
  detail: string;
  errors?: ProblemFieldError[];
  headers?: Record<string, string>;
}

/** A problem init for an API-defined code, with optional overrides. */
export function problem(
  code: ProblemCode,
  overrides: Partial<Omit<ProblemInit, 'code' | 'status' | 'title'>> = {},
): ProblemInit {
  const entry: CatalogEntry = PROBLEM_CATALOG[code];
  return { status: entry.status, code, title: entry.title, detail: entry.detail, ...overrides };
}

/**
 * Thrown anywhere in a request to answer with a problem; the app's error handler renders it.
 * (Middleware may also return `problemResponse` directly.)
 */
export class ProblemError extends Error {
  readonly problem: ProblemInit;
  constructor(init: ProblemInit) {
    super(init.detail);
    this.name = 'ProblemError';
    this.problem = init;
  }
}

/** Renders a problem as a `Response` (content type, request id, extra headers). */
export function problemResponse(c: Context, init: ProblemInit): Response {
  const requestId = readRequestId(c);
  const body: ProblemBody = {
    type: PROBLEM_TYPE_BASE + init.code,
    title: init.title,
    status: init.status,
    detail: init.detail,
    instance: c.req.path,
    code: init.code,
    requestId,
    ...(init.errors && init.errors.length > 0 ? { errors: init.errors } : {}),
  };
  const headers = new Headers(init.headers);
  headers.set('Content-Type', PROBLEM_CONTENT_TYPE);
  headers.set('Cache-Control', 'no-store');
  if (requestId) headers.set('X-Request-Id', requestId);
  return new Response(JSON.stringify(body), { status: init.status, headers });
}

function readRequestId(c: Context): string {
  const v: unknown = c.get('requestId');
  return typeof v === 'string' ? v : '';
}

/** Namespaced lowercase codes (`merchant.mcc_not_allowed`): anything else is not shown. */
const SAFE_CODE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
/** Text that must never reach a caller: IBAN-like strings, legacy return codes and markers. */
const UNSAFE_TEXT = [
  /[A-Za-z]{2}\d{2}[A-Za-z0-9*]{11,30}|[A-Z]{2}\d{2}(?: ?[A-Z0-9*]{4}){3,}/, // IBAN-like: compact or grouped in fours
  /\bE\d{3}\b|\bCRM-|\bTMO-/, // legacy return codes and fault markers
  /\b[A-Z]{2,}_[A-Z_]+\b/, // legacy UPPER_SNAKE field names
  /soap:|fault|<\/?[A-Za-z]/i, // SOAP / XML fragments
];
const MAX_TEXT = 300;

/** The caller-facing text of a domain message, or `fallback` if it looks unsafe to show. */
export function safeText(text: unknown, fallback: string): string {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_TEXT) return fallback;
  return UNSAFE_TEXT.some((re) => re.test(text)) ? fallback : text;
}

export interface MappedError {
  init: ProblemInit;
  /** true when the error is the server's or a backing system's fault (log at warn/error) */
  serverSide: boolean;
}

/**
 * Maps anything thrown to a problem. Domain errors by `kind`: 4xx kinds keep their code when
 * it is a safe namespaced code and their message when it looks safe; 5xx kinds always get the
 * API's generic code and text (system details are logged, not shown). Unknown errors → 500
 * with a generic text: never a message, stack or cause.
 */
export function problemFromError(err: unknown): MappedError {
  if (err instanceof ProblemError) return { init: err.problem, serverSide: err.problem.status >= 500 };
  if (!isGatewayErrorLike(err)) return { init: problem('internal.error'), serverSide: true };

  const fallback = KIND_FALLBACK[err.kind];
  const generic: CatalogEntry = PROBLEM_CATALOG[fallback];
  switch (err.kind) {
    case 'unavailable': {
      const raw = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
      const seconds = typeof raw === 'number' && Number.isFinite(raw) && raw > 0 ? Math.ceil(raw) : DEFAULT_RETRY_AFTER_SECONDS;
      return { init: problem(fallback, { headers: { 'Retry-After': String(seconds) } }), serverSide: true };
    }
    case 'timeout':
    case 'translation':
      return { init: problem(fallback), serverSide: true };
    default: {
      const code = SAFE_CODE.test(err.code) ? err.code : fallback;
      const fields = Array.isArray(err.fields) ? err.fields : [];
      const errors = fields
        .filter((f) => typeof f?.field === 'string')
        .map((f) => ({ field: safeText(f.field, 'body'), reason: safeText(f.reason, 'is invalid') }));
      return {
        init: {
          status: generic.status,
          code,
          title: generic.title,
          detail: safeText(err.message, generic.detail),
          ...(errors.length > 0 ? { errors } : {}),
        },
        serverSide: false,
      };
    }
  }
}
