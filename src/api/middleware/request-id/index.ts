import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

export const REQUEST_ID_HEADER = 'X-Request-Id';
/** What a caller-supplied id must look like to be kept (log- and header-safe). */
export const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export interface RequestIdOptions {
  /** header read and written; default `X-Request-Id` */
  headerName?: string;
  /** makes a new id when the caller sent none or an unsafe one; default `crypto.randomUUID` */
  generate?: () => string;
}

/**
 * Accepts the caller's request id when it matches `SAFE_REQUEST_ID`, otherwise generates one;
 * stores it as `c.var.requestId` and returns it on every response (errors included).
 */
export function requestId(options: RequestIdOptions = {}): MiddlewareHandler<{ Variables: { requestId: string } }> {
  const headerName = options.headerName ?? REQUEST_ID_HEADER;
  const generate = options.generate ?? randomUUID;
  return async function requestIdMiddleware(c, next) {
    const incoming = c.req.header(headerName);
    const id = incoming !== undefined && SAFE_REQUEST_ID.test(incoming) ? incoming : generate();
    c.set('requestId', id);
    c.header(headerName, id);
    await next();
    // Responses built with `new Response` (problems, sub-apps) bypass prepared headers.
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
