export { AuthError, createJwtAuthenticator, scopesOf, DEFAULT_ALGORITHMS } from './authenticator.ts';
export type { Authenticator, AuthFailureReason, JwksSource, JwtAuthenticatorOptions } from './authenticator.ts';
export { authenticate, requireScope } from './middleware.ts';
export { ensureDevKeys, DEV_ISSUER, DEV_AUDIENCE } from './dev-keys.ts';
export type { DevKeys, SignTokenOptions } from './dev-keys.ts';
export { SCOPES, type Scope } from './scopes.ts';
