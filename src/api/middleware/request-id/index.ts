import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { beginResponseHeaders, finishResponseHeaders, setResponseHeader } from '../response-headers/index.ts';

export const REQUEST_ID_HEADER = 'X-Request-Id';
/** Longest caller-supplied id kept. */
export const MAX_REQUEST_ID_LENGTH = 128;
/**
 * What a caller-supplied id must look like to be kept (log- and header-safe): hono's charset
 * (`[\w=-]`) plus `.`, at most 128 characters.
 */
export const SAFE_REQUEST_ID = /^[A-Za-z0-9_.=-]{1,128}$/;

export interface RequestIdOptions {
  /** header read and written; default `X-Request-Id` */
  headerName?: string;
  /** makes a new id when the caller sent none or an unsafe one; default `crypto.randomUUID` */
  generate?: () => string;
}

/**
 * The request id: the caller's id is kept when it matches `SAFE_REQUEST_ID` (hono's
 * `request-id` rules plus `.`), otherwise one is generated; it is `c.var.requestId` and is
 * returned on every response (errors and raw `Response`s included), through the request's
 * header record (middleware/response-headers).
 */
export function requestId(options: RequestIdOptions = {}): MiddlewareHandler<{ Variables: { requestId: string } }> {
  const headerName = options.headerName ?? REQUEST_ID_HEADER;
  const generate = options.generate ?? randomUUID;
  return async function requestIdMiddleware(c, next) {
    const owner = beginResponseHeaders(c);
    recordRequestId(c, headerName, generate);
    await next();
    if (owner) finishResponseHeaders(c);
  };
}

/**
 * The before-`next()` step of {@link requestId} for a middleware that does more in the same
 * layer (the app's first one): sets `c.var.requestId` and records the header. Needs an open
 * header record ({@link beginResponseHeaders}) to reach every answer.
 */
export function recordRequestId(c: Context, headerName: string = REQUEST_ID_HEADER, generate: () => string = randomUUID): void {
  const incoming = c.req.header(headerName);
  const id = incoming !== undefined && SAFE_REQUEST_ID.test(incoming) ? incoming : generate();
  (c as Context<{ Variables: { requestId: string } }>).set('requestId', id);
  setResponseHeader(c, headerName, id);
}
