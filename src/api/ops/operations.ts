import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Operations } from '../../jobs/operations.ts';
import { OPERATION_KINDS } from '../../jobs/types.ts';
import type { ApiEnv } from '../env.ts';
import { handleApiError } from '../error-handler.ts';
import { NotFoundError } from '../../domain/errors/index.ts';
import { PROBLEM_TYPE_BASE, ProblemError, problem, problemFromError } from '../problem.ts';
import { COMMON_ERRORS, problemResponses } from '../schemas/problem.ts';
import { validationHook } from '../validation.ts';
import { json } from '../schemas/common.ts';
import { resourceHref } from '../resource-links.ts';

export interface OperationsAppDeps {
  operations: Pick<Operations, 'getWithOwner' | 'deadLetters'>;
}

const StepSchema = z.object({
  name: z.string().openapi({ example: 'crm.createCustomer' }),
  system: z.enum(['tmo', 'crm']),
  outcome: z.enum(['pending', 'running', 'succeeded', 'failed']),
  attempts: z.number().int(),
  startedAt: z.string().nullable().openapi({ description: 'When its first attempt started; null while pending.' }),
  finishedAt: z.string().nullable().openapi({ description: 'When its last attempt ended, succeeded or failed; null while pending or running (again).' }),
  lastErrorCode: z.string().nullable(),
});

const OperationSchema = z
  .object({
    id: z.string(),
    kind: z.enum(OPERATION_KINDS),
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'discarded']).openapi({
      description: '`discarded`: failed, and an operator decided it will not be applied (see `discarded.reason`).',
    }),
    createdAt: z.string(),
    updatedAt: z.string(),
    attempts: z.number().int(),
    steps: z.array(StepSchema),
    resource: z
      .object({ type: z.enum(['merchant', 'partner', 'terminal']), id: z.string(), href: z.string() })
      .nullable()
      .openapi({ description: 'The resulting resource once succeeded (also the `Location` header).' }),
    problem: z
      .object({
        type: z.string(),
        title: z.string(),
        status: z.number().int(),
        code: z.string(),
        detail: z.string(),
        errors: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
      })
      .nullable()
      .openapi({ description: 'Why it failed (RFC 9457 shape), when `status` is `failed` or `discarded`.' }),
    discarded: z
      .object({ at: z.string(), reason: z.string() })
      .nullable()
      .openapi({ description: 'When and why an operator discarded it (status `discarded`); null otherwise.' }),
  })
  .openapi('Operation');

/**
 * `GET /v1/operations/{operationId}`: the status of an accepted write. Mount at `/` on the
 * root app (the path is absolute) after `/v1/*` authentication.
 */
export function createOperationsApp(deps: OperationsAppDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
  app.onError((err, c) => handleApiError(err, c));

  const route = createRoute({
    method: 'get',
    path: '/v1/operations/{operationId}',
    tags: ['Operations'],
    operationId: 'getOperation',
    summary: 'Status of an accepted write',
    description:
      'A write answered 202 points here (`Location`). `status` is queued, running, succeeded (see `resource`) or failed ' +
      '(see `problem`). Readable by the submitter (the token subject that made the write) or with `ops:read`; ' +
      'for anyone else it does not exist (404), so one client never learns of or reads another\'s writes.',
    security: [{ bearerAuth: [] }],
    request: { params: z.object({ operationId: z.string().regex(/^op_[0-9a-f]{32}$/) }) },
    responses: {
      200: { description: 'The operation', content: json(OperationSchema), headers: { Location: { schema: { type: 'string' } } } },
      ...problemResponses(404, ...COMMON_ERRORS),
    },
  });

  app.openapi(route, async (c) => {
    const found = await deps.operations.getWithOwner(c.req.valid('param').operationId);
    if (!found) throw new NotFoundError('operation.not_found', 'No operation with this id.');
    const principal = c.get('principal') as ApiEnv['Variables']['principal'] | undefined;
    if (!principal) throw new ProblemError(problem('auth.token_missing'));
    const { view, principal: owner } = found;
    // Another client's operation answers exactly like a missing one: no existence oracle.
    if (principal.subject !== owner && !principal.scopes.has('ops:read')) {
      throw new NotFoundError('operation.not_found', 'No operation with this id.');
    }
    const resource = view.resource ? { ...view.resource, href: resourceHref(view.resource, view.kind) } : null;
    if (resource && view.status === 'succeeded') c.header('Location', resource.href);
    const mapped = view.problem ? problemFromError({ ...view.problem, message: view.problem.detail, fields: view.problem.errors ?? [] }).init : null;
    const problemOf = (p: { code: string; title: string; status: number; detail: string; errors?: { field: string; reason: string }[] }) => ({
      type: PROBLEM_TYPE_BASE + p.code,
      title: p.title,
      status: p.status,
      code: p.code,
      detail: p.detail,
      ...(p.errors ? { errors: p.errors } : {}),
    });
    if (view.status === 'failed' && view.problem && mapped) {
      const deadLetter = await deps.operations.deadLetters.get(view.id);
      if (deadLetter?.state === 'discarded') {
        const reason = deadLetter.lastAction?.reason ?? '';
        const discarded = problem('operation.discarded');
        return c.json(
          {
            ...view,
            resource,
            status: 'discarded' as const,
            problem: problemOf({ ...discarded, detail: `${discarded.detail} Reason given: ${reason}` }),
            discarded: { at: deadLetter.lastAction?.at ?? deadLetter.updatedAt, reason },
          },
          200,
        );
      }
      // The answer to a GET carries no Retry-After: a transient failure says who can retry, not "retry after".
      const detail = view.problem.retryable
        ? `${mapped.title}: the gateway gave up after ${view.attempts} attempt(s). The operation is parked for an operator, ` +
          'who can retry it once the legacy system is back; it is not applied until then.'
        : mapped.detail;
      return c.json({ ...view, resource, problem: problemOf({ ...mapped, detail }), discarded: null }, 200);
    }
    return c.json({ ...view, resource, problem: mapped ? problemOf(mapped) : null, discarded: null }, 200);
  });

  return app;
}
