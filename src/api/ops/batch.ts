/**
 * Operator routes of the settings-file exchange (`/ops/batch/...`): the ledger of files sent to
 * TMO with their state and counts, and an export on demand. `ops:read` reads, `ops:write` acts.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { json } from '../schemas/common.ts';
import type { MiddlewareHandler } from 'hono';
import { ConflictError, NotFoundError } from '../../domain/errors/index.ts';
import type { AuditTrail } from '../../jobs/audit.ts';
import { visibleFileState, type ExportResult, type FileRecord } from '../../jobs/batch/index.ts';
import type { ApiEnv } from '../env.ts';
import { problemFromError, problemResponse } from '../problem.ts';
import { COMMON_ERRORS, problemResponses } from '../schemas/problem.ts';
import { validationHook } from '../validation.ts';
import { OPS_READ, OPS_WRITE } from './index.ts';

export interface BatchOpsDeps {
  exchange: { exportNow(): Promise<ExportResult> };
  ledger: {
    list(limit: number, before?: number): Promise<{ files: FileRecord[]; next: number | null }>;
    get(name: string): Promise<FileRecord | null>;
    overdueMs: number;
  };
  audit: AuditTrail;
  requireScope: (...scopes: string[]) => MiddlewareHandler<ApiEnv>;
}

const security = (scope: string) => [{ bearerAuth: [scope] }];

const BatchFile = z
  .object({
    name: z.string().openapi({ example: 'TPU_20261127_001.DAT' }),
    state: z.enum(['uploading', 'sent', 'acknowledged', 'refused', 'overdue', 'abandoned']).openapi({
      description:
        '`uploading` (ledger written, not yet in TMO\'s inbox) → `sent` → `acknowledged` (ACK) | `refused` (NAK: its changes go out again) | ' +
        '`overdue` (sent, no answer within BATCH_ANSWER_OVERDUE_MS). `abandoned`: interrupted before TMO could see it; its changes went out under a new name.',
    }),
    records: z.number().int(),
    applied: z.number().int(),
    rejected: z.number().int(),
    bytes: z.number().int().nullable(),
    reason: z.string().nullable().openapi({ example: 'batch.hash_mismatch', description: 'Why TMO refused the file, or why it was abandoned.' }),
    duplicateAnswerAt: z.string().nullable().openapi({ description: 'When TMO answered DUP for this name (it never replaces the first answer).' }),
    answerError: z.string().nullable().openapi({ description: 'The last answer for this file that could not be read (moved to /outbox/error).' }),
    createdAt: z.string(),
    uploadedAt: z.string().nullable(),
    sentAt: z.string().nullable(),
    answeredAt: z.string().nullable(),
    processedOn: z.string().nullable().openapi({ description: 'TMO\'s processing day (from the ACK).' }),
  })
  .openapi('BatchFile');

const FileName = z.string().regex(/^TPU_\d{8}_\d{3}\.DAT$/).openapi({ example: 'TPU_20261127_001.DAT' });

function dto(f: FileRecord, overdueMs: number): z.infer<typeof BatchFile> {
  return {
    name: f.name,
    state: visibleFileState(f, Date.now(), overdueMs),
    records: f.records,
    applied: f.applied,
    rejected: f.rejected,
    bytes: f.bytes,
    reason: f.reason,
    duplicateAnswerAt: f.duplicateAt,
    answerError: f.answerError,
    createdAt: f.createdAt,
    uploadedAt: f.uploadedAt,
    sentAt: f.sentAt,
    answeredAt: f.answeredAt,
    processedOn: f.processedOn,
  };
}

/** The `/ops/batch` routes; mount at `/ops` behind `authenticate`. */
export function createBatchOpsApp(deps: BatchOpsDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
  const read = deps.requireScope(OPS_READ);
  const write = deps.requireScope(OPS_WRITE);
  const tags = ['Operations (ops)'];
  app.onError((err, c) => problemResponse(c, problemFromError(err).init));

  const list = createRoute({
    method: 'get',
    path: '/batch/files',
    tags,
    operationId: 'listBatchFiles',
    summary: 'Settings files sent to TMO, newest first',
    description: 'Requires `ops:read`. `cursor` is the `nextCursor` of the previous page.',
    security: security(OPS_READ),
    middleware: [read],
    request: {
      query: z.strictObject({
        limit: z.coerce.number().int().min(1).max(100).optional(),
        cursor: z.string().regex(/^\d{1,15}$/, 'must be a cursor this API returned').optional(),
      }),
    },
    responses: {
      200: { description: 'A page', content: json(z.object({ items: z.array(BatchFile), nextCursor: z.string().nullable() })) },
      ...problemResponses(422, ...COMMON_ERRORS),
    },
  });
  app.openapi(list, async (c) => {
    const q = c.req.valid('query');
    const page = await deps.ledger.list(q.limit ?? 20, q.cursor === undefined ? undefined : Number(q.cursor));
    return c.json({ items: page.files.map((f) => dto(f, deps.ledger.overdueMs)), nextCursor: page.next === null ? null : String(page.next) }, 200);
  });

  const getOne = createRoute({
    method: 'get',
    path: '/batch/files/{name}',
    tags,
    operationId: 'getBatchFile',
    summary: 'One settings file of the ledger',
    description: 'Requires `ops:read`.',
    security: security(OPS_READ),
    middleware: [read],
    request: { params: z.object({ name: FileName }) },
    responses: { 200: { description: 'The file', content: json(BatchFile) }, ...problemResponses(404, ...COMMON_ERRORS) },
  });
  app.openapi(getOne, async (c) => {
    const f = await deps.ledger.get(c.req.valid('param').name);
    if (!f) throw new NotFoundError('batch.file_not_found', 'No settings file with this name in the ledger.');
    return c.json(dto(f, deps.ledger.overdueMs), 200);
  });

  const exportNow = createRoute({
    method: 'post',
    path: '/batch/exports',
    tags,
    operationId: 'exportSettingsNow',
    summary: 'Export the pending settings changes now',
    description:
      'Sends one settings file with every pending change (the latest per terminal), as the nightly run does. `file` is null when ' +
      'nothing is pending. 409 `batch.export_running` while another process runs the exchange. Requires `ops:write`; audited.',
    security: security(OPS_WRITE),
    middleware: [write],
    responses: {
      200: {
        description: 'Done',
        content: json(z.object({ file: z.string().nullable(), records: z.number().int(), outcome: z.enum(['sent', 'nothing_pending']) }).openapi('BatchExport')),
      },
      ...problemResponses(409, ...COMMON_ERRORS),
    },
  });
  app.openapi(exportNow, async (c) => {
    const actor = c.get('principal').subject;
    const r = await deps.exchange.exportNow();
    if (r.outcome === 'busy') {
      await deps.audit.record({ actor, action: 'batch.export', target: 'tpu', outcome: 'rejected', detail: 'another run in progress' });
      throw new ConflictError('batch.export_running', 'Another process is running the settings exchange; try again shortly.');
    }
    const body = r.outcome === 'sent' ? { outcome: r.outcome, file: r.file, records: r.records } : { outcome: r.outcome, file: null, records: 0 };
    await deps.audit.record({ actor, action: 'batch.export', target: 'tpu', outcome: 'succeeded', detail: body.file ?? 'nothing pending' });
    return c.json(body, 200);
  });

  return app;
}
