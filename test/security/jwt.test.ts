/**
 * Attack suite, tokens (issue 7): forged, stale, misdirected or oversized JWTs against the
 * assembled gateway are each refused with a 401 problem+json — never a 200, never a legacy call;
 * a valid token without the route's scope gets 403.
 */
import { exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { problemOf, startApiGateway, type ApiSetup } from './api-support.ts';

let s: ApiSetup;
const ROUTE = '/v1/terminals/T0000001';

beforeAll(async () => {
  s = await startApiGateway(inject('redisUrl'), { name: 'attack-jwt', token: (k) => k.signToken(['terminals:read'], { subject: 'client-jwt' }) });
}, 60_000);
afterAll(async () => {
  await s?.close();
});

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);

function claims(extra: JWTPayload = {}): JWTPayload {
  return { iss: s.keys.issuer, aud: s.keys.audience, sub: 'client-jwt', scope: 'terminals:read', iat: now(), exp: now() + 600, ...extra };
}

async function signEs256(payload: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: s.privateJwk.kid, ...header }).sign(s.privateKey);
}

async function hs256(secret: string): Promise<string> {
  return new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: s.privateJwk.kid }).sign(new TextEncoder().encode(secret));
}

function legacyCalls(): number {
  return s.tmo.state.recentCalls().length + s.crm.state.recentCalls().length;
}

describe('attack: JWT', () => {
  it('when the control token is valid, then the route answers from legacy (the attacks below differ only in the token)', async () => {
    const res = await s.call('GET', ROUTE, { token: await signEs256(claims()) });
    expect([200, 404]).toContain(res.status);
    expect(legacyCalls()).toBeGreaterThan(0);
  });

  const forged: Array<[string, () => Promise<string>]> = [
    ['alg none (unsigned)', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`],
    ['alg none with the real kid', async () => `${b64({ alg: 'none', kid: s.privateJwk.kid })}.${b64(claims())}.`],
    ['HS256 keyed with the public JWK', async () => hs256(JSON.stringify(s.keys.jwks.keys[0]))],
    ['HS256 keyed with the public key PEM', async () => {
      const { importJWK } = await import('jose');
      const pub = await importJWK({ ...(s.keys.jwks.keys[0] ?? {}) }, 'ES256', { extractable: true });
      return hs256(await exportSPKI(pub as Parameters<typeof exportSPKI>[0]));
    }],
    ['expired', async () => signEs256(claims({ iat: now() - 7200, exp: now() - 3600 }))],
    ['nbf an hour ahead', async () => signEs256(claims({ nbf: now() + 3600 }))],
    ['wrong issuer', async () => signEs256(claims({ iss: 'https://evil.example' }))],
    ['wrong audience', async () => signEs256(claims({ aud: 'some-other-service' }))],
    ['unknown kid (another key)', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      return new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'attacker-key' }).sign(privateKey);
    }],
    ['the real kid but signed by another key', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      return new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: s.privateJwk.kid }).sign(privateKey);
    }],
    ['no sub', async () => {
      const c = claims();
      delete c.sub;
      return signEs256(c);
    }],
    ['empty sub', async () => signEs256(claims({ sub: '  ' }))],
    ['no exp', async () => {
      const c = claims();
      delete c.exp;
      return signEs256(c);
    }],
    ['100 KB token (validly signed)', async () => signEs256(claims({ pad: 'A'.repeat(100 * 1024) }))],
    ['100 KB of garbage', async () => 'x'.repeat(100 * 1024)],
  ];

  it.each(forged)('when the token is %s, then 401 problem+json and no legacy call', async (_name, make) => {
    const token = await make();
    const before = legacyCalls();
    const res = await s.call('GET', ROUTE, { token });
    const p = await problemOf(res, 401);
    expect(res.headers.get('www-authenticate') ?? '').toMatch(/^Bearer/);
    expect(JSON.stringify(p)).not.toContain(token.slice(-20));
    expect(legacyCalls()).toBe(before);
  });

  it('when the valid token travels in the query string instead of the header, then 401 (query tokens are not read)', async () => {
    const token = await signEs256(claims());
    const before = legacyCalls();
    const res = await s.call('GET', `${ROUTE}?access_token=${token}`, { token: null });
    await problemOf(res, 401);
    expect(legacyCalls()).toBe(before);
    expect(s.log.lines.join('')).not.toContain(token);
  });

  it('when a valid token lacks the route scope, then 403 problem+json and no legacy call', async () => {
    const token = await signEs256(claims({ scope: 'merchants:read' }));
    const before = legacyCalls();
    const p = await problemOf(await s.call('GET', ROUTE, { token }), 403);
    expect(JSON.stringify(p)).toContain('terminals:read');
    expect(legacyCalls()).toBe(before);
  });
});
