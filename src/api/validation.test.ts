import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import type { ApiEnv } from './env.ts';
import { terminalIdParam } from './schemas/common.ts';
import { validParam, validationHook } from './validation.ts';

/** The same route validated by zod-openapi's `request.params` and by `validParam`. */
function apps() {
  const generic = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
  const route = createRoute({
    method: 'get',
    path: '/terminals/{terminalId}',
    request: { params: z.object({ terminalId: terminalIdParam }) },
    responses: { 200: { description: 'ok' } },
  });
  generic.openapi(route, (c) => c.json(c.req.valid('param'), 200));
  const fast = new OpenAPIHono<ApiEnv>();
  fast.get('/terminals/:terminalId', validParam('terminalId', terminalIdParam), (c) => c.json(c.req.valid('param'), 200));
  return { generic, fast };
}

describe('validParam', () => {
  const { generic, fast } = apps();

  it.each(['/terminals/T0000001', '/terminals/%54%30%30%30%30%30%30%31', '/terminals/t0000001', '/terminals/T1', '/terminals/T0000001%0A', '/terminals/%E0%A4%A'])(
    'when %s is asked, then the answer is the one zod-openapi\'s param validator gives',
    async (path) => {
      const [a, b] = await Promise.all([generic.request(path), fast.request(path)]);
      expect(b.status).toBe(a.status);
      expect(await b.json()).toEqual(await a.json());
    },
  );

  it('when the id is malformed, then 404 terminal.not_found; when it is well formed, then the handler reads it', async () => {
    expect(await (await fast.request('/terminals/t0000001')).json()).toMatchObject({ status: 404, code: 'terminal.not_found' });
    expect(await (await fast.request('/terminals/T0000001')).json()).toEqual({ terminalId: 'T0000001' });
  });
});
