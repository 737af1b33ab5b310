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
  constructor(reason: AuthFailureReason, message: string) {
    super(message);
    this.name = 'AuthError';
    this.reason = reason;
  }
}

/** Turns a bearer token into a principal, or throws `AuthError`. */
export interface Authenticator {
  authenticate(token: string): Promise<Principal>;
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
}

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

function subjectOf(payload: JWTPayload): string {
  for (const claim of [payload.sub, payload.client_id, payload.azp]) {
    if (typeof claim === 'string' && claim.length > 0) return claim;
  }
  return 'unknown';
}

function toAuthError(err: unknown): AuthError {
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
    return new AuthError('unavailable', 'The signing keys could not be loaded.');
  }
  if (err instanceof joseErrors.JOSEError) return new AuthError('invalid', 'The token is malformed.');
  // fetch failures of a remote JWKS and anything unexpected: not the caller's fault
  return new AuthError('unavailable', 'The signing keys could not be loaded.');
}

/**
 * Verifies bearer JWTs with jose: signature against the JWKS, `iss`, `aud`, `exp` (required),
 * `nbf`, with a small clock tolerance.
 */
export function createJwtAuthenticator(options: JwtAuthenticatorOptions): Authenticator {
  const getKey = keyResolver(options.jwks);
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: options.clockToleranceSeconds ?? 30,
    algorithms: options.algorithms ?? DEFAULT_ALGORITHMS,
    requiredClaims: ['exp'],
  };
  return {
    async authenticate(token: string): Promise<Principal> {
      try {
        const { payload } = await jwtVerify(token, getKey, verifyOptions);
        return { subject: subjectOf(payload), scopes: scopesOf(payload) };
      } catch (err) {
        throw toAuthError(err);
      }
    },
  };
}
