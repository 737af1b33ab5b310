import { createRoute, z } from '@hono/zod-openapi';
import { requireScope } from '../auth/middleware.ts';
import { callContext } from '../context.ts';
import { nextCursor, pageFromQuery } from '../cursor.ts';
import { toTerminalDto } from '../mappers.ts';
import { jsonResponse } from '../middleware/response-headers/index.ts';
import { COMMON_ERRORS, problemResponses } from '../schemas/problem.ts';
import { cursorQuery, DEFAULT_LIMIT, json, limitQuery, merchantIdParam, terminalIdParam } from '../schemas/common.ts';
import { Terminal, TerminalList, TerminalOrderBody, TerminalStatusBody } from '../schemas/resources.ts';
import { reconcileWithSnapshot } from '../../domain/terminal-snapshot.ts';
import { readThrough, STALE_HEADERS, STALE_IF_ERROR_NOTE, TERMINAL_SNAPSHOT_NOTE } from '../stale-if-error.ts';
import { acceptedResponse, submitContext, writeParameters, writeResponse, writeResponseHeaders } from '../writes.ts';
import { validParam } from '../validation.ts';
import { routeGroup, scopeNote, security, type RouteDeps } from './shared.ts';

export const TERMINALS_MAX_LIMIT = 50;

/** `/v1/merchants/{merchantId}/terminals` and `/v1/terminals` routes. */
export function terminalRoutes({ services, beforeWrite, writes, lastKnown, terminalActivity }: RouteDeps) {
  const app = routeGroup();

  const order = createRoute({
    method: 'post',
    path: '/merchants/{merchantId}/terminals',
    tags: ['Terminals'],
    operationId: 'orderTerminal',
    summary: 'Order a terminal for a merchant',
    description:
      'The new terminal starts `pending` and becomes `active` once shipped. Terminals ship within Italy only. ' +
      'A 504 means the order may have been placed: list the merchant\'s terminals (or retry with the same Idempotency-Key) before ordering again.' +
      scopeNote('terminals:write'),
    security: security('terminals:write'),
    middleware: [requireScope('terminals:write'), ...beforeWrite],
    parameters: writeParameters('post'),
    request: {
      params: z.object({ merchantId: merchantIdParam }),
      body: { content: json(TerminalOrderBody), required: true },
    },
    responses: {
      201: { description: 'Ordered', content: json(Terminal), headers: writeResponseHeaders({ location: true }) },
      ...acceptedResponse,
      ...problemResponses(400, 404, 409, 413, 415, 422, ...COMMON_ERRORS),
    },
  });

  app.openapi(order, async (c) => {
    const { merchantId } = c.req.valid('param');
    const body = c.req.valid('json');
    const order = { model: body.model, contactless: body.contactless, currency: body.currency, shippingAddress: body.shippingAddress };
    const submitted = await writes.submit('terminal.order', { merchantId, order }, submitContext(c));
    const r = writeResponse(c, submitted, toTerminalDto);
    if (r.kind === 'accepted') return c.json(r.body, 202);
    return c.json(r.body, 201);
  });

  const list = createRoute({
    method: 'get',
    path: '/merchants/{merchantId}/terminals',
    tags: ['Terminals'],
    operationId: 'listMerchantTerminals',
    summary: 'List a merchant\'s terminals',
    description: 'Page size 1–50 (default 20).' + scopeNote('terminals:read'),
    security: security('terminals:read'),
    middleware: [requireScope('terminals:read')],
    request: {
      params: z.object({ merchantId: merchantIdParam }),
      query: z.strictObject({ cursor: cursorQuery, limit: limitQuery(TERMINALS_MAX_LIMIT) }),
    },
    responses: { 200: { description: 'A page of terminals', content: json(TerminalList) }, ...problemResponses(404, 422, ...COMMON_ERRORS) },
  });

  app.openapi(list, async (c) => {
    const { merchantId } = c.req.valid('param');
    const q = c.req.valid('query');
    const filter = { list: 'merchant-terminals', merchantId };
    const page = pageFromQuery(q, filter, { defaultLimit: DEFAULT_LIMIT, maxLimit: TERMINALS_MAX_LIMIT });
    const result = await services.terminals.listForMerchant(merchantId, page, callContext(c));
    return c.json({ items: result.items.map((t) => toTerminalDto(t)), nextCursor: nextCursor(result.nextPage, page.pageSize, filter) }, 200);
  });

  const get = createRoute({
    method: 'get',
    path: '/terminals/{terminalId}',
    tags: ['Terminals'],
    operationId: 'getTerminal',
    summary: 'Read a terminal',
    description: `Read a terminal.${STALE_IF_ERROR_NOTE}${TERMINAL_SNAPSHOT_NOTE}${scopeNote('terminals:read')}`,
    security: security('terminals:read'),
    request: { params: z.object({ terminalId: terminalIdParam }) },
    responses: { 200: { description: 'The terminal', content: json(Terminal), headers: STALE_HEADERS }, ...problemResponses(404, ...COMMON_ERRORS) },
  });

  // The hot read (issue 8): documented like the others, validated by `validParam` (same zod
  // schema, same 404) rather than zod-openapi's generic param validator.
  app.openAPIRegistry.registerPath(get);
  app.get('/terminals/:terminalId', requireScope('terminals:read'), validParam('terminalId', terminalIdParam), async (c) => {
    const { terminalId } = c.req.valid('param');
    // the snapshot read model is a secondary source: if Redis fails, TMO's answer still goes out
    const snapshot = terminalActivity?.getTerminalActivity(terminalId).catch((err: unknown) => {
      c.get('logger').warn({ err }, 'terminal snapshot read failed; answering without activity');
      return null;
    });
    const [terminal, view] = await Promise.all([
      // from the copy: the snapshot's status when TMO wrote it after the copy was confirmed
      readThrough(c, lastKnown, 'terminal', terminalId, () => services.terminals.get(terminalId, callContext(c)), async (copy) =>
        reconcileWithSnapshot(copy, (await snapshot) ?? null),
      ),
      snapshot,
    ]);
    return jsonResponse(c, toTerminalDto(terminal, view), 200);
  });

  const changeStatus = createRoute({
    method: 'post',
    path: '/terminals/{terminalId}/status',
    tags: ['Terminals'],
    operationId: 'changeTerminalStatus',
    summary: 'Activate, suspend or decommission a terminal',
    description:
      'Answers 200 with the terminal. Asking for the status the terminal already has is a success (no change). ' +
      '`decommissioned` is final: any later change answers 422.' +
      scopeNote('terminals:write'),
    security: security('terminals:write'),
    middleware: [requireScope('terminals:write'), ...beforeWrite],
    parameters: writeParameters('post'),
    request: {
      params: z.object({ terminalId: terminalIdParam }),
      body: { content: json(TerminalStatusBody), required: true },
    },
    responses: {
      200: { description: 'The terminal after the change', content: json(Terminal), headers: writeResponseHeaders() },
      ...acceptedResponse,
      ...problemResponses(400, 404, 409, 413, 415, 422, ...COMMON_ERRORS),
    },
  });

  app.openapi(changeStatus, async (c) => {
    const { terminalId } = c.req.valid('param');
    const body = c.req.valid('json');
    const input = { terminalId, status: body.status, reason: body.reason };
    const submitted = await writes.submit('terminal.status', input, submitContext(c));
    const r = writeResponse(c, submitted, toTerminalDto);
    if (r.kind === 'accepted') return c.json(r.body, 202);
    c.header('Location', undefined);
    return c.json(r.body, 200);
  });

  return app;
}
