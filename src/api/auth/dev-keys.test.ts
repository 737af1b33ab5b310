import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJwtAuthenticator } from './authenticator.ts';
import { DEV_AUDIENCE, DEV_ISSUER, ensureDevKeys } from './dev-keys.ts';

describe('ensureDevKeys', () => {
  it('when called twice on the same directory, then the same key is reused and its tokens verify', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'dev-auth-')), 'nested');
    const first = await ensureDevKeys(dir);
    const second = await ensureDevKeys(dir);
    expect(second.jwks).toEqual(first.jwks);
    expect(first.jwks.keys[0]).not.toHaveProperty('d');
    expect((await stat(join(dir, 'private-key.json'))).mode & 0o077).toBe(0);
    const token = await first.signToken(['merchants:read', 'ops:read']);
    const fromFile = createJwtAuthenticator({ jwks: { file: second.jwksFile }, issuer: DEV_ISSUER, audience: DEV_AUDIENCE });
    const p = await fromFile.authenticate(token);
    expect([...p.scopes]).toEqual(['merchants:read', 'ops:read']);
    expect(p.subject).toBe('dev-user');
    expect(JSON.parse(await readFile(second.jwksFile, 'utf8'))).toEqual(first.jwks);
  });

  it('when two processes race to create the key, then both end up with the same one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dev-auth-'));
    const [a, b] = await Promise.all([ensureDevKeys(dir), ensureDevKeys(dir)]);
    expect(a.jwks).toEqual(b.jwks);
  });

  it('when signing with options, then subject, issuer and expiry follow them', async () => {
    const keys = await ensureDevKeys(await mkdtemp(join(tmpdir(), 'dev-auth-')));
    const auth = createJwtAuthenticator({ jwks: { keys: keys.jwks }, issuer: 'other', audience: DEV_AUDIENCE });
    await expect(auth.authenticate(await keys.signToken([], { issuer: 'other', subject: 'me' }))).resolves.toMatchObject({ subject: 'me' });
    await expect(auth.authenticate(await keys.signToken([], { issuer: 'other', expiresIn: -3600 }))).rejects.toMatchObject({ reason: 'expired' });
  });
});
