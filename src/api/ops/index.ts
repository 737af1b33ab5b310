/**
 * Operator routes, mounted by `createApp({ ops })` at `/ops` behind `authenticate`:
 * dead letters (list, summary, get, retry, bulk retry, discard), the audit trail, circuit
 * breakers and the bull-board queue console. `ops:read` reads, `ops:write` acts; every action
 * is audited (by the dead-letter store, so refused and failed attempts are recorded too).
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Queue } from 'bullmq';
import type { MiddlewareHandler } from 'hono';
import type { CircuitStatusPort } from '../../domain/circuit.port.ts';
import { ConflictError, NotFoundError } from '../../domain/errors/index.ts';
import type { AuditTrail } from '../../jobs/audit.ts';
import type { DeadLetter, DeadLetters } from '../../jobs/dead-letters.ts';
import type { Operations } from '../../jobs/operations.ts';
import { LEGACY_SYSTEMS } from '../../jobs/types.ts';
import type { ApiEnv } from '../env.ts';
import { handleApiError } from '../error-handler.ts';
import { freeText } from '../schemas/common.ts';
import { COMMON_ERRORS, problemResponses } from '../schemas/problem.ts';
import { validationHook } from '../validation.ts';
import type { TermstatImporter } from '../../jobs/batch/termstat-import.ts';
import { mountBatchImportRoutes } from './batch-imports.ts';
import { queueConsole } from './queue-console.ts';
import { json } from '../schemas/common.ts';

export const OPS_READ = 'ops:read';
export const OPS_WRITE = 'ops:write';

export interface OpsAppDeps {
  operations: Operations;
  deadLetters: DeadLetters;
  audit: AuditTrail;
  circuits: CircuitStatusPort;
  /** queues shown in the console (`operations.queues.all`) */
  queues: readonly Queue[];
  requireScope: (...scopes: string[]) => MiddlewareHandler<ApiEnv>;
  /** the TERMSTAT import (`/ops/batch/imports`); absent when no file exchange is configured */
  batchImports?: TermstatImporter;
  /** where the app is mounted (for the console's asset URLs and Location headers). Default `/ops`. */
  mountPath?: string;
}

const security = (scope: string) => [{ bearerAuth: [scope] }];

const System = z.enum(LEGACY_SYSTEMS);
const State = z.enum(['open', 'retrying', 'resolved', 'discarded']);
const DeadLetterId = z.string().regex(/^(op|batch)_[0-9a-f]{32}$/).openapi({ example: 'op_3f1c0d7e9b2a4c6d8e0f1a2b3c4d5e6f' });

const DeadLetterSchema = z
  .object({
    id: z.string(),
    operationId: z.string(),
    kind: z.string().openapi({ example: 'merchant.onboard' }),
    system: System,
    operation: z.string().openapi({ example: 'tmo.registerMerchant', description: 'The step that failed.' }),
    errorCode: z.string().openapi({ example: 'tmo.unavailable' }),
    errorKind: z.string(),
    message: z.string().openapi({ description: 'Sanitized message (no IBANs or credentials).' }),
    reason: z.enum(['not_retryable', 'attempts_exhausted', 'max_age', 'stalled']),
    attempts: z.number().int(),
    deadLetterCount: z.number().int(),
    firstFailedAt: z.string(),
    lastFailedAt: z.string(),
    payload: z.unknown().openapi({ description: 'The operation input, sensitive fields masked.' }),
    state: State,
    updatedAt: z.string(),
    lastAction: z
      .object({ by: z.string(), action: z.string(), at: z.string(), reason: z.string().optional() })
      .nullable(),
  })
  .openapi('DeadLetter');

const DeadLetterPage = z.object({ items: z.array(DeadLetterSchema), nextCursor: z.string().nullable() }).openapi('DeadLetterPage');

const filterQuery = {
  system: System.optional(),
  errorCode: z.string().max(100).optional(),
  from: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Last failure at or after.' }),
  to: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Last failure at or before.' }),
  state: State.optional().openapi({ description: 'Default `open`.' }),
};

const SummarySchema = z
  .object({
    items: z.array(
      z.object({
        errorCode: z.string(),
        count: z.number().int(),
        systems: z.array(System),
        oldestFailureAt: z.string(),
        newestFailureAt: z.string(),
      }),
    ),
  })
  .openapi('DeadLetterSummary');

const RetryAccepted = z
  .object({ id: z.string(), state: State, jobId: z.string(), operation: z.string().openapi({ description: 'Poll this.' }) })
  .openapi('DeadLetterRetry');

const force = z
  .boolean()
  .optional()
  .openapi({ description: 'Also retry dead letters whose error is not retryable (a business refusal): they will usually fail again.' });

const RetryOneBody = z.object({ force }).strict();

const RetryAllBody = z
  .object({
    system: System.optional(),
    errorCode: z.string().max(100).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    all: z.literal(true).optional().openapi({ description: 'Retry every open dead letter: required when no filter is given.' }),
    force,
    max: z.number().int().min(1).max(1000).optional().openapi({ description: 'At most this many (default 1000).' }),
  })
  .strict()
  .refine((b) => b.all === true || b.system !== undefined || b.errorCode !== undefined || b.from !== undefined || b.to !== undefined, {
    path: ['all'],
    message: 'give a filter (system, errorCode, from, to) or all: true',
  });

const RetryAllResultSchema = z
  .object({
    matched: z.number().int(),
    retried: z.array(z.string()),
    skipped: z.array(z.object({ id: z.string(), state: z.string() })),
  })
  .openapi('DeadLetterRetryAll');

const DiscardBody = z.object({ reason: freeText(500, 3) }).strict();

const AuditEntrySchema = z
  .object({
    id: z.string(),
    at: z.string(),
    actor: z.string(),
    action: z.string(),
    target: z.string(),
    outcome: z.enum(['succeeded', 'rejected', 'failed']),
    detail: z.string(),
  })
  .openapi('AuditEntry');

const CircuitSchema = z
  .object({
    system: z.string(),
    state: z.enum(['closed', 'open', 'half_open']),
    lastTransitionAt: z.string().nullable(),
    stats: z.object({
      successes: z.number(),
      failures: z.number(),
      timeouts: z.number(),
      rejects: z.number(),
      fires: z.number(),
    }),
    bulkhead: z.object({ limit: z.number(), active: z.number(), queued: z.number() }),
  })
  .openapi('Circuit');

const cursorLimit = {
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional().openapi({ description: '1–100, default 20.' }),
};

function subject(c: { get: (k: 'principal') => ApiEnv['Variables']['principal'] }): string {
  return c.get('principal').subject;
}

function dto(d: DeadLetter): z.infer<typeof DeadLetterSchema> {
  return { ...d, lastAction: d.lastAction ?? null };
}

/** The `/ops` sub-app (OpenAPIHono: its routes join `/openapi.json`). */
export function createOpsApp(deps: OpsAppDeps): OpenAPIHono<ApiEnv> {
  const { deadLetters, audit, circuits, requireScope } = deps;
  const mountPath = deps.mountPath ?? '/ops';
  const app = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
  const read = requireScope(OPS_READ);
  const write = requireScope(OPS_WRITE);
  const tags = ['Operations (ops)'];

  app.onError((err, c) => handleApiError(err, c));

  const list = createRoute({
    method: 'get',
    path: '/dead-letters',
    tags,
    operationId: 'listDeadLetters',
    summary: 'List dead letters (newest failure first)',
    description: 'Filters: legacy system, error code, time range of the last failure, state (default `open`). Requires `ops:read`.',
    security: security(OPS_READ),
    middleware: [read],
    request: { query: z.object({ ...filterQuery, ...cursorLimit }).strict() },
    responses: { 200: { description: 'A page', content: json(DeadLetterPage) }, ...problemResponses(422, ...COMMON_ERRORS) },
  });
  app.openapi(list, async (c) => {
    const { cursor, limit, ...filter } = c.req.valid('query');
    const page = await deadLetters.list(filter, { limit: limit ?? 20, ...(cursor ? { cursor } : {}) });
    return c.json({ items: page.items.map(dto), nextCursor: page.nextCursor }, 200);
  });

  const summary = createRoute({
    method: 'get',
    path: '/dead-letters/summary',
    tags,
    operationId: 'summarizeDeadLetters',
    summary: 'Dead letters grouped by error code',
    description: 'Requires `ops:read`.',
    security: security(OPS_READ),
    middleware: [read],
    request: {
      query: z.object({ system: filterQuery.system, from: filterQuery.from, to: filterQuery.to, state: filterQuery.state }).strict(),
    },
    responses: { 200: { description: 'Counts per error code', content: json(SummarySchema) }, ...problemResponses(422, ...COMMON_ERRORS) },
  });
  app.openapi(summary, async (c) => c.json({ items: await deadLetters.summary(c.req.valid('query')) }, 200));

  const getOne = createRoute({
    method: 'get',
    path: '/dead-letters/{id}',
    tags,
    operationId: 'getDeadLetter',
    summary: 'Read a dead letter',
    description: 'Requires `ops:read`.',
    security: security(OPS_READ),
    middleware: [read],
    request: { params: z.object({ id: DeadLetterId }) },
    responses: { 200: { description: 'The dead letter', content: json(DeadLetterSchema) }, ...problemResponses(404, ...COMMON_ERRORS) },
  });
  app.openapi(getOne, async (c) => {
    const d = await deadLetters.get(c.req.valid('param').id);
    if (!d) throw new NotFoundError('dead_letter.not_found', 'No dead letter with this id.');
    return c.json(dto(d), 200);
  });

  const retryOne = createRoute({
    method: 'post',
    path: '/dead-letters/{id}/retry',
    tags,
    operationId: 'retryDeadLetter',
    summary: 'Retry a dead letter',
    description:
      'Re-enqueues the operation; it resumes from its stored steps, so finished legacy calls are not sent again. ' +
      'Only an `open` dead letter can be retried: a concurrent or repeated retry answers 409. A dead letter whose error is ' +
      'not retryable (`reason: not_retryable`, e.g. a terminal not yet shipped) would fail again: 409 ' +
      '`dead_letter.not_retryable` unless the body says `force: true`. Requires `ops:write`.',
    security: security(OPS_WRITE),
    middleware: [write],
    request: { params: z.object({ id: DeadLetterId }), body: { content: json(RetryOneBody), required: false } },
    responses: {
      202: { description: 'Re-enqueued', content: json(RetryAccepted), headers: { Location: { schema: { type: 'string' } } } },
      ...problemResponses(404, 409, ...COMMON_ERRORS),
    },
  });
  app.openapi(retryOne, async (c) => {
    const { id } = c.req.valid('param');
    // an empty body (or none) is `{}`
    const { force: forced } = (await c.req.text()) === '' ? {} : c.req.valid('json');
    const d = await deadLetters.get(id);
    if (d && d.state === 'open' && d.reason === 'not_retryable' && forced !== true) {
      await audit.record({ actor: subject(c), action: 'dead_letter.retry', target: id, outcome: 'rejected', detail: `not retryable: ${d.errorCode}` });
      throw new ConflictError(
        'dead_letter.not_retryable',
        `The error ${d.errorCode} is not retryable: retrying would fail again. Fix the cause first, then retry with force: true, or discard it.`,
      );
    }
    const r = await deadLetters.retry(id, subject(c));
    const operation = `/v1/operations/${r.id}`;
    c.header('Location', operation);
    return c.json({ ...r, operation }, 202);
  });

  const retryAll = createRoute({
    method: 'post',
    path: '/dead-letters/retry',
    tags,
    operationId: 'retryDeadLetters',
    summary: 'Retry every open dead letter matching a filter',
    description:
      'Give a filter (`system`, `errorCode`, `from`, `to`) or `all: true` (every open dead letter); neither answers 422. ' +
      'Dead letters whose error is not retryable are skipped (listed with state `not_retryable`) unless `force: true`. ' +
      'At most `max`. Requires `ops:write`.',
    security: security(OPS_WRITE),
    middleware: [write],
    request: { body: { content: json(RetryAllBody), required: true } },
    responses: { 202: { description: 'Re-enqueued', content: json(RetryAllResultSchema) }, ...problemResponses(422, ...COMMON_ERRORS) },
  });
  app.openapi(retryAll, async (c) => {
    const { max, all: _all, force: forced, ...filter } = c.req.valid('json');
    return c.json(await deadLetters.retryAll(filter, subject(c), { ...(max ? { max } : {}), force: forced === true }), 202);
  });

  const discard = createRoute({
    method: 'post',
    path: '/dead-letters/{id}/discard',
    tags,
    operationId: 'discardDeadLetter',
    summary: 'Discard a dead letter',
    description: 'The operation stays failed and will not be applied. `reason` is required and audited. Requires `ops:write`.',
    security: security(OPS_WRITE),
    middleware: [write],
    request: { params: z.object({ id: DeadLetterId }), body: { content: json(DiscardBody), required: true } },
    responses: { 200: { description: 'Discarded', content: json(DeadLetterSchema) }, ...problemResponses(404, 409, 422, ...COMMON_ERRORS) },
  });
  app.openapi(discard, async (c) => {
    const d = await deadLetters.discard(c.req.valid('param').id, c.req.valid('json').reason, subject(c));
    return c.json(dto(d), 200);
  });

  const auditRoute = createRoute({
    method: 'get',
    path: '/audit',
    tags,
    operationId: 'listAudit',
    summary: 'Ops audit trail (newest first)',
    description: 'Who did what to which dead letter, when, and the outcome. Requires `ops:read`.',
    security: security(OPS_READ),
    middleware: [read],
    request: { query: z.object(cursorLimit).strict() },
    responses: {
      200: { description: 'A page', content: json(z.object({ items: z.array(AuditEntrySchema), nextCursor: z.string().nullable() })) },
      ...problemResponses(422, ...COMMON_ERRORS),
    },
  });
  app.openapi(auditRoute, async (c) => {
    const { cursor, limit } = c.req.valid('query');
    return c.json(await audit.list({ limit: limit ?? 20, ...(cursor ? { cursor } : {}) }), 200);
  });

  const circuitsRoute = createRoute({
    method: 'get',
    path: '/circuits',
    tags,
    operationId: 'listCircuits',
    summary: 'Circuit breakers of the legacy systems',
    description: 'State, counters and last transition per legacy system. Requires `ops:read`.',
    security: security(OPS_READ),
    middleware: [read],
    responses: { 200: { description: 'One per system', content: json(z.object({ items: z.array(CircuitSchema) })) }, ...problemResponses(...COMMON_ERRORS) },
  });
  app.openapi(circuitsRoute, (c) =>
    c.json(
      {
        items: circuits.circuits().map((s) => ({
          system: s.system,
          state: s.state,
          lastTransitionAt: s.lastTransitionAt,
          stats: { ...s.stats },
          bulkhead: { ...s.bulkhead },
        })),
      },
      200,
    ),
  );

  if (deps.batchImports) mountBatchImportRoutes(app, { importer: deps.batchImports, read, write, mountPath });

  const console = queueConsole({
    queues: deps.queues,
    basePath: `${mountPath}/queues`,
    writeScope: OPS_WRITE,
    requireWrite: write,
    onMutation: async (m) => {
      await audit.record({
        actor: m.actor,
        action: 'queue_console.mutation',
        target: `${m.method} ${m.path}`,
        outcome: m.status >= 500 ? 'failed' : m.status >= 400 ? 'rejected' : 'succeeded',
        detail: `HTTP ${m.status}`,
      });
    },
  });
  app.use('/queues', read);
  app.use('/queues/*', read);
  app.all('/queues', console);
  app.all('/queues/*', console);

  return app;
}

export { createOperationsApp, type OperationsAppDeps } from './operations.ts';
