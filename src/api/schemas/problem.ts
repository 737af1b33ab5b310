import { z } from '@hono/zod-openapi';
import { PROBLEM_CATALOG, PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE, type ProblemCode } from '../problem.ts';

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: `${PROBLEM_TYPE_BASE}request.validation_failed` }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().openapi({ description: 'Path of the request.' }),
    code: z.string().openapi({
      description:
        'Stable code. The API-defined codes are listed in `x-problem-codes` and in the examples; a refusal from the domain may carry its own namespaced code (e.g. `merchant.mcc_not_allowed`) with the status of its family (404, 409 or 422).',
    }),
    requestId: z.string(),
    errors: z
      .array(z.object({ field: z.string().openapi({ example: 'address.postalCode' }), reason: z.string().openapi({ example: 'must be 5 digits' }) }))
      .optional()
      .openapi({ description: 'Field errors in API terms (validation problems).' }),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details, `application/problem+json`.' });

function example(code: ProblemCode, extra: Record<string, unknown> = {}): { summary: string; value: Record<string, unknown> } {
  const entry = PROBLEM_CATALOG[code];
  return {
    summary: entry.title,
    value: {
      type: PROBLEM_TYPE_BASE + code,
      title: entry.title,
      status: entry.status,
      detail: entry.detail,
      instance: '/v1/merchants/C000012345',
      code,
      requestId: '5b0c6c35-8a57-4cb1-b4d3-2b1f0e6f3c1d',
      ...extra,
    },
  };
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Malformed request body',
  401: 'Missing, invalid or expired bearer token (`WWW-Authenticate: Bearer`)',
  403: 'The token lacks a required scope',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict with the current state',
  413: 'Request body too large',
  415: 'Unsupported media type',
  422: 'Invalid request or refused for a business reason',
  429: 'This client sent too many requests of this kind (`Retry-After`, `RateLimit-Policy`, `RateLimit`); only when rate limits are configured',
  500: 'Unexpected error',
  502: 'A backing system answered something unusable',
  503: 'A backing system is unavailable (`Retry-After`)',
  504: 'A backing system did not answer in time',
};

/** The headers of a 429 (src/api/middleware/rate-limit; draft-ietf-httpapi-ratelimit-headers). */
const RATE_LIMITED_HEADERS = {
  'Retry-After': { description: 'Seconds until this client may send requests of this kind again.', schema: { type: 'integer' } },
  'RateLimit-Policy': {
    description: 'The limit of this route group: `"<group>";q=<requests>;w=<window seconds>` (groups: read, write, ops-read, ops-write). Also on answers within the limit.',
    schema: { type: 'string' },
    example: '"read";q=6000;w=60',
  },
  RateLimit: {
    description: 'What is left: `"<group>";r=<remaining requests>;t=<seconds until the window resets>`. Also on answers within the limit.',
    schema: { type: 'string' },
    example: '"read";r=0;t=42',
  },
};

/** Examples per status: every API-defined code with that status. */
function examplesFor(status: number): Record<string, { summary: string; value: Record<string, unknown> }> {
  const out: Record<string, { summary: string; value: Record<string, unknown> }> = {};
  for (const [code, entry] of Object.entries(PROBLEM_CATALOG)) {
    if (entry.status !== status) continue;
    const extra = code === 'request.validation_failed' ? { errors: [{ field: 'address.postalCode', reason: 'must be 5 digits' }] } : {};
    out[code] = example(code as ProblemCode, extra);
  }
  return out;
}

/** OpenAPI responses for the given error statuses, each with the Problem schema and examples. */
export function problemResponses(...statuses: number[]) {
  const out: Record<number, { description: string; content: Record<string, { schema: typeof ProblemSchema; examples: ReturnType<typeof examplesFor> }>; headers?: Record<string, unknown> }> = {};
  for (const status of statuses) {
    out[status] = {
      description: STATUS_TEXT[status] ?? 'Error',
      content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema, examples: examplesFor(status) } },
      ...(status === 503 ? { headers: { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } } } : {}),
      ...(status === 409
        ? { headers: { 'Retry-After': { description: 'With `idempotency.in_progress`: seconds to wait before asking again.', schema: { type: 'integer' } } } }
        : {}),
      ...(status === 429 ? { headers: RATE_LIMITED_HEADERS } : {}),
      ...(status === 401 ? { headers: { 'WWW-Authenticate': { description: 'Bearer challenge (RFC 6750).', schema: { type: 'string' } } } } : {}),
    };
  }
  return out;
}

/** Errors any authenticated operation can answer (429: every authenticated route is rate limited). */
export const COMMON_ERRORS = [401, 403, 429, 500, 502, 503, 504] as const;
