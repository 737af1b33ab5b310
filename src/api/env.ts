import type { Logger } from 'pino';

/** Who called: set by the `authenticate` middleware from a verified bearer token. */
export interface Principal {
  /** the subject claim (`sub` unless configured otherwise); tokens without one are refused */
  subject: string;
  /** granted scopes (from `scope`, space separated, and/or `scp`, an array) */
  scopes: ReadonlySet<string>;
}

/**
 * Hono environment of every route in the gateway. Middleware written elsewhere (idempotency,
 * ops) can type themselves with `MiddlewareHandler<ApiEnv>` and read these variables.
 */
export interface ApiEnv {
  Variables: {
    /** sanitised or generated request id (also in the `X-Request-Id` response header) */
    requestId: string;
    /** per-request child logger carrying `requestId` */
    logger: Logger;
    /** set on authenticated routes only */
    principal: Principal;
    /** the reference bound to this request's Idempotency-Key (the operation id to use or resume) */
    idempotencyRef?: string;
  };
}
