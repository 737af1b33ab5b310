import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Tracer, type TextMapGetter } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import type { Context, MiddlewareHandler } from 'hono';

export interface ServerSpansOptions {
  /** the process's tracer (src/infra/tracing.ts); without tracing, do not install this middleware at all */
  tracer: Tracer;
}

// semconv: methods outside the well-known set are reported as `_OTHER` (no caller-chosen text in span names)
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** Reads only the propagation headers the propagator asks for (`traceparent`, `tracestate`, `baggage`). */
const headerGetter: TextMapGetter<Context> = {
  keys: () => [],
  get: (c, key) => c.req.header(key),
};

/** The matched route template (`/v1/merchants/:id`), never the path with its ids. */
function routeOf(c: Context): string | undefined {
  const r = c.req.routePath;
  return r && r !== '*' && r !== '/*' ? r : undefined;
}

/**
 * One SERVER span per request, a child of the caller's W3C `traceparent` when it sent a valid
 * one. Named `METHOD /route/template`; attributes are the method, the route template and the
 * status only — no path, query string, ids or headers (Authorization never). The span is the
 * active context while the request runs, so the legacy calls and the job it queues join its trace.
 */
export function serverSpans(options: ServerSpansOptions): MiddlewareHandler {
  const { tracer } = options;
  return async function serverSpan(c, next) {
    const parent = propagation.extract(ROOT_CONTEXT, c, headerGetter);
    const method = KNOWN_METHODS.has(c.req.method) ? c.req.method : '_OTHER';
    const span = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method } }, parent);
    try {
      await context.with(trace.setSpan(parent, span), next);
    } catch (err) {
      // the app's error handler answers every error; reaching here is a bug, still a 500
      span.setAttribute(ATTR_ERROR_TYPE, err instanceof Error ? err.name : 'unknown');
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw err;
    }
    const status = c.res.status;
    const route = routeOf(c);
    if (route !== undefined) {
      span.updateName(`${method} ${route}`);
      span.setAttribute(ATTR_HTTP_ROUTE, route);
    }
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    if (status >= 500) {
      span.setAttribute(ATTR_ERROR_TYPE, String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  };
}
