import type { Context, MiddlewareHandler, Next } from 'hono';
import type { ApiEnv } from '../env.ts';
import { problem, problemResponse } from '../problem.ts';
import type { Authenticator } from './authenticator.ts';

const REALM = 'legacy-gateway';
const BEARER = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i;

function quoted(s: string): string {
  return `"${s.replace(/["\\]/g, '')}"`;
}

/**
 * Requires a valid bearer token (RFC 6750) and stores the principal as `c.var.principal`.
 * Missing → 401 `auth.token_missing`; invalid → 401 `auth.token_invalid`; expired → 401
 * `auth.token_expired`, all with `WWW-Authenticate: Bearer`. Keys unavailable → 503.
 * The token is never logged.
 */
export function authenticate(authenticator: Authenticator): MiddlewareHandler<ApiEnv> {
  // Not `async`: a token the authenticator still trusts (its cache) goes on to `next()` without
  // a promise of its own; only a verification waits (issue 8: one promise layer per request less).
  return function authenticateMiddleware(c, next) {
    const header = c.req.header('Authorization');
    // `Bearer <token>` with a token the authenticator still trusts: such a token matched BEARER
    // when it was verified (no spaces, only token characters), so this header matches it too,
    // with the same token; skips the trim and the regex over the whole header (issue 8).
    if (header !== undefined && authenticator.cached !== undefined && header.startsWith('Bearer ')) {
      const known = authenticator.cached(header.slice(7));
      if (known !== undefined) {
        c.set('principal', known);
        return next();
      }
    }
    const trimmed = header?.trim();
    if (trimmed === undefined || trimmed === '') {
      return Promise.resolve(problemResponse(c, problem('auth.token_missing', { headers: { 'WWW-Authenticate': `Bearer realm=${quoted(REALM)}` } })));
    }
    const match = BEARER.exec(trimmed);
    if (!match?.[1]) {
      return Promise.resolve(problemResponse(c, problem('auth.token_invalid', {
        detail: 'The Authorization header must be `Bearer <token>`.',
        headers: { 'WWW-Authenticate': `Bearer realm=${quoted(REALM)}, error="invalid_request"` },
      })));
    }
    const known = authenticator.cached?.(match[1]);
    if (known !== undefined) {
      c.set('principal', known);
      return next();
    }
    return verifyThenNext(authenticator, match[1], c, next);
  };
}

/** The verification path of `authenticate` (a token not in the authenticator's cache). */
async function verifyThenNext(authenticator: Authenticator, token: string, c: Context<ApiEnv>, next: Next): Promise<Response | void> {
  try {
    c.set('principal', await authenticator.authenticate(token));
  } catch (err) {
    const reason = err instanceof Error && 'reason' in err ? (err as { reason: unknown }).reason : 'invalid';
    const message = err instanceof Error && err.name === 'AuthError' ? err.message : 'The token is not valid.';
    if (reason === 'unavailable') {
      c.get('logger').error({ err }, 'token verification unavailable');
      return problemResponse(c, problem('auth.unavailable', { headers: { 'Retry-After': '5' } }));
    }
    const code = reason === 'expired' ? 'auth.token_expired' : 'auth.token_invalid';
    c.get('logger').info({ reason: message }, 'token refused');
    return problemResponse(c, problem(code, {
      detail: message,
      headers: { 'WWW-Authenticate': `Bearer realm=${quoted(REALM)}, error="invalid_token", error_description=${quoted(message)}` },
    }));
  }
  await next();
}

function hasAll(held: ReadonlySet<string>, required: readonly string[]): boolean {
  for (let i = 0; i < required.length; i++) if (!held.has(required[i] as string)) return false;
  return true;
}

/**
 * Requires every listed scope on the principal set by `authenticate` (403
 * `auth.insufficient_scope` naming the missing ones). Export for other route groups, e.g.
 * `requireScope('ops:read')`.
 */
export function requireScope(...scopes: string[]): MiddlewareHandler<ApiEnv> {
  // not `async`: nothing to do after `next()`, so no promise layer of its own
  return function requireScopeMiddleware(c, next) {
    const principal = c.get('principal') as ApiEnv['Variables']['principal'] | undefined;
    if (!principal) {
      // a route using requireScope without authenticate in front is a wiring bug: fail closed
      return Promise.resolve(problemResponse(c, problem('auth.token_missing', { headers: { 'WWW-Authenticate': `Bearer realm=${quoted(REALM)}` } })));
    }
    // no array per request: the list of missing scopes is built only for the refusal
    if (!hasAll(principal.scopes, scopes)) {
      const missing = scopes.filter((s) => !principal.scopes.has(s));
      const list = missing.join(' ');
      return Promise.resolve(problemResponse(c, problem('auth.insufficient_scope', {
        detail: `This operation requires the scope ${missing.map((s) => `\`${s}\``).join(', ')}.`,
        headers: { 'WWW-Authenticate': `Bearer realm=${quoted(REALM)}, error="insufficient_scope", scope=${quoted(list)}` },
      })));
    }
    return next();
  };
}
