/**
 * Security headers on every response, including problems and 404s:
 * - hono's `secureHeaders` set (`X-Content-Type-Options: nosniff`, `X-Frame-Options`,
 *   `Referrer-Policy: no-referrer`, `Strict-Transport-Security`, cross-origin policies, …);
 * - `Cache-Control: no-store` unless the handler chose a policy itself: API answers carry
 *   personal data (names, addresses, masked IBANs) that no shared or browser cache may keep;
 * - a Content-Security-Policy on the HTML pages (`/docs`, the queue console) that allows only
 *   the gateway's own origin, so the pages work offline and an injected script cannot load.
 */
import type { Context, MiddlewareHandler } from 'hono';
import {
  beginResponseHeaders,
  defaultResponseHeader,
  finishResponseHeaders,
  removeResponseHeader,
  setResponseHeader,
} from '../response-headers/index.ts';

/**
 * The pages' policy: scripts and styles from the gateway only. Inline *styles* are allowed
 * because Swagger UI and bull-board set style attributes from React; inline scripts are not.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** For JSON answers: nothing may be loaded or framed in their name. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

export interface SecurityHeadersOptions {
  /** path prefixes whose responses are HTML pages (they get {@link PAGE_CSP}); default `['/docs']` */
  pagePrefixes?: readonly string[];
}

/**
 * What hono's `secureHeaders({ xFrameOptions: 'DENY', crossOriginEmbedderPolicy: false })` sets
 * (its defaults otherwise), precomputed: the test beside this file proves it is the same set.
 */
export const SECURE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Origin-Agent-Cluster': '?1',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=15552000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'X-DNS-Prefetch-Control': 'off',
  'X-Download-Options': 'noopen',
  'X-Frame-Options': 'DENY',
  'X-Permitted-Cross-Domain-Policies': 'none',
  'X-XSS-Protection': '0',
});
const SECURE_HEADER_ENTRIES = Object.entries(SECURE_HEADERS);

/**
 * Adds the security headers to every answer, through the request's header record
 * (middleware/response-headers: written in one go with the answer when it can be).
 */
export function securityHeaders(opts: SecurityHeadersOptions = {}): MiddlewareHandler {
  const pages = opts.pagePrefixes ?? ['/docs'];
  return async function securityHeadersMiddleware(c, next) {
    const owner = beginResponseHeaders(c);
    recordSecurityHeaders(c, pages);
    await next();
    if (owner) finishResponseHeaders(c);
  };
}

/**
 * The before-`next()` step of {@link securityHeaders} for a middleware that does more in the
 * same layer (the app's first one). Needs an open header record ({@link beginResponseHeaders}).
 */
export function recordSecurityHeaders(c: Context, pagePrefixes: readonly string[] = ['/docs']): void {
  for (const [name, value] of SECURE_HEADER_ENTRIES) setResponseHeader(c, name, value);
  removeResponseHeader(c, 'X-Powered-By');
  defaultResponseHeader(c, 'Cache-Control', 'no-store');
  const path = c.req.path;
  const page = pagePrefixes.some((p) => path === p || path.startsWith(`${p}/`));
  defaultResponseHeader(c, 'Content-Security-Policy', page ? PAGE_CSP : API_CSP);
}
