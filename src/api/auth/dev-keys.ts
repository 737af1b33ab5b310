import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
} from 'jose';

export const DEV_ISSUER = 'legacy-gateway-dev';
export const DEV_AUDIENCE = 'legacy-gateway';
const ALG = 'ES256';
const PRIVATE_FILE = 'private-key.json';
const JWKS_FILE = 'jwks.json';

export interface SignTokenOptions {
  /** `sub`; default `dev-user` */
  subject?: string;
  /** jose duration or seconds; default `1h` */
  expiresIn?: string | number;
  /** override for tests of wrong issuer/audience */
  issuer?: string;
  audience?: string;
}

export interface DevKeys {
  /** public keys only: give this to `createJwtAuthenticator({ jwks: { keys } })` */
  jwks: JSONWebKeySet;
  /** path of the public JWKS file (for `{ jwks: { file } }`) */
  jwksFile: string;
  issuer: string;
  audience: string;
  /** signs a token with the dev key, `scope` = scopes joined by spaces */
  signToken(scopes: string[], opts?: SignTokenOptions): Promise<string>;
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8')) as unknown;
}

function isPrivateJwk(v: unknown): v is JWK & { d: string; kid: string } {
  return typeof v === 'object' && v !== null && typeof (v as JWK).d === 'string' && typeof (v as JWK).kid === 'string';
}

async function loadOrCreatePrivateJwk(dir: string): Promise<JWK & { d: string; kid: string }> {
  const path = join(dir, PRIVATE_FILE);
  try {
    const existing = await readJson(path);
    if (isPrivateJwk(existing)) return existing;
    throw new Error(`${path} does not hold a private JWK; delete it to regenerate`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  const full = { ...jwk, kid, alg: ALG, use: 'sig' } as JWK & { d: string; kid: string };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Written whole to a temp file, then linked into place: `link` fails if the name exists, so
  // when another process won the race we read its complete file and both agree on one key.
  const tmp = join(dir, `.${PRIVATE_FILE}.${randomUUID()}`);
  await writeFile(tmp, JSON.stringify(full, null, 2), { mode: 0o600 });
  try {
    await link(tmp, path);
    return full;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const theirs = await readJson(path);
    if (!isPrivateJwk(theirs)) throw new Error(`${path} does not hold a private JWK`, { cause: err });
    return theirs;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/**
 * Development-only signing keys: an ES256 key pair generated once and persisted in `dir`
 * (`private-key.json`, `jwks.json`), so tokens made by `npm run token` keep working across
 * restarts. Issuer `legacy-gateway-dev`, audience `legacy-gateway`. Never use in production.
 */
export async function ensureDevKeys(dir: string): Promise<DevKeys> {
  const priv = await loadOrCreatePrivateJwk(dir);
  const { d: _d, ...pub } = priv;
  const jwks: JSONWebKeySet = { keys: [pub] };
  const jwksFile = join(dir, JWKS_FILE);
  const tmpJwks = join(dir, `.${JWKS_FILE}.${randomUUID()}`);
  await writeFile(tmpJwks, JSON.stringify(jwks, null, 2), { mode: 0o644 });
  await rename(tmpJwks, jwksFile); // atomic: a reader never sees half a file
  const key = await importJWK(priv, ALG);

  return {
    jwks,
    jwksFile,
    issuer: DEV_ISSUER,
    audience: DEV_AUDIENCE,
    async signToken(scopes: string[], opts: SignTokenOptions = {}): Promise<string> {
      return new SignJWT({ scope: scopes.join(' ') })
        .setProtectedHeader({ alg: ALG, kid: priv.kid, typ: 'JWT' })
        .setIssuer(opts.issuer ?? DEV_ISSUER)
        .setAudience(opts.audience ?? DEV_AUDIENCE)
        .setSubject(opts.subject ?? 'dev-user')
        .setIssuedAt()
        .setExpirationTime(opts.expiresIn ?? '1h')
        .sign(key);
    },
  };
}
