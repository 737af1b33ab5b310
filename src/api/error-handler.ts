/**
 * The one error handler of the HTTP edge, for the root app and every sub-app that may be used
 * on its own (`/ops`, `/v1/operations`): anything thrown becomes a problem+json answer, and
 * anything that is the server's or a backing system's fault leaves one log line with the
 * error's message and cause chain (the logger's serializer scrubs secrets from both).
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { isGatewayErrorLike } from '../domain/errors/index.ts';
import type { ApiEnv } from './env.ts';
import { problem, problemFromError, problemResponse, type ProblemCode } from './problem.ts';

const HTTP_EXCEPTION_CODES: Record<number, ProblemCode> = {
  400: 'request.malformed_body',
  401: 'auth.token_invalid',
  404: 'route.not_found',
  413: 'request.body_too_large',
  415: 'request.unsupported_media_type',
};

/**
 * Answers `err` as a problem and logs it when it is server side. The request's logger
 * (`c.var.logger`, set by the request-id middleware) is used, else `fallback`.
 */
export function handleApiError(err: unknown, c: Context<ApiEnv>, fallback?: Logger): Response {
  const log = (c.get('logger') as Logger | undefined) ?? fallback;
  if (err instanceof HTTPException) {
    const code = HTTP_EXCEPTION_CODES[err.status] ?? (err.status >= 500 ? 'internal.error' : 'request.validation_failed');
    if (err.status >= 500) log?.error({ err }, 'request failed');
    return problemResponse(c, { ...problem(code), status: err.status });
  }
  const mapped = problemFromError(err);
  if (mapped.serverSide) {
    // a legacy system failing is expected now and then (warn); anything else is a bug (error)
    if (isGatewayErrorLike(err)) log?.warn({ err }, 'request failed');
    else log?.error({ err }, 'unexpected error');
  }
  return problemResponse(c, mapped.init);
}
