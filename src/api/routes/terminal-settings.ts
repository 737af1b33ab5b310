import { createRoute, z } from '@hono/zod-openapi';
import type { Services } from '../../domain/services/types.ts';
import { SETTINGS_LANGUAGES } from '../../domain/terminal-settings.ts';
import type { TerminalSettingsResource } from '../../jobs/batch/settings.ts';
import { requireScope } from '../auth/middleware.ts';
import { callContext } from '../context.ts';
import { COMMON_ERRORS, problemResponses } from '../schemas/problem.ts';
import { json, terminalIdParam } from '../schemas/common.ts';
import { AcceptedSchema, submitContext } from '../writes.ts';
import { routeGroup, scopeNote, security, type RouteDeps } from './shared.ts';


const receiptLine = z
  .string()
  .max(40, 'must be at most 40 characters')
  .openapi({
    example: 'Grazie e arrivederci',
    description: 'Up to 40 characters; sent as upper-case ASCII (accents removed, ß → SS, cut at 40). `""` clears the line.',
  });

export const TerminalSettingsBody = z
  .strictObject({
    tipping: z.boolean(),
    contactless: z.boolean(),
    contactlessLimit: z.strictObject({
      amount: z.number().int('must be an integer').min(0, 'must be 0 or more').max(999_999, 'must be at most 999999').openapi({ example: 5000, description: 'Minor units (euro cents), 0–999999.' }),
      currency: z.literal('EUR', 'must be EUR'),
    }),
    receiptLines: z.tuple([receiptLine, receiptLine], 'must be an array of exactly two strings'),
    language: z.enum(SETTINGS_LANGUAGES, 'must be one of it, en, de, fr'),
  })
  .openapi('TerminalSettings', { description: 'The full set of file-managed settings: each change replaces all of them.' });

const ChangeState = z.enum(['accepted', 'sent', 'applied', 'rejected', 'superseded']).openapi({
  description:
    '`accepted` (waiting for the next file) → `sent` (in a file TMO has or will pick up; `file` says which) → `applied` | `rejected` (`reason`). ' +
    '`superseded`: a newer change of the terminal went out instead.',
});

const TerminalSettingsState = z
  .object({
    terminalId: z.string(),
    applied: z
      .object({ settings: TerminalSettingsBody, appliedAt: z.string(), operationId: z.string() })
      .nullable()
      .openapi({ description: 'What TMO applied last, as known from its acknowledgements; null when no change was applied yet.' }),
    pendingChange: z
      .object({
        operationId: z.string(),
        state: ChangeState,
        settings: TerminalSettingsBody,
        acceptedAt: z.string(),
        updatedAt: z.string(),
        file: z.object({ name: z.string(), recordNo: z.number().int() }).nullable(),
        reason: z.string().nullable().openapi({ example: 'terminal.decommissioned', description: 'Why it was rejected (a stable code, never a legacy one).' }),
      })
      .nullable()
      .openapi({ description: 'The latest change of the terminal and where it is.' }),
  })
  .openapi('TerminalSettingsState');

export interface TerminalSettingsRouteDeps extends RouteDeps {
  settings: Pick<TerminalSettingsResource, 'submit' | 'view'>;
  services: Services;
}

/** `PUT` / `GET /v1/terminals/{terminalId}/settings`: settings TMO only takes by the nightly file. */
export function terminalSettingsRoutes({ settings, services, beforeWrite }: TerminalSettingsRouteDeps) {
  const app = routeGroup();

  const put = createRoute({
    method: 'put',
    path: '/terminals/{terminalId}/settings',
    tags: ['Terminals'],
    operationId: 'putTerminalSettings',
    summary: 'Change the settings TMO takes by file (tipping, contactless, receipt lines, language)',
    description:
      'Always 202: the change goes to TMO in the next settings file (nightly, or on demand by operators). Poll `Location`: the ' +
      'operation ends `succeeded` when TMO applied it, `failed` with the reason otherwise. Send the full set: each change replaces ' +
      'all of them. A newer change of the same terminal accepted before the file leaves replaces this one (`terminal.settings_superseded`). ' +
      '`Idempotency-Key` is required.' +
      scopeNote('terminals:write'),
    security: security('terminals:write'),
    middleware: [requireScope('terminals:write'), ...beforeWrite],
    request: {
      params: z.object({ terminalId: terminalIdParam }),
      body: { content: json(TerminalSettingsBody), required: true },
    },
    responses: {
      202: {
        description: 'Accepted for the next settings file. Poll the operation at `Location`.',
        content: json(AcceptedSchema),
        headers: { Location: { schema: { type: 'string' } } },
      },
      ...problemResponses(400, 404, 409, 413, 415, 422, ...COMMON_ERRORS),
    },
  });

  app.openapi(put, async (c) => {
    const { terminalId } = c.req.valid('param');
    const body = c.req.valid('json');
    const { operationId } = await settings.submit(
      terminalId,
      { ...body, receiptLines: [body.receiptLines[0], body.receiptLines[1]] },
      submitContext(c),
    );
    const href = `/v1/operations/${encodeURIComponent(operationId)}`;
    c.header('Location', href);
    return c.json({ operationId, status: 'queued' as const, href }, 202);
  });

  const get = createRoute({
    method: 'get',
    path: '/terminals/{terminalId}/settings',
    tags: ['Terminals'],
    operationId: 'getTerminalSettings',
    summary: 'Settings TMO applied last, and the latest change with its state',
    description: scopeNote('terminals:read').trim(),
    security: security('terminals:read'),
    middleware: [requireScope('terminals:read')],
    request: { params: z.object({ terminalId: terminalIdParam }) },
    responses: { 200: { description: 'The settings', content: json(TerminalSettingsState) }, ...problemResponses(404, ...COMMON_ERRORS) },
  });

  app.openapi(get, async (c) => {
    const { terminalId } = c.req.valid('param');
    const view = await settings.view(terminalId);
    if (view) return c.json(view, 200);
    // nothing recorded here: tell an unknown terminal (404) from one never changed by file
    await services.terminals.get(terminalId, callContext(c));
    return c.json({ terminalId, applied: null, pendingChange: null }, 200);
  });

  return app;
}
