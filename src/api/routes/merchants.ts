import { createRoute, z } from '@hono/zod-openapi';
import type { NewMerchant, MerchantPatch } from '../../domain/services/types.ts';
import { requireScope } from '../auth/middleware.ts';
import { callContext } from '../context.ts';
import { nextCursor, pageFromQuery } from '../cursor.ts';
import { toMerchantDto } from '../mappers.ts';
import { COMMON_ERRORS, problemResponses } from '../schemas/problem.ts';
import { cursorQuery, customerIdValue, DEFAULT_LIMIT, json, limitQuery, merchantIdParam } from '../schemas/common.ts';
import { Merchant, MerchantList, MerchantPatchBody, NewMerchantBody } from '../schemas/resources.ts';
import { jsonResponse } from '../middleware/response-headers/index.ts';
import { readThrough, STALE_HEADERS, STALE_IF_ERROR_NOTE } from '../stale-if-error.ts';
import { acceptedResponse, submitContext, writeParameters, writeResponse, writeResponseHeaders } from '../writes.ts';
import { routeGroup, scopeNote, security, type RouteDeps } from './shared.ts';

export const MERCHANTS_MAX_LIMIT = 100;

/** `/v1/merchants` routes. Mount with `app.route('/v1', merchantRoutes(deps))`. */
export function merchantRoutes({ services, beforeWrite, writes, lastKnown }: RouteDeps) {
  const app = routeGroup();

  const create = createRoute({
    method: 'post',
    path: '/merchants',
    tags: ['Merchants'],
    operationId: 'onboardMerchant',
    summary: 'Onboard a merchant',
    description:
      'Creates the merchant in the customer master and registers it in the terminal system. ' +
      'A VAT number that is already fully onboarded answers 200 with the existing merchant (201 when created).' +
      scopeNote('merchants:write'),
    security: security('merchants:write'),
    middleware: [requireScope('merchants:write'), ...beforeWrite],
    parameters: writeParameters('post'),
    request: { body: { content: json(NewMerchantBody), required: true } },
    responses: {
      201: { description: 'Created', content: json(Merchant), headers: writeResponseHeaders({ location: true }) },
      200: { description: 'The VAT number was already onboarded: the existing merchant', content: json(Merchant), headers: writeResponseHeaders() },
      ...acceptedResponse,
      ...problemResponses(400, 409, 413, 415, 422, ...COMMON_ERRORS),
    },
  });

  app.openapi(create, async (c) => {
    const body = c.req.valid('json');
    const input: NewMerchant = {
      legalName: body.legalName,
      vatNumber: body.vatNumber,
      taxCode: body.taxCode,
      segment: body.segment,
      mcc: body.mcc,
      email: body.email ?? null,
      phone: body.phone ?? null,
      address: body.address,
      iban: body.iban ?? null,
      partnerId: body.partnerId ?? null,
    };
    const submitted = await writes.submit('merchant.onboard', input, submitContext(c));
    const r = writeResponse(c, submitted, toMerchantDto);
    if (r.kind === 'accepted') return c.json(r.body, 202);
    return r.status === 201 ? c.json(r.body, 201) : c.json(r.body, 200);
  });

  const get = createRoute({
    method: 'get',
    path: '/merchants/{merchantId}',
    tags: ['Merchants'],
    operationId: 'getMerchant',
    summary: 'Read a merchant',
    description: 'Customer master data merged with the terminal system\'s (mcc, status).' + STALE_IF_ERROR_NOTE + scopeNote('merchants:read'),
    security: security('merchants:read'),
    middleware: [requireScope('merchants:read')],
    request: { params: z.object({ merchantId: merchantIdParam }) },
    responses: { 200: { description: 'The merchant', content: json(Merchant), headers: STALE_HEADERS }, ...problemResponses(404, ...COMMON_ERRORS) },
  });

  app.openapi(get, async (c) => {
    const { merchantId } = c.req.valid('param');
    const merchant = await readThrough(c, lastKnown, 'merchant', merchantId, () => services.merchants.get(merchantId, callContext(c)));
    return jsonResponse(c, toMerchantDto(merchant), 200);
  });

  const list = createRoute({
    method: 'get',
    path: '/merchants',
    tags: ['Merchants'],
    operationId: 'listMerchants',
    summary: 'List merchants',
    description:
      'Pages through merchants, optionally filtered by partner and segment. `mcc` and `status` are null in list results. ' +
      'A cursor only works with the filter and page size it was issued for (422 otherwise); unknown query parameters are refused (422).' +
      scopeNote('merchants:read'),
    security: security('merchants:read'),
    middleware: [requireScope('merchants:read')],
    request: {
      query: z.strictObject({
        partnerId: customerIdValue.optional().openapi({ param: { name: 'partnerId', in: 'query' }, example: 'C000000042' }),
        segment: z.enum(['retail', 'corporate'], 'must be one of retail, corporate').optional().openapi({ param: { name: 'segment', in: 'query' } }),
        cursor: cursorQuery,
        limit: limitQuery(MERCHANTS_MAX_LIMIT),
      }),
    },
    responses: { 200: { description: 'A page of merchants', content: json(MerchantList) }, ...problemResponses(422, ...COMMON_ERRORS) },
  });

  app.openapi(list, async (c) => {
    const q = c.req.valid('query');
    const filter = { list: 'merchants', partnerId: q.partnerId ?? null, segment: q.segment ?? null };
    const page = pageFromQuery(q, filter, { defaultLimit: DEFAULT_LIMIT, maxLimit: MERCHANTS_MAX_LIMIT });
    const result = await services.merchants.list({ partnerId: filter.partnerId, segment: q.segment ?? null }, page, callContext(c));
    return c.json({ items: result.items.map(toMerchantDto), nextCursor: nextCursor(result.nextPage, page.pageSize, filter) }, 200);
  });

  const patch = createRoute({
    method: 'patch',
    path: '/merchants/{merchantId}',
    tags: ['Merchants'],
    operationId: 'updateMerchant',
    summary: 'Change a merchant',
    description:
      'Changes the given fields only. A field cannot be cleared: `null` or an empty string answers 422. ' +
      '`segment`, `vatNumber`, `taxCode` and `mcc` cannot be changed.' +
      scopeNote('merchants:write'),
    security: security('merchants:write'),
    middleware: [requireScope('merchants:write'), ...beforeWrite],
    parameters: writeParameters('patch'),
    request: {
      params: z.object({ merchantId: merchantIdParam }),
      body: { content: json(MerchantPatchBody), required: true },
    },
    responses: {
      200: { description: 'The merchant after the change', content: json(Merchant), headers: writeResponseHeaders() },
      ...acceptedResponse,
      ...problemResponses(400, 404, 409, 413, 415, 422, ...COMMON_ERRORS),
    },
  });

  app.openapi(patch, async (c) => {
    const { merchantId } = c.req.valid('param');
    const body = c.req.valid('json');
    const change: MerchantPatch = {};
    if (body.legalName !== undefined) change.legalName = body.legalName;
    if (body.email !== undefined) change.email = body.email;
    if (body.phone !== undefined) change.phone = body.phone;
    if (body.address !== undefined) change.address = { ...body.address };
    if (body.iban !== undefined) change.iban = body.iban;
    if (body.partnerId !== undefined) change.partnerId = body.partnerId;
    const submitted = await writes.submit('merchant.update', { merchantId, patch: change }, submitContext(c));
    const r = writeResponse(c, submitted, toMerchantDto);
    if (r.kind === 'accepted') return c.json(r.body, 202);
    c.header('Location', undefined);
    return c.json(r.body, 200);
  });

  return app;
}
