/**
 * The gateway's HTTP edge: `createApp(deps)` builds the Hono app (no port; `main.ts` serves it).
 *
 * Order of middleware for every request:
 *   request id + security headers → (deps.middleware: metrics) → accessLog → (CORS) →
 *   catch non-Errors + bodyLimit → (on /v1/* and /ops/*) authenticate →
 *   (per route) requireScope → (POST/PATCH /v1 routes) deps.beforeWrite → zod validation → handler
 * Every error, from any layer, leaves as application/problem+json (see problem.ts).
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { swaggerUI } from '@hono/swagger-ui';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type { Logger } from 'pino';
import type { LastKnownPort } from '../domain/read-model.port.ts';
import type { Services } from '../domain/services/types.ts';
import type { Authenticator } from './auth/authenticator.ts';
import { authenticate, requireScope } from './auth/middleware.ts';
import { SCOPES } from './auth/scopes.ts';
import type { ApiEnv } from './env.ts';
import { handleApiError } from './error-handler.ts';
import { allowedMethods } from './method-not-allowed.ts';
import { accessLog } from './middleware/access-log/index.ts';
import { recordRequestId, REQUEST_ID_HEADER, SAFE_REQUEST_ID } from './middleware/request-id/index.ts';
import { beginResponseHeaders, finishResponseHeaders } from './middleware/response-headers/index.ts';
import { recordSecurityHeaders } from './middleware/security-headers/index.ts';
import { PROBLEM_CATALOG, problem, problemResponse } from './problem.ts';
import { healthRoutes, type HealthCheck } from './routes/health.ts';
import { merchantRoutes } from './routes/merchants.ts';
import { partnerRoutes } from './routes/partners.ts';
import { PrefixSplitRouter } from './routes/router.ts';
import { terminalSettingsRoutes, type TerminalSettingsRouteDeps } from './routes/terminal-settings.ts';
import { terminalRoutes } from './routes/terminals.ts';
import { validationHook } from './validation.ts';
import type { WriteSubmitter } from './writes.ts';
import type { TerminalActivityPort } from '../domain/terminal-snapshot.ts';

export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

const DOCS_ASSETS = '/docs/assets';
const SWAGGER_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};
// Swagger UI's start-up as a file, not an inline <script>: the page's CSP allows no inline script.
const DOCS_INIT_JS = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ dom_id: '#swagger-ui', url: '/openapi.json' });
});
`;
let swaggerDir: string | undefined;
function swaggerDistDir(): string {
  swaggerDir ??= dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  return swaggerDir;
}
export const API_VERSION = '1.0.0';

/** Helpers handed to `extraRoutes` so extra route groups follow the same rules. */
export interface AppTools {
  /** bearer-token middleware bound to `deps.auth` (sets `c.var.principal`) */
  authenticate: MiddlewareHandler<ApiEnv>;
  /** scope check, e.g. `requireScope('ops:read')` (needs `authenticate` in front) */
  requireScope: (...scopes: string[]) => MiddlewareHandler<ApiEnv>;
}

export interface AppDeps {
  services: Services;
  auth: Authenticator;
  logger: Logger;
  health: HealthCheck;
  /** request body limit in bytes (413 `request.body_too_large` above it); default 64 KiB */
  bodyLimitBytes?: number;
  /**
   * Middleware run on every write route (POST/PATCH under /v1) after authentication and the
   * scope check, before body validation and the handler — the idempotency slot.
   * `c.var.principal`, `c.var.requestId`, `c.var.logger` are set; the body can be read with
   * `c.req.json()`/`c.req.text()` (cached: validation reads it again). It may answer itself
   * (replay) or call `next()` and inspect `c.res` afterwards. Note that `c.res` may then be
   * a 4xx problem from validation: decide whether to store those.
   */
  beforeWrite?: MiddlewareHandler<ApiEnv> | MiddlewareHandler<ApiEnv>[];
  /**
   * Applies writes (POST/PATCH): the durable operations runner (src/jobs), so an unavailable
   * legacy system answers 202 instead of failing. Required: there is no non-durable fallback.
   */
  writes: WriteSubmitter;
  /**
   * Last-known copies of terminals and merchants: reads answer from them (200 + `Age`,
   * `Cache-Status`) while the legacy system is down; reads and completed writes refresh them.
   */
  lastKnown?: LastKnownPort;
  /** The latest daily snapshot (TERMSTAT) per terminal: `activity` on `GET /v1/terminals/{id}`. */
  terminalActivity?: TerminalActivityPort;
  /** Outermost middleware after the request id (metrics): sees every request and its final response. */
  middleware?: MiddlewareHandler<ApiEnv> | MiddlewareHandler<ApiEnv>[];
  /**
   * Sub-app mounted at `/ops` behind `authenticate` (any valid token); check scopes per route
   * with `requireScope('ops:read')`. If it is an `OpenAPIHono`, its routes join /openapi.json.
   */
  ops?: Hono<ApiEnv>;
  /**
   * Last hook before the 404/405 fallback: register anything else on the root app. Nothing is
   * authenticated here unless you use `tools.authenticate`.
   */
  extraRoutes?: (app: OpenAPIHono<ApiEnv>, tools: AppTools) => void;
  /**
   * Origins allowed to call the API from a browser (CORS). Empty or unset: no CORS headers at all,
   * so browsers keep the API same-origin only.
   */
  corsOrigins?: readonly string[];
  /** rate limit run right after authentication on /v1/* and /ops/* (see middleware/rate-limit) */
  rateLimit?: MiddlewareHandler<ApiEnv>;
  /** path prefixes serving HTML pages (they get the pages' CSP); `/docs` is always one */
  pagePrefixes?: readonly string[];
  /** `PUT`/`GET /v1/terminals/{id}/settings` (the nightly settings file, src/jobs/batch); not mounted when absent */
  terminalSettings?: TerminalSettingsRouteDeps['settings'];
}

function asArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The API's OpenAPI 3.1 document config. */
function openApiConfig() {
  const codes = Object.entries(PROBLEM_CATALOG).map(([code, e]) => ({ code, status: e.status, title: e.title, description: e.detail }));
  return {
    openapi: '3.1.0',
    info: {
      title: 'legacy-gateway',
      version: API_VERSION,
      description:
        'Merchants, partners and payment terminals over the terminal management and customer master systems. ' +
        'Every error is `application/problem+json` (RFC 9457) with a stable `code` and the `requestId` ' +
        '(send `X-Request-Id` to choose it; it is echoed on every response). Problem types are ' +
        '`https://legacy-gateway.dev/problems/<code>`; the API-defined codes are listed in `x-problem-codes`. ' +
        'Unknown fields (body and query) are refused with 422. A malformed id in a path answers 404.',
    },
    tags: [
      { name: 'Merchants' },
      { name: 'Partners' },
      { name: 'Terminals' },
      { name: 'Health', description: 'No authentication.' },
    ],
    // relative: "Try it out" in /docs calls the gateway that served the document
    servers: [{ url: '/', description: 'This gateway' }],
    'x-problem-codes': codes,
  };
}

type OpenApiDocument = ReturnType<OpenAPIHono['getOpenAPI31Document']>;

/**
 * Every operation accepts `X-Request-Id` and answers it (the request-id middleware runs on every
 * route, so it is documented here rather than on each route).
 */
function withRequestIdHeader(doc: OpenApiDocument): OpenApiDocument {
  const parameter = {
    name: REQUEST_ID_HEADER,
    in: 'header' as const,
    required: false,
    description: 'Your id for this request (1–128 of `A-Za-z0-9._-`), else one is generated. Logged, sent to the legacy systems, echoed.',
    schema: { type: 'string' as const, pattern: SAFE_REQUEST_ID.source },
  };
  const header = { description: 'The request id (yours, or the generated one).', schema: { type: 'string' as const } };
  for (const item of Object.values(doc.paths ?? {})) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const) {
      const op = item[method];
      if (!op) continue;
      op.parameters = [...(op.parameters ?? []), parameter];
      for (const response of Object.values(op.responses ?? {})) {
        if ('$ref' in response) continue;
        response.headers = { ...response.headers, [REQUEST_ID_HEADER]: header };
      }
    }
  }
  return doc;
}

/** Builds the app. See `AppDeps` for the hooks other route groups and middleware plug into. */
export function createApp(deps: AppDeps): OpenAPIHono<ApiEnv> {
  // `/ops` (bull-board and the dead-letter routes) apart: the rest can use the RegExpRouter
  const app = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook, router: new PrefixSplitRouter('/ops') });
  const beforeWrite = asArray(deps.beforeWrite);
  const auth = authenticate(deps.auth);

  // requestId() and securityHeaders() in one layer (issue 8: a promise layer per request less);
  // both only record headers before `next()`, so where the security headers are recorded does
  // not matter as long as it is before any handler.
  const pagePrefixes = ['/docs', ...(deps.pagePrefixes ?? [])];
  app.use('*', async function requestIdAndSecurityHeaders(c, next) {
    const owner = beginResponseHeaders(c);
    recordRequestId(c);
    recordSecurityHeaders(c, pagePrefixes);
    await next();
    if (owner) finishResponseHeaders(c);
  });
  for (const mw of asArray(deps.middleware)) app.use('*', mw);
  app.use('*', accessLog({ logger: deps.logger }));
  if (deps.corsOrigins && deps.corsOrigins.length > 0) {
    app.use(
      '*',
      cors({
        origin: [...deps.corsOrigins],
        allowMethods: ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'],
        allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id', 'Prefer'],
        exposeHeaders: ['Location', 'Retry-After', 'X-Request-Id', 'Idempotent-Replayed', 'RateLimit', 'RateLimit-Policy'],
        maxAge: 600,
        credentials: false,
      }),
    );
  }
  const limitBody = bodyLimit({
    maxSize: deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    onError: (c) => problemResponse(c, problem('request.body_too_large')),
  });
  // Hono hands only `Error` instances to onError; anything else thrown (a rebuilt error
  // object from a queue, a string) would escape as a bare 500 without problem+json.
  // The body limit in the same layer, inside the catch as before: GET and HEAD carry no body
  // here (@hono/node-server never gives them one), and asking `c.req.raw.body` builds a full
  // WHATWG Request per call: they skip the check.
  app.use('*', async function catchNonErrorsAndLimitBody(c, next) {
    try {
      const method = c.req.method;
      // bodyLimit answers 413 by returning its Response (hono makes a returned Response `c.res`)
      return await (method === 'GET' || method === 'HEAD' ? next() : limitBody(c, next));
    } catch (err) {
      c.res = onError(err, c);
    }
  });

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'JWT signed by the configured issuer, audience `legacy-gateway` (dev). Scopes in `scope` (space separated) or `scp`: ' +
      `${SCOPES.join(', ')} (the \`ops:*\` scopes guard \`/ops\`).`,
  });

  app.route('/health', healthRoutes(deps.health, deps.logger));

  app.use('/v1/*', auth);
  if (deps.rateLimit) app.use('/v1/*', deps.rateLimit);
  const routeDeps = {
    services: deps.services,
    beforeWrite,
    writes: deps.writes,
    lastKnown: deps.lastKnown,
    ...(deps.terminalActivity ? { terminalActivity: deps.terminalActivity } : {}),
  };
  app.route('/v1', merchantRoutes(routeDeps));
  app.route('/v1', partnerRoutes(routeDeps));
  app.route('/v1', terminalRoutes(routeDeps));
  if (deps.terminalSettings) app.route('/v1', terminalSettingsRoutes({ ...routeDeps, settings: deps.terminalSettings }));

  if (deps.ops) {
    app.use('/ops/*', auth);
    if (deps.rateLimit) app.use('/ops/*', deps.rateLimit);
    app.route('/ops', deps.ops);
  }
  deps.extraRoutes?.(app, { authenticate: auth, requireScope });

  // Generated once, on first request, after every route (ops/extra included) is registered.
  let document: unknown;
  app.get('/openapi.json', (c) => {
    document ??= withRequestIdHeader(app.getOpenAPI31Document(openApiConfig()));
    c.header('Cache-Control', 'no-cache');
    return c.json(document as Record<string, unknown>);
  });
  // Swagger UI's assets come from the swagger-ui-dist package, not a CDN: the gateway must work
  // on a machine without internet access.
  app.get(
    '/docs',
    swaggerUI({
      url: '/openapi.json',
      title: 'legacy-gateway API',
      baseUrl: DOCS_ASSETS,
      manuallySwaggerUIHtml: (asset) =>
        [
          '<div id="swagger-ui"></div>',
          ...asset.css.map((href) => `<link rel="stylesheet" href="${href}" />`),
          ...asset.js.map((src) => `<script src="${src}"></script>`),
          `<script src="${DOCS_ASSETS}/init.js"></script>`,
        ].join('\n'),
    }),
  );
  app.get(`${DOCS_ASSETS}/init.js`, (c) =>
    c.body(DOCS_INIT_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=3600' }),
  );
  app.get(`${DOCS_ASSETS}/swagger-ui-dist/:file`, async (c) => {
    const asset = SWAGGER_ASSETS[c.req.param('file')];
    if (!asset) return problemResponse(c, problem('route.not_found'));
    const body = await readFile(join(swaggerDistDir(), c.req.param('file')));
    return c.body(body, 200, { 'Content-Type': asset, 'Cache-Control': 'public, max-age=86400' });
  });

  app.notFound((c) => {
    const allow = allowedMethods(app.routes, c.req.path);
    if (allow.length > 0 && !allow.includes(c.req.method)) {
      return problemResponse(c, problem('method.not_allowed', { headers: { Allow: allow.join(', ') } }));
    }
    return problemResponse(c, problem('route.not_found'));
  });

  app.onError((err, c) => onError(err, c));

  function onError(err: unknown, c: Context<ApiEnv>): Response {
    return handleApiError(err, c, deps.logger);
  }

  return app;
}
