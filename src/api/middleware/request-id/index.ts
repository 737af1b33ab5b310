import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { requestId as honoRequestId } from 'hono/request-id';

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
 * `hono/request-id` with our rules: the caller's id is kept when it matches `SAFE_REQUEST_ID`,
 * otherwise one is generated; it is `c.var.requestId` and is returned on every response
 * (errors and raw `Response`s included, which bypass the headers hono prepares).
 */
export function requestId(options: RequestIdOptions = {}): MiddlewareHandler<{ Variables: { requestId: string } }> {
  const headerName = options.headerName ?? REQUEST_ID_HEADER;
  const generate = options.generate ?? randomUUID;
  const hono = honoRequestId({
    headerName,
    limitLength: MAX_REQUEST_ID_LENGTH,
    // hono calls this for an id it refuses: one with a `.` is still ours to keep
    generator: (c) => {
      const incoming = c.req.header(headerName);
      return incoming !== undefined && SAFE_REQUEST_ID.test(incoming) ? incoming : generate();
    },
  });
  return async function requestIdMiddleware(c, next) {
    await hono(c, next);
    const id = c.get('requestId');
    if (c.res.headers.get(headerName) !== id) {
      try {
        c.res.headers.set(headerName, id);
      } catch {
        c.res = new Response(c.res.body, c.res);
        c.res.headers.set(headerName, id);
      }
    }
  };
}
