import { describe, expect, it, vi } from 'vitest';
import * as jose from 'jose';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJwtAuthenticator, scopesOf } from './authenticator.ts';
import { makeKey, signToken, TEST_AUDIENCE, TEST_ISSUER } from '../test-support/harness.ts';

// Counts real verifications, to tell a cache hit from a second verification.
vi.mock('jose', async (importOriginal) => {
  const original = await importOriginal<typeof import('jose')>();
  return { ...original, jwtVerify: vi.fn(original.jwtVerify) };
});
const verifications = () => vi.mocked(jose.jwtVerify).mock.calls.length;

describe('createJwtAuthenticator', () => {
  it('when the token is valid, then the principal has the subject and both scope forms', async () => {
    const key = await makeKey('k1');
    const auth = createJwtAuthenticator({ jwks: { keys: { keys: [key.publicJwk] } }, issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
    const token = await signToken('merchants:read', { key, claims: { scp: ['terminals:read'] }, subject: 'svc-a' });
    const p = await auth.authenticate(token);
    expect(p.subject).toBe('svc-a');
    expect([...p.scopes].sort()).toEqual(['merchants:read', 'terminals:read']);
  });

  it('when a token has no subject claim, then it is refused, not given a shared identity', async () => {
    const key = await makeKey('k-nosub');
    const auth = createJwtAuthenticator({ jwks: { keys: { keys: [key.publicJwk] } }, issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
    const token = await signToken('merchants:read', { key, subject: null, claims: { client_id: 'svc-b', azp: 'svc-b' } });
    await expect(auth.authenticate(token)).rejects.toMatchObject({ name: 'AuthError', reason: 'invalid', message: expect.stringMatching(/`sub`/) });
  });

  it('when the subject claim is configured, then that claim names the caller and sub alone is not enough', async () => {
    const key = await makeKey('k-claim');
    const auth = createJwtAuthenticator({ jwks: { keys: { keys: [key.publicJwk] } }, issuer: TEST_ISSUER, audience: TEST_AUDIENCE, subjectClaim: 'client_id' });
    await expect(auth.authenticate(await signToken('x', { key, subject: null, claims: { client_id: 'svc-c' } }))).resolves.toMatchObject({ subject: 'svc-c' });
    await expect(auth.authenticate(await signToken('x', { key, subject: 'svc-d' }))).rejects.toMatchObject({ reason: 'invalid' });
  });

  it('when the JWKS comes from a file, then tokens signed by its key verify', async () => {
    const key = await makeKey('k2');
    const dir = await mkdtemp(join(tmpdir(), 'jwks-'));
    const file = join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify({ keys: [key.publicJwk] }));
    const auth = createJwtAuthenticator({ jwks: { file }, issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
    await expect(auth.authenticate(await signToken(['x'], { key }))).resolves.toMatchObject({ subject: 'client-1' });
  });

  it('when the JWKS file is not a key set, then creation fails loudly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jwks-'));
    const file = join(dir, 'jwks.json');
    await writeFile(file, '{"nope":1}');
    expect(() => createJwtAuthenticator({ jwks: { file }, issuer: 'i', audience: 'a' })).toThrow(/keys/);
  });

  it('when the remote JWKS cannot be fetched, then the failure is "unavailable", not the caller\'s fault', async () => {
    const auth = createJwtAuthenticator({ jwks: { url: 'http://127.0.0.1:9/jwks.json' }, issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
    await expect(auth.authenticate(await signToken(['x']))).rejects.toMatchObject({ name: 'AuthError', reason: 'unavailable' });
  });

  describe('verified-token cache', () => {
    const setup = async (cache?: { maxEntries?: number; maxAgeMs?: number }) => {
      const key = await makeKey('cache');
      let clock = Date.now();
      const auth = createJwtAuthenticator({
        jwks: { keys: { keys: [key.publicJwk] } },
        issuer: TEST_ISSUER,
        audience: TEST_AUDIENCE,
        now: () => clock,
        ...(cache ? { cache } : {}),
      });
      return {
        key,
        auth,
        advance: (ms: number) => {
          clock += ms;
        },
      };
    };

    it('when a token verified once is presented again, then it is accepted without verifying it again', async () => {
      const { key, auth } = await setup();
      const token = await signToken('terminals:read', { key });
      const first = await auth.authenticate(token);
      const before = verifications();
      await expect(auth.authenticate(token)).resolves.toBe(first);
      expect(verifications()).toBe(before);
    });

    it('when the token has expired since it was cached, then it is verified again and refused', async () => {
      const { key, auth, advance } = await setup({ maxAgeMs: 3_600_000 });
      const token = await signToken('terminals:read', { key, expiresInSeconds: 60 });
      await auth.authenticate(token);
      advance(60_000 + 31_000); // past exp and the 30 s clock tolerance
      await expect(auth.authenticate(token)).rejects.toMatchObject({ name: 'AuthError', reason: 'expired' });
    });

    it('when maxAgeMs has passed, then the token is verified again', async () => {
      const { key, auth, advance } = await setup({ maxAgeMs: 1000 });
      const token = await signToken('terminals:read', { key });
      await auth.authenticate(token);
      advance(1001);
      const before = verifications();
      await auth.authenticate(token);
      expect(verifications()).toBe(before + 1);
    });

    it('when more tokens than maxEntries are used, then the least recently used is forgotten', async () => {
      const { key, auth } = await setup({ maxEntries: 2 });
      const [a, b, c] = (await Promise.all([1, 2, 3].map((i) => signToken('x', { key, subject: `s${i}` })))) as [string, string, string];
      for (const t of [a, b, a, c]) await auth.authenticate(t); // b is now the least recently used
      const before = verifications();
      await auth.authenticate(a);
      await auth.authenticate(c);
      expect(verifications()).toBe(before);
      await expect(auth.authenticate(b)).resolves.toMatchObject({ subject: 's2' });
      expect(verifications()).toBe(before + 1);
    });

    it('when a token ends like a cached one (same signature, other claims), then it is verified, not taken from the cache', async () => {
      const { key, auth } = await setup();
      const token = await signToken('terminals:read', { key, subject: 'alice' });
      const principal = await auth.authenticate(token);
      const [header, , signature] = token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
      const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'mallory', scope: 'ops:write' })).toString('base64url')}.${signature}`;
      expect(forged.slice(-32)).toBe(token.slice(-32));
      expect(auth.cached?.(forged)).toBeUndefined();
      const before = verifications();
      await expect(auth.authenticate(forged)).rejects.toMatchObject({ name: 'AuthError', reason: 'invalid' });
      expect(verifications()).toBe(before + 1);
      // the genuine token is still trusted from the cache
      expect(auth.cached?.(token)).toBe(principal);
      await expect(auth.authenticate(token)).resolves.toBe(principal);
      expect(verifications()).toBe(before + 1);
    });

    it('when the most recently used token is used again and again, then the least recently used is still the one forgotten', async () => {
      const { key, auth } = await setup({ maxEntries: 2 });
      const [a, b, c] = (await Promise.all([1, 2, 3].map((i) => signToken('x', { key, subject: `s${i}` })))) as [string, string, string];
      for (const t of [a, b, b, b, a, a, c]) await auth.authenticate(t); // b is now the least recently used
      const before = verifications();
      await auth.authenticate(a);
      await auth.authenticate(c);
      expect(verifications()).toBe(before);
      await auth.authenticate(b);
      expect(verifications()).toBe(before + 1);
    });

    it('when cached() is asked, then it answers a trusted token at once and nothing for an unknown or expired one', async () => {
      const { key, auth, advance } = await setup({ maxAgeMs: 3_600_000 });
      const token = await signToken('terminals:read', { key, expiresInSeconds: 60 });
      expect(auth.cached?.(token)).toBeUndefined();
      const principal = await auth.authenticate(token);
      const before = verifications();
      expect(auth.cached?.(token)).toBe(principal);
      expect(verifications()).toBe(before);
      advance(60_000 + 31_000); // past exp and the 30 s clock tolerance
      expect(auth.cached?.(token)).toBeUndefined();
      await expect(auth.authenticate(token)).rejects.toMatchObject({ reason: 'expired' });
    });

    it('when a token is refused, then it is not cached', async () => {
      const { key, auth } = await setup();
      const wrongAudience = await signToken('x', { key, audience: 'someone-else' });
      await expect(auth.authenticate(wrongAudience)).rejects.toMatchObject({ reason: 'invalid' });
      const before = verifications();
      await expect(auth.authenticate(wrongAudience)).rejects.toMatchObject({ reason: 'invalid' });
      expect(verifications()).toBe(before + 1);
    });

    it('when the cache is off, then every call verifies', async () => {
      const key = await makeKey('nocache');
      const auth = createJwtAuthenticator({ jwks: { keys: { keys: [key.publicJwk] } }, issuer: TEST_ISSUER, audience: TEST_AUDIENCE, cache: false });
      const token = await signToken('x', { key });
      await auth.authenticate(token);
      const before = verifications();
      await auth.authenticate(token);
      expect(verifications()).toBe(before + 1);
    });
  });

  it.each([
    ['no scope claims', {}, []],
    ['space separated scope', { scope: 'a  b' }, ['a', 'b']],
    ['scp array', { scp: ['a', 'c', 3] }, ['a', 'c']],
    ['scp string', { scp: 'd e' }, ['d', 'e']],
  ])('when the token has %s, then scopes are read', (_l, payload, expected) => {
    expect([...scopesOf(payload)].sort()).toEqual(expected);
  });
});
