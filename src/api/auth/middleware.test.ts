import { describe, expect, it } from 'vitest';
import { createHarness, makeKey, signToken } from '../test-support/harness.ts';
import { problemOf } from '../test-support/problem.ts';

const READ = '/v1/merchants/C000000001';

describe('authenticate', () => {
  it('when no Authorization header is sent, then 401 auth.token_missing with a Bearer challenge', async () => {
    const h = createHarness();
    const res = await h.app.request(READ);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="legacy-gateway"');
    expect(await problemOf(res)).toMatchObject({ code: 'auth.token_missing' });
  });

  it('when the scheme is not Bearer, then 401 invalid_request', async () => {
    const h = createHarness();
    const res = await h.app.request(READ, { headers: { Authorization: 'Basic dXNlcjpwYXNz' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_request"');
    expect(await problemOf(res)).toMatchObject({ code: 'auth.token_invalid' });
  });

  it.each([
    ['a bad signature', async () => signToken(['merchants:read'], { key: { ...(await makeKey('test-key')) } }), 'auth.token_invalid', /signature/],
    ['an unknown key id', async () => signToken(['merchants:read'], { key: await makeKey('other-kid') }), 'auth.token_invalid', /trusted key/],
    ['the wrong issuer', async () => signToken(['merchants:read'], { issuer: 'https://evil.test' }), 'auth.token_invalid', /issuer/],
    ['the wrong audience', async () => signToken(['merchants:read'], { audience: 'someone-else' }), 'auth.token_invalid', /audience/],
    ['an expiry in the past', async () => signToken(['merchants:read'], { expiresInSeconds: -120 }), 'auth.token_expired', /expired/],
    ['garbage', async () => 'not.a.jwt', 'auth.token_invalid', /malformed/],
    ['no subject (sub) claim', async () => signToken(['merchants:read'], { subject: null, claims: { client_id: 'svc' } }), 'auth.token_invalid', /`sub` claim/],
    ['an empty subject', async () => signToken(['merchants:read'], { subject: '' }), 'auth.token_invalid', /`sub` claim/],
  ])('when the token has %s, then 401 %s with invalid_token', async (_label, make, code, detail) => {
    const h = createHarness();
    const token = await make();
    const res = await h.app.request(READ, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const body = await problemOf(res);
    expect(body.code).toBe(code);
    expect(body.detail).toMatch(detail);
    expect(JSON.stringify(body)).not.toContain(token);
    expect(h.logs.join('\n')).not.toContain(token);
    expect(h.fake.calls).toHaveLength(0);
  });

  it.each([
    ['Bearer <token>', (t: string) => `Bearer ${t}`, 200, undefined],
    ['bearer <token>', (t: string) => `bearer ${t}`, 200, undefined],
    ['Bearer, two spaces, <token>', (t: string) => `Bearer  ${t}`, 200, undefined],
    ['Bearer <token>,x', (t: string) => `Bearer ${t},x`, 401, 'invalid_request'],
    ['Bearer <token> <token>', (t: string) => `Bearer ${t} ${t}`, 401, 'invalid_request'],
    ['Bearer <token>x', (t: string) => `Bearer ${t}x`, 401, 'invalid_token'],
    ['Bearer <token without its last character>', (t: string) => `Bearer ${t.slice(0, -1)}`, 401, 'invalid_token'],
  ])('when a token already trusted comes as %s, then %s as for a token seen the first time', async (_label, header, status, error) => {
    const h = createHarness();
    h.fake.seedMerchant({ id: 'C000000001' });
    const token = await signToken(['merchants:read']);
    expect((await h.app.request(READ, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200); // now cached
    const res = await h.app.request(READ, { headers: { Authorization: header(token) } });
    expect(res.status).toBe(status);
    if (error !== undefined) expect(res.headers.get('www-authenticate')).toContain(`error="${error}"`);
  });

  it('when the token expired within the clock tolerance, then it is still accepted', async () => {
    const h = createHarness();
    h.fake.seedMerchant({ id: 'C000000001' });
    const token = await signToken(['merchants:read'], { expiresInSeconds: -10 });
    expect((await h.app.request(READ, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('when the keys cannot be loaded, then 503 auth.unavailable with Retry-After', async () => {
    const h = createHarness({
      auth: { authenticate: () => Promise.reject(Object.assign(new Error('The signing keys could not be loaded.'), { name: 'AuthError', reason: 'unavailable' })) },
    });
    const res = await h.app.request(READ, { headers: { Authorization: 'Bearer abc.def.ghi' } });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await problemOf(res)).toMatchObject({ code: 'auth.unavailable' });
  });
});

describe('requireScope per route group', () => {
  const routes: [string, string, string, unknown?][] = [
    ['GET', '/v1/merchants', 'merchants:read'],
    ['GET', '/v1/merchants/C000000001', 'merchants:read'],
    ['POST', '/v1/merchants', 'merchants:write', {}],
    ['PATCH', '/v1/merchants/C000000001', 'merchants:write', {}],
    ['GET', '/v1/partners/C000000002', 'partners:read'],
    ['POST', '/v1/partners', 'partners:write', {}],
    ['GET', '/v1/partners/C000000002/merchants', 'partners:read'],
    ['GET', '/v1/merchants/C000000001/terminals', 'terminals:read'],
    ['POST', '/v1/merchants/C000000001/terminals', 'terminals:write', {}],
    ['GET', '/v1/terminals/T0000001', 'terminals:read'],
    ['POST', '/v1/terminals/T0000001/status', 'terminals:write', {}],
  ];

  it.each(routes)('when %s %s is called without %s, then 403 naming the scope', async (method, path, scope, body) => {
    const h = createHarness();
    const others = ['merchants:read', 'merchants:write', 'partners:read', 'partners:write', 'terminals:read', 'terminals:write'].filter((s) => s !== scope);
    const res = await h.app.request(path, {
      method,
      headers: { ...(await h.auth(others)), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain(`error="insufficient_scope", scope="${scope}"`);
    const problem = await problemOf(res);
    expect(problem.code).toBe('auth.insufficient_scope');
    expect(problem.detail).toContain(scope);
    expect(h.fake.calls).toHaveLength(0);
  });

  it('when a token carries scopes in scp only, then they count', async () => {
    const h = createHarness();
    h.fake.seedMerchant({ id: 'C000000001' });
    const token = await signToken('', { claims: { scp: ['merchants:read'] } });
    expect((await h.app.request(READ, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});
