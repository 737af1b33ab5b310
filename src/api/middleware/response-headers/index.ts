/**
 * The headers the gateway's middleware add to every answer (request id, security headers,
 * rate-limit state, stale-if-error), collected per request in one plain record and written
 * in one go, instead of one validated WHATWG `Headers.set` per header on the handler's
 * response (issue 8: ~14 such calls and a `Headers` object per request, ~25 µs of CPU).
 *
 * How it works: a middleware calls {@link beginResponseHeaders} and adds its headers with
 * {@link setResponseHeader} / {@link defaultResponseHeader} *before* `next()`. The first
 * middleware of the request to begin owns the record and calls {@link finishResponseHeaders}
 * after `next()`. A handler that answers with {@link jsonResponse} gets them merged into its
 * response's own plain header record — on Node, @hono/node-server writes such a response with
 * `writeHead(status, record)` and never builds a `Headers` object. Any other answer (problems,
 * `c.json`, raw `Response`s, 404s) gets them in the finish step with `Headers.set`, as before.
 *
 * Precedence, on both paths: a default (`Cache-Control`, the CSP) only where the answer has no
 * such header; a set header replaces the answer's own.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { TypedResponse } from 'hono';
import type { JSONParsed } from 'hono/utils/types';

interface PendingHeaders {
  /** headers that replace the answer's own */
  set: Record<string, string>;
  /** headers written only where the answer has none of that name */
  defaults: Record<string, string>;
  /** headers removed from the answer (e.g. `X-Powered-By`) */
  remove: string[];
  /** the response built by {@link jsonResponse} with every header above already in it */
  merged: Response | undefined;
}

const PENDING = Symbol('responseHeaders');
type WithPending = { [PENDING]?: PendingHeaders };

function pendingOf(c: Context): PendingHeaders | undefined {
  return (c as unknown as WithPending)[PENDING];
}

/**
 * Opens the request's header record if no middleware did; returns `true` when this call opened
 * it (the caller then owns {@link finishResponseHeaders}).
 */
export function beginResponseHeaders(c: Context): boolean {
  const holder = c as unknown as WithPending;
  if (holder[PENDING]) return false;
  holder[PENDING] = { set: {}, defaults: {}, remove: [], merged: undefined };
  return true;
}

/** Adds a header that replaces the answer's own (outside a record: `c.header`). */
export function setResponseHeader(c: Context, name: string, value: string): void {
  const p = pendingOf(c);
  if (p) p.set[name] = value;
  else c.header(name, value);
}

function opened(c: Context): PendingHeaders {
  const p = pendingOf(c);
  if (!p) throw new Error('beginResponseHeaders() was not called for this request');
  return p;
}

/** Adds a header written only where the answer has none of that name (after {@link beginResponseHeaders}). */
export function defaultResponseHeader(c: Context, name: string, value: string): void {
  opened(c).defaults[name] = value;
}

/** Removes a header from the answer, whoever set it (after {@link beginResponseHeaders}). */
export function removeResponseHeader(c: Context, name: string): void {
  opened(c).remove.push(name);
}

/**
 * Writes the record onto `c.res` unless the answer already carries it ({@link jsonResponse}).
 * Headers of a `Response` that cannot be changed (a fetched one) are copied into a new one.
 */
export function finishResponseHeaders(c: Context): void {
  const holder = c as unknown as WithPending;
  const p = holder[PENDING];
  holder[PENDING] = undefined;
  if (!p || (p.merged !== undefined && c.res === p.merged)) return;
  try {
    apply(c.res.headers, p);
  } catch {
    c.res = new Response(c.res.body, c.res);
    apply(c.res.headers, p);
  }
}

function apply(h: Headers, p: PendingHeaders): void {
  for (const name of p.remove) h.delete(name);
  for (const name in p.defaults) if (!h.has(name)) h.set(name, p.defaults[name] as string);
  for (const name in p.set) h.set(name, p.set[name] as string);
}

/**
 * `c.json(value, status)` with the request's header record merged into the response's own
 * plain record (see the module comment). Use it only where nothing called `c.header()` before
 * (headers go through {@link setResponseHeader}); outside a record it is `c.json`.
 */
export function jsonResponse<T, S extends ContentfulStatusCode>(
  c: Context,
  value: T,
  status: S,
): Response & TypedResponse<JSONParsed<T>, S, 'json'> {
  const p = pendingOf(c);
  if (!p) return c.json(value as object, status) as unknown as Response & TypedResponse<JSONParsed<T>, S, 'json'>;
  const headers: Record<string, string> = {};
  for (const name in p.defaults) headers[name] = p.defaults[name] as string;
  headers['Content-Type'] = 'application/json';
  for (const name in p.set) headers[name] = p.set[name] as string;
  const res = new Response(JSON.stringify(value), { status, headers });
  p.merged = res;
  return res as Response & TypedResponse<JSONParsed<T>, S, 'json'>;
}

/** Opens and finishes a record for the middleware after it (for apps without another owner). */
export function responseHeaders(): MiddlewareHandler {
  return async function responseHeadersMiddleware(c, next) {
    const owner = beginResponseHeaders(c);
    await next();
    if (owner) finishResponseHeaders(c);
  };
}
