import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';

export interface AccessLogOptions {
  /** base logger; a child with `requestId` becomes `c.var.logger` */
  logger: Logger;
  /** clock for durations (tests); default `performance.now` */
  now?: () => number;
}

/**
 * One log line per request: method, path (no query string: cursors and filters stay out of
 * logs), status, duration and request id. Never headers (Authorization) nor bodies.
 * Must run after `requestId()`.
 */
export function accessLog(
  options: AccessLogOptions,
): MiddlewareHandler<{ Variables: { requestId: string; logger: Logger } }> {
  const now = options.now ?? (() => performance.now());
  return async function accessLogMiddleware(c, next) {
    const started = now();
    const requestId = c.get('requestId');
    const log = options.logger.child({ requestId });
    c.set('logger', log);
    try {
      await next();
    } finally {
      const status = c.res.status;
      const line = {
        method: c.req.method,
        path: c.req.path,
        status,
        durationMs: Math.round((now() - started) * 10) / 10,
      };
      if (status >= 500) log.error(line, 'request');
      else log.info(line, 'request');
    }
  };
}
