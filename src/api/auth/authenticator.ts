import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Principal } from '../env.ts';

/** Why a token was refused; `unavailable` = keys could not be fetched (our problem, not the caller's). */
export type AuthFailureReason = 'invalid' | 'expired' | 'unavailable';

/** Thrown by an `Authenticator`. `message` is safe to show: it never includes the token. */
export class AuthError extends Error {
  readonly reason: AuthFailureReason;
  constructor(reason: AuthFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthError';
    this.reason = reason;
  }
}

/** Turns a bearer token into a principal, or throws `AuthError`. */
export interface Authenticator {
  authenticate(token: string): Promise<Principal>;
  /**
   * The principal of a token this authenticator verified recently and still trusts (its cache),
   * without waiting; `undefined` means "ask `authenticate`". Optional: lets the middleware skip
   * a promise per request on the common path.
   */
  cached?(token: string): Principal | undefined;
}

export type JwksSource =
  /** a JWKS endpoint, fetched and cached by jose */
  | { url: string }
  /** a file holding a JWKS as JSON, read once at creation */
  | { file: string }
  /** keys in memory (tests, embedded dev keys) */
  | { keys: JSONWebKeySet };

export interface JwtAuthenticatorOptions {
  jwks: JwksSource;
  issuer: string;
  audience: string;
  /** seconds of clock skew tolerated for exp/nbf/iat; default 30 */
  clockToleranceSeconds?: number;
  /** accepted signature algorithms; default asymmetric ones only (never `none` or HMAC) */
  algorithms?: string[];
  /**
   * Cache of verified tokens (default on). An ES256 verification costs ~0.2 ms of CPU — the
   * largest single cost of a gateway GET — and callers resend the same token for its whole
   * life. Only successes are cached, keyed by the token string itself (never logged).
   * `false` turns it off.
   */
  cache?: false | VerifiedTokenCacheOptions;
  /** clock in ms (tests); default `Date.now` */
  now?: () => number;
  /**
   * The claim that names the caller (default `sub`). A token without it, or with an empty or
   * non-string one, is refused: callers without an identity of their own would share one
   * (idempotency records, operations, audit).
   */
  subjectClaim?: string;
}

export const DEFAULT_SUBJECT_CLAIM = 'sub';
/**
 * Longest token verified (characters). Real access tokens are a few hundred bytes to a few KB;
 * anything longer is refused before it is parsed, cached or its signature checked.
 */
export const MAX_TOKEN_LENGTH = 8192;

/** Bounds of the verified-token cache. */
export interface VerifiedTokenCacheOptions {
  /** tokens kept at most (least recently used evicted first); default 10,000 */
  maxEntries?: number;
  /**
   * longest a verification is trusted, in ms, whatever the token's `exp`: a key removed from a
   * remote JWKS stops being honoured within this time; default 5 minutes
   */
  maxAgeMs?: number;
}

export const DEFAULT_TOKEN_CACHE = { maxEntries: 10_000, maxAgeMs: 5 * 60_000 } as const;

export const DEFAULT_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'RS384', 'RS512', 'PS256', 'EdDSA'];

function keyResolver(source: JwksSource): JWTVerifyGetKey {
  if ('url' in source) return createRemoteJWKSet(new URL(source.url), { timeoutDuration: 3000 });
  if ('file' in source) {
    const parsed: unknown = JSON.parse(readFileSync(source.file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
      throw new Error(`JWKS file ${source.file} does not hold a { keys: [...] } object`);
    }
    return createLocalJWKSet(parsed as JSONWebKeySet);
  }
  return createLocalJWKSet(source.keys);
}

/** `scope` (RFC 8693 / OAuth: space separated) and `scp` (array or string) merged. */
export function scopesOf(payload: JWTPayload): Set<string> {
  const scopes = new Set<string>();
  const add = (v: unknown): void => {
    if (typeof v === 'string') v.split(/\s+/).filter(Boolean).forEach((s) => scopes.add(s));
    else if (Array.isArray(v)) v.forEach((s) => { if (typeof s === 'string' && s) scopes.add(s); });
  };
  add(payload.scope);
  add(payload.scp);
  return scopes;
}

function subjectOf(payload: JWTPayload, claim: string): string {
  const value = payload[claim];
  if (typeof value === 'string' && value.trim().length > 0) return value;
  throw new AuthError('invalid', `The token has no \`${claim}\` claim naming the caller.`);
}

function toAuthError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof joseErrors.JWTExpired) return new AuthError('expired', 'The token has expired.');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    const claim = err.claim;
    if (claim === 'iss') return new AuthError('invalid', 'The token issuer is not accepted.');
    if (claim === 'aud') return new AuthError('invalid', 'The token audience is not accepted.');
    if (claim === 'exp') return new AuthError('invalid', 'The token has no expiry.');
    return new AuthError('invalid', 'A token claim is not valid.');
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new AuthError('invalid', 'The token signature is not valid.');
  if (err instanceof joseErrors.JWKSNoMatchingKey) return new AuthError('invalid', 'The token was not signed by a trusted key.');
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new AuthError('invalid', 'The token signature algorithm is not accepted.');
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) {
    return new AuthError('unavailable', 'The signing keys could not be loaded.', { cause: err });
  }
  if (err instanceof joseErrors.JOSEError) return new AuthError('invalid', 'The token is malformed.');
  // fetch failures of a remote JWKS and anything unexpected: not the caller's fault (logged with the cause)
  return new AuthError('unavailable', 'The signing keys could not be loaded.', { cause: err });
}

interface VerifiedToken {
  token: string;
  principal: Principal;
  until: number;
}

/** Characters of a token's end that key its cache entry (a JWS ends with its signature). */
const SLOT_CHARS = 32;

function slotOf(token: string): string {
  return token.length > SLOT_CHARS ? token.slice(token.length - SLOT_CHARS) : token;
}

/**
 * Verifies bearer JWTs with jose: signature against the JWKS, `iss`, `aud`, `exp` (required),
 * `nbf`, with a small clock tolerance. Successful verifications are remembered (see
 * {@link JwtAuthenticatorOptions.cache}) until the token's `exp` — without the tolerance, so
 * from then on jose decides again exactly as it would have — or `maxAgeMs`, whichever is first.
 */
export function createJwtAuthenticator(options: JwtAuthenticatorOptions): Authenticator {
  const getKey = keyResolver(options.jwks);
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  const now = options.now ?? Date.now;
  const subjectClaim = options.subjectClaim ?? DEFAULT_SUBJECT_CLAIM;
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance,
    algorithms: options.algorithms ?? DEFAULT_ALGORITHMS,
    requiredClaims: ['exp'],
  };
  const cacheOpts = options.cache === false ? undefined : { ...DEFAULT_TOKEN_CACHE, ...options.cache };
  // Map iteration order is insertion order: re-inserting on a hit makes the first key the LRU.
  // Keyed by the token's last characters (its signature), the entry holding the whole token:
  // a Map lookup hashes its key, and a fresh header string of a few hundred characters has no
  // hash yet (issue 8). A hit needs the whole token equal, so a look-alike never shares an
  // entry's principal; two verified tokens ending alike share one slot (the later stays).
  const verified = new Map<string, VerifiedToken>();
  /** The entry last put at the end of `verified`'s order, while it is there (a hit on it needs no move). */
  let newest: VerifiedToken | undefined;

  function remember(token: string, principal: Principal, exp: number | undefined, at: number): void {
    if (!cacheOpts || cacheOpts.maxEntries <= 0 || exp === undefined) return;
    const until = Math.min(exp * 1000, at + cacheOpts.maxAgeMs);
    if (until <= at) return;
    const key = slotOf(token);
    const entry: VerifiedToken = { token, principal, until };
    const present = verified.get(key);
    if (present !== undefined && present.token === token) {
      // the same token verified twice at once: updated where it is, as a Map keyed by the token did
      verified.set(key, entry);
      if (present === newest) newest = entry;
      return;
    }
    if (present !== undefined) verified.delete(key);
    verified.set(key, entry);
    newest = entry;
    if (verified.size > cacheOpts.maxEntries) {
      const oldest = verified.keys().next();
      if (!oldest.done) verified.delete(oldest.value);
    }
  }

  /** A still-trusted cache entry's principal (refreshed as most recently used), else undefined. */
  function fromCache(token: string, at: number): Principal | undefined {
    const key = slotOf(token);
    const hit = verified.get(key);
    if (hit === undefined || hit.token !== token) return undefined;
    if (at >= hit.until) {
      verified.delete(key);
      return undefined;
    }
    if (hit !== newest) {
      verified.delete(key);
      verified.set(key, hit);
      newest = hit;
    }
    return hit.principal;
  }

  return {
    cached(token: string): Principal | undefined {
      return token.length > MAX_TOKEN_LENGTH ? undefined : fromCache(token, now());
    },
    async authenticate(token: string): Promise<Principal> {
      if (token.length > MAX_TOKEN_LENGTH) throw new AuthError('invalid', 'The token is too long.');
      const at = now();
      const hit = fromCache(token, at);
      if (hit !== undefined) return hit;
      try {
        // jose reads the same clock as the cache, so both agree on what has expired
        const { payload } = await jwtVerify(token, getKey, { ...verifyOptions, currentDate: new Date(at) });
        const principal: Principal = { subject: subjectOf(payload, subjectClaim), scopes: scopesOf(payload) };
        remember(token, principal, payload.exp, at);
        return principal;
      } catch (err) {
        throw toAuthError(err);
      }
    },
  };
}
