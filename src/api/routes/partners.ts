import { createRoute, z } from '@hono/zod-openapi';
import { requireScope } from '../auth/middleware.ts';
import { callContext } from '../context.ts';
import { nextCursor, pageFromQuery } from '../cursor.ts';
import { toMerchantDto, toPartnerDto } from '../mappers.ts';
import { COMMON_ERRORS, problemResponses } from '../schemas/problem.ts';
import { cursorQuery, DEFAULT_LIMIT, json, limitQuery, partnerIdParam } from '../schemas/common.ts';
import { MerchantList, NewPartnerBody, Partner } from '../schemas/resources.ts';
import { MERCHANTS_MAX_LIMIT } from './merchants.ts';
import { acceptedResponse, submitContext, writeParameters, writeResponse, writeResponseHeaders } from '../writes.ts';
import { routeGroup, scopeNote, security, type RouteDeps } from './shared.ts';

/** `/v1/partners` routes. */
export function partnerRoutes({ services, beforeWrite, writes }: RouteDeps) {
  const app = routeGroup();

  const create = createRoute({
    method: 'post',
    path: '/partners',
    tags: ['Partners'],
    operationId: 'createPartner',
    summary: 'Create a partner',
    description: 'A VAT number that already exists answers 200 with the existing partner (201 when created).' + scopeNote('partners:write'),
    security: security('partners:write'),
    middleware: [requireScope('partners:write'), ...beforeWrite],
    parameters: writeParameters('post'),
    request: { body: { content: json(NewPartnerBody), required: true } },
    responses: {
      201: { description: 'Created', content: json(Partner), headers: writeResponseHeaders({ location: true }) },
      200: { description: 'The VAT number already existed: the existing partner', content: json(Partner), headers: writeResponseHeaders() },
      ...acceptedResponse,
      ...problemResponses(400, 409, 413, 415, 422, ...COMMON_ERRORS),
    },
  });

  app.openapi(create, async (c) => {
    const body = c.req.valid('json');
    const input = {
      name: body.name,
      vatNumber: body.vatNumber,
      taxCode: body.taxCode,
      email: body.email ?? null,
      phone: body.phone ?? null,
      address: body.address,
    };
    const r = writeResponse(c, await writes.submit('partner.create', input, submitContext(c)), toPartnerDto);
    if (r.kind === 'accepted') return c.json(r.body, 202);
    return r.status === 201 ? c.json(r.body, 201) : c.json(r.body, 200);
  });

  const get = createRoute({
    method: 'get',
    path: '/partners/{partnerId}',
    tags: ['Partners'],
    operationId: 'getPartner',
    summary: 'Read a partner',
    description: scopeNote('partners:read').trim(),
    security: security('partners:read'),
    middleware: [requireScope('partners:read')],
    request: { params: z.object({ partnerId: partnerIdParam }) },
    responses: { 200: { description: 'The partner', content: json(Partner) }, ...problemResponses(404, ...COMMON_ERRORS) },
  });

  app.openapi(get, async (c) => {
    const { partnerId } = c.req.valid('param');
    return c.json(toPartnerDto(await services.partners.get(partnerId, callContext(c))), 200);
  });

  const listMerchants = createRoute({
    method: 'get',
    path: '/partners/{partnerId}/merchants',
    tags: ['Partners'],
    operationId: 'listPartnerMerchants',
    summary: 'List the merchants of a partner',
    description:
      '`mcc` and `status` are null in list results. Requires scopes `partners:read` and `merchants:read`.',
    security: [{ bearerAuth: ['partners:read', 'merchants:read'] }],
    middleware: [requireScope('partners:read', 'merchants:read')],
    request: {
      params: z.object({ partnerId: partnerIdParam }),
      query: z.strictObject({ cursor: cursorQuery, limit: limitQuery(MERCHANTS_MAX_LIMIT) }),
    },
    responses: { 200: { description: 'A page of merchants', content: json(MerchantList) }, ...problemResponses(404, 422, ...COMMON_ERRORS) },
  });

  app.openapi(listMerchants, async (c) => {
    const { partnerId } = c.req.valid('param');
    const q = c.req.valid('query');
    const filter = { list: 'partner-merchants', partnerId };
    const page = pageFromQuery(q, filter, { defaultLimit: DEFAULT_LIMIT, maxLimit: MERCHANTS_MAX_LIMIT });
    const result = await services.partners.listMerchants(partnerId, page, callContext(c));
    return c.json({ items: result.items.map(toMerchantDto), nextCursor: nextCursor(result.nextPage, page.pageSize, filter) }, 200);
  });

  return app;
}
