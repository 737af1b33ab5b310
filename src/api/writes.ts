/**
 * How write routes apply a change: through a `WriteSubmitter`, the durable operations runner
 * (BullMQ, src/jobs) passed in by the composition root (tests may pass a synchronous one,
 * src/jobs/test-support/direct-writes.ts). A write either
 * completes now (201/200 with the resource) or is accepted for later (202 + `Location:
 * /v1/operations/{id}`), when the client prefers it (`Prefer: respond-async`) or the legacy
 * system it needs is unavailable.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { OperationInputs, OperationKind, SubmitContext, SubmitResult } from '../jobs/types.ts';
import type { ApiEnv } from './env.ts';
import { resourceHref } from './resource-links.ts';

export interface WriteSubmitter {
  submit<K extends OperationKind>(kind: K, input: OperationInputs[K], ctx: SubmitContext): Promise<SubmitResult>;
}

const RESPOND_ASYNC = /(?:^|[,;\s])respond-async(?:$|[,;\s])/i;

/** The submit context of a request: request id, the caller's subject, `Prefer: respond-async`. */
export function submitContext(c: Context<ApiEnv>): SubmitContext {
  return {
    requestId: c.get('requestId'),
    principal: c.get('principal').subject,
    preferAsync: RESPOND_ASYNC.test(c.req.header('Prefer') ?? ''),
    ...(c.get('idempotencyRef') === undefined ? {} : { operationId: c.get('idempotencyRef') }),
  };
}

export const AcceptedSchema = z
  .object({
    operationId: z.string().openapi({ example: 'op_0f8e0c6d2b7a4e1f9c3d5b7a9e1f3c5d' }),
    status: z.literal('queued'),
    href: z.string().openapi({ example: '/v1/operations/op_0f8e0c6d2b7a4e1f9c3d5b7a9e1f3c5d' }),
  })
  .openapi('Accepted', {
    description: 'The write was accepted and will be applied exactly once; poll `href` (also the `Location` header).',
  });

/** Request headers of a write route: `Idempotency-Key` (required on POST), `Prefer`. */
export function writeParameters(method: 'post' | 'patch') {
  return [
    {
      name: 'Idempotency-Key',
      in: 'header' as const,
      required: method === 'post',
      description:
        (method === 'post' ? 'Required. ' : 'Optional. ') +
        'Any 1–255 visible ASCII characters chosen by the client, e.g. a UUID. The same key with the same body answers the ' +
        'first answer again (`Idempotent-Replayed: true`) without touching the legacy systems; with another body 422; ' +
        'while the first is still running 409. Kept 24 h.',
      // no `example`: Swagger UI would pre-fill it, and one shared key replays one answer to everyone
      schema: { type: 'string' as const, minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' },
    },
    {
      name: 'Prefer',
      in: 'header' as const,
      required: false,
      description:
        '`respond-async` answers 202 with `Location: /v1/operations/{id}` at once instead of waiting for the legacy systems ' +
        '(`Preference-Applied: respond-async` then confirms it).',
      // no `example`: Swagger UI would pre-fill it and turn every "Try it out" asynchronous
      schema: { type: 'string' as const },
    },
  ];
}

const REPLAYED_HEADER_DOC = {
  'Idempotent-Replayed': {
    description: '`true` when this is the stored answer to an earlier request with the same `Idempotency-Key` and body.',
    schema: { type: 'string' as const, enum: ['true'] },
  },
};
const LOCATION_HEADER_DOC = (what: string) => ({ Location: { description: what, schema: { type: 'string' as const } } });

/** Response headers of a write's 200/201 answer (`location`: 201 names the created resource). */
export function writeResponseHeaders(opts: { location?: boolean } = {}) {
  return { ...(opts.location ? LOCATION_HEADER_DOC('The created resource.') : {}), ...REPLAYED_HEADER_DOC };
}

export const acceptedResponse = {
  202: {
    description:
      'Accepted for later: the client sent `Prefer: respond-async`, or a legacy system is unavailable. ' +
      'Poll the operation at `Location`.',
    content: { 'application/json': { schema: AcceptedSchema } },
    headers: {
      ...LOCATION_HEADER_DOC('The operation: `/v1/operations/{operationId}`.'),
      'Preference-Applied': { description: '`respond-async` when the client asked for it.', schema: { type: 'string' as const } },
      ...REPLAYED_HEADER_DOC,
    },
  },
};

/**
 * Turns a submit result into the HTTP answer: 202 + Location for accepted writes, otherwise 201
 * for a created resource and 200 for an existing or changed one, with `Location` naming it
 * and its body mapped by `toDto`.
 */
export function writeResponse<T, D>(c: Context<ApiEnv>, r: SubmitResult, toDto: (body: T) => D) {
  if (r.outcome === 'accepted') {
    const href = `/v1/operations/${encodeURIComponent(r.operationId)}`;
    c.header('Location', href);
    if (submitContext(c).preferAsync) c.header('Preference-Applied', 'respond-async');
    return { kind: 'accepted' as const, body: { operationId: r.operationId, status: 'queued' as const, href } };
  }
  c.header('Location', resourceHref(r.resource));
  return { kind: 'completed' as const, status: r.created ? (201 as const) : (200 as const), body: toDto(r.body as T) };
}
