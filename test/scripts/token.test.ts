import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lgw-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function token(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/token.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DEV_DATA_DIR: dir },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run token', () => {
  it('when --sub and scopes are given, then the token names that subject and only those scopes', async () => {
    const r = await token(['--sub', 'alice', 'ops:read', 'partners:write']);
    expect(r.code, r.stderr).toBe(0);
    const claims = decodeJwt(r.stdout.trim());
    expect(claims.sub).toBe('alice');
    expect(claims.scope).toBe('ops:read partners:write');
  }, 30_000);

  it('when no scope is given, then every scope (ops and partners included) and subject dev-user; an unknown option is refused', async () => {
    const r = await token([]);
    const claims = decodeJwt(r.stdout.trim());
    expect(claims.sub).toBe('dev-user');
    for (const s of ['ops:read', 'ops:write', 'partners:read', 'partners:write']) expect(String(claims.scope).split(' ')).toContain(s);
    const bad = await token(['--subject', 'bob']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--sub <subject>');
  }, 30_000);
});
