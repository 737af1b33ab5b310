/**
 * The zod-openapi `defaultHook`: turns a failed zod validation into a problem.
 * - path parameters (ids) → 404 `<resource>.not_found`: ids are opaque, so an id that does
 *   not have the documented shape simply does not exist (and is never sent to a legacy system);
 * - query and JSON body → 422 `request.validation_failed` with `errors: [{ field, reason }]`,
 *   fields in API terms (`address.postalCode`), unknown fields named one by one.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { z, type ZodError } from 'zod';
import type { ApiEnv } from './env.ts';
import { problem, problemResponse, type ProblemCode, type ProblemFieldError } from './problem.ts';

const PARAM_NOT_FOUND: Record<string, ProblemCode> = {
  merchantId: 'merchant.not_found',
  partnerId: 'partner.not_found',
  terminalId: 'terminal.not_found',
};

const CLEAR_REFUSED =
  'cannot be cleared: the customer master ignores empty values; omit the field to leave it unchanged';

type Issue = ZodError['issues'][number];

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'symbol' ? p.description ?? '' : String(p))).join('.');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/**
 * Field errors from zod issues. `input` (the parsed body) lets us say "is required" or
 * "cannot be cleared" instead of zod's generic type message; it is only read, never echoed.
 */
export function fieldErrors(issues: readonly Issue[], input: unknown, opts: { clearing: boolean }): ProblemFieldError[] {
  const out: ProblemFieldError[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ field: pathText([...issue.path, key]), reason: 'is not a known field' });
      }
      continue;
    }
    const field = pathText(issue.path) || 'body';
    const value = issue.path.length > 0 ? valueAt(input, issue.path) : input;
    let reason = issue.message;
    if (opts.clearing && issue.path.length > 0 && (value === null || value === '')) reason = CLEAR_REFUSED;
    else if (issue.code === 'invalid_type' && value === undefined) reason = issue.path.length > 0 ? 'is required' : 'a JSON object is required';
    else if (issue.code === 'invalid_type' && value === null) reason = 'must not be null';
    out.push({ field, reason });
  }
  // one entry per field+reason (zod may report a field twice)
  const seen = new Set<string>();
  return out.filter((e) => {
    const k = `${e.field}\u0000${e.reason}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

async function parsedBody(c: Context): Promise<unknown> {
  try {
    return (await c.req.json()) as unknown;
  } catch {
    return undefined;
  }
}

type HookResult = { target: string } & ({ success: true } | { success: false; error: ZodError });

/** Use as `new OpenAPIHono({ defaultHook: validationHook })`. */
export async function validationHook(result: HookResult, c: Context): Promise<Response | undefined> {
  if (result.success) return undefined;
  if (result.target === 'param') {
    const param = result.error.issues[0]?.path[0];
    const code = (typeof param === 'string' ? PARAM_NOT_FOUND[param] : undefined) ?? 'route.not_found';
    return problemResponse(c, problem(code));
  }
  const input = result.target === 'json' ? await parsedBody(c) : result.target === 'query' ? c.req.query() : undefined;
  const errors = fieldErrors(result.error.issues, input, { clearing: result.target === 'json' && c.req.method === 'PATCH' });
  return problemResponse(c, problem('request.validation_failed', { errors }));
}

/**
 * The path-parameter validator of a route with a single parameter, for hot routes registered
 * with `app.get(path, …)` (their OpenAPI entry registered with `openAPIRegistry.registerPath`):
 * the same zod schema and the same answer on failure ({@link validationHook}: 404
 * `<resource>.not_found`) as zod-openapi's `request.params`, without its per-request work around
 * zod — the Content-Type read, the `c.req.param()` record, an async parse and two awaited hooks
 * (issue 8). `c.req.valid('param')` is `{ [name]: parsed }` as before.
 */
export function validParam<N extends string, S extends z.ZodType<string, string>>(
  name: N,
  schema: S,
): MiddlewareHandler<ApiEnv, string, { in: { param: Record<N, string> }; out: { param: Record<N, z.output<S>> } }> {
  const params = z.object({ [name]: schema } as Record<N, S>);
  return function validParamMiddleware(c, next) {
    const raw = c.req.param(name);
    const result = schema.safeParse(raw);
    if (!result.success) {
      // the object schema's error, so the issue's path names the parameter as zod-openapi's does
      const error = params.safeParse({ [name]: raw }).error ?? result.error;
      return validationHook({ target: 'param', success: false, error }, c);
    }
    c.req.addValidatedData('param', { [name]: result.data });
    return next();
  };
}
