/**
 * Ops routes of the TERMSTAT snapshot import (issue 6): the runs with their state, progress and
 * fault (`GET /ops/batch/imports`), a look for a snapshot now (`POST /ops/batch/imports`) and a
 * retry of one snapshot date (`POST /ops/batch/imports/{date}/retry`). The import itself runs in
 * the background under its cluster-wide lock; these answer 202 and the runs show the outcome.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { TermstatImporter } from '../../jobs/batch/termstat-import.ts';
import { snapshotNotFound } from '../../jobs/batch/termstat-import.ts';
import type { ApiEnv } from '../env.ts';
import { COMMON_ERRORS, problemResponses } from '../schemas/problem.ts';
import { json } from '../schemas/common.ts';

const ImportRun = z
  .object({
    id: z.string(),
    snapshotDate: z.string().openapi({ example: '2026-11-27' }),
    file: z.string().openapi({ example: 'TERMSTAT_20261127.DAT' }),
    state: z.enum(['running', 'imported', 'corrupt', 'failed', 'superseded']).openapi({
      description:
        '`running` (records so far in `records`), `imported`, `corrupt` (nothing applied; moved to /outbox/error, dead letter raised), ' +
        '`failed` (transport or shutdown; nothing applied, read again by the next poll), `superseded` (older than the applied snapshot; archived unapplied).',
    }),
    records: z.number().int(),
    statusChanges: z.number().int(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    durationMs: z.number().int().nullable(),
    reason: z.string().nullable(),
    line: z.number().int().nullable().openapi({ description: 'Record (line) number of a corrupt file\'s fault.' }),
    deadLetterId: z.string().nullable(),
  })
  .openapi('SnapshotImportRun');

const Started = z
  .object({ status: z.enum(['started', 'queued']).openapi({ description: '`queued`: runs after the look already in progress.' }) })
  .openapi('SnapshotImportStarted');

const DateParam = z.iso.date().openapi({ param: { name: 'date', in: 'path' }, example: '2026-11-27' });

/** Mounts the batch import routes on the ops sub-app. */
export function mountBatchImportRoutes(
  app: OpenAPIHono<ApiEnv>,
  deps: { importer: TermstatImporter; read: MiddlewareHandler<ApiEnv>; write: MiddlewareHandler<ApiEnv>; mountPath: string },
): void {
  const tags = ['Operations (ops)'];
  const { importer } = deps;
  const location = `${deps.mountPath}/batch/imports`;

  const list = createRoute({
    method: 'get',
    path: '/batch/imports',
    tags,
    operationId: 'listSnapshotImports',
    summary: 'TERMSTAT snapshot imports (newest first)',
    description: 'State, records (so far, while running), status changes, duration, and the reason and line of a corrupt file. Requires `ops:read`.',
    security: [{ bearerAuth: ['ops:read'] }],
    middleware: [deps.read],
    request: { query: z.object({ limit: z.coerce.number().int().min(1).max(200).optional() }).strict() },
    responses: { 200: { description: 'Runs', content: json(z.object({ items: z.array(ImportRun) })) }, ...problemResponses(422, ...COMMON_ERRORS) },
  });
  app.openapi(list, async (c) => c.json({ items: await importer.list(c.req.valid('query').limit ?? 20) }, 200));

  const look = createRoute({
    method: 'post',
    path: '/batch/imports',
    tags,
    operationId: 'lookForSnapshots',
    summary: 'Look for a TERMSTAT snapshot now',
    description: 'Imports every complete snapshot in the outbox, oldest first, in the background. Requires `ops:write`.',
    security: [{ bearerAuth: ['ops:write'] }],
    middleware: [deps.write],
    responses: {
      202: { description: 'Started', content: json(Started), headers: { Location: { schema: { type: 'string' } } } },
      ...problemResponses(...COMMON_ERRORS),
    },
  });
  app.openapi(look, (c) => {
    const { alreadyRunning } = importer.trigger();
    return c.json({ status: alreadyRunning ? ('queued' as const) : ('started' as const) }, 202, { Location: location });
  });

  const retry = createRoute({
    method: 'post',
    path: '/batch/imports/{date}/retry',
    tags,
    operationId: 'retrySnapshotImport',
    summary: 'Import the snapshot of one date again',
    description:
      'Reads `TERMSTAT_<date>` from the outbox now (e.g. after a failed run, or when TMO delivered a corrected file). ' +
      '404 when the outbox has no complete snapshot (data and marker) of that date. Requires `ops:write`.',
    security: [{ bearerAuth: ['ops:write'] }],
    middleware: [deps.write],
    request: { params: z.object({ date: DateParam }) },
    responses: {
      202: { description: 'Started', content: json(Started), headers: { Location: { schema: { type: 'string' } } } },
      ...problemResponses(404, ...COMMON_ERRORS),
    },
  });
  app.openapi(retry, async (c) => {
    const { date } = c.req.valid('param');
    if (!(await importer.hasSnapshot(date))) throw snapshotNotFound(date);
    const { alreadyRunning } = importer.trigger({ onlyDate: date });
    return c.json({ status: alreadyRunning ? ('queued' as const) : ('started' as const) }, 202, { Location: location });
  });
}
