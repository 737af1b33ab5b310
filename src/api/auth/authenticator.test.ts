import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJwtAuthenticator, scopesOf } from './authenticator.ts';
import { makeKey, signToken, TEST_AUDIENCE, TEST_ISSUER } from '../test-support/harness.ts';

describe('createJwtAuthenticator', () => {
  it('when the token is valid, then the principal has the subject and both scope forms', async () => {
    const key = await makeKey('k1');
    const auth = createJwtAuthenticator({ jwks: { keys: { keys: [key.publicJwk] } }, issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
    const token = await signToken('merchants:read', { key, claims: { scp: ['terminals:read'] }, subject: 'svc-a' });
    const p = await auth.authenticate(token);
    expect(p.subject).toBe('svc-a');
    expect([...p.scopes].sort()).toEqual(['merchants:read', 'terminals:read']);
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

  it.each([
    ['no scope claims', {}, []],
    ['space separated scope', { scope: 'a  b' }, ['a', 'b']],
    ['scp array', { scp: ['a', 'c', 3] }, ['a', 'c']],
    ['scp string', { scp: 'd e' }, ['d', 'e']],
  ])('when the token has %s, then scopes are read', (_l, payload, expected) => {
    expect([...scopesOf(payload)].sort()).toEqual(expected);
  });
});
