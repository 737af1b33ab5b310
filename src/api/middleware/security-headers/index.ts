/**
 * Security headers on every response, including problems and 404s:
 * - hono's `secureHeaders` set (`X-Content-Type-Options: nosniff`, `X-Frame-Options`,
 *   `Referrer-Policy: no-referrer`, `Strict-Transport-Security`, cross-origin policies, …);
 * - `Cache-Control: no-store` unless the handler chose a policy itself: API answers carry
 *   personal data (names, addresses, masked IBANs) that no shared or browser cache may keep;
 * - a Content-Security-Policy on the HTML pages (`/docs`, the queue console) that allows only
 *   the gateway's own origin, so the pages work offline and an injected script cannot load.
 */
import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

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

/** Adds the security headers after the handler ran (so they are on every answer). */
export function securityHeaders(opts: SecurityHeadersOptions = {}): MiddlewareHandler {
  const pages = opts.pagePrefixes ?? ['/docs'];
  const base = secureHeaders({ xFrameOptions: 'DENY', crossOriginEmbedderPolicy: false });
  return async function securityHeadersMiddleware(c, next) {
    await base(c, next);
    const h = c.res.headers;
    if (!h.has('Cache-Control')) h.set('Cache-Control', 'no-store');
    const path = c.req.path;
    const page = pages.some((p) => path === p || path.startsWith(`${p}/`));
    if (!h.has('Content-Security-Policy')) h.set('Content-Security-Policy', page ? PAGE_CSP : API_CSP);
  };
}
