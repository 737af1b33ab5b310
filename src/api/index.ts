/** Public surface of the HTTP edge, for `src/main.ts` and other route groups. */
export { createApp, DEFAULT_BODY_LIMIT_BYTES, type AppDeps, type AppTools } from './app.ts';
export type { ApiEnv, Principal } from './env.ts';
export type { HealthCheck } from './routes/health.ts';
export { callContext } from './context.ts';
export {
  authenticate,
  requireScope,
  createJwtAuthenticator,
  AuthError,
  ensureDevKeys,
  DEV_AUDIENCE,
  DEV_ISSUER,
  SCOPES,
  type Authenticator,
  type DevKeys,
  type JwksSource,
  type JwtAuthenticatorOptions,
  type Scope,
} from './auth/index.ts';
export {
  PROBLEM_CATALOG,
  PROBLEM_TYPE_BASE,
  ProblemError,
  problem,
  problemFromError,
  problemResponse,
  type ProblemBody,
  type ProblemCode,
  type ProblemInit,
} from './problem.ts';
