/**
 * Builds an app over `FakeServices` with an in-memory signing key, plus a token helper, so
 * route tests are one `app.request()` away. Log lines are kept in `logs` (JSON text) for
 * assertions and also appended to the run-wide capture (test/support/log-capture.ts) that
 * `npm test` greps for leaked IBANs and credentials. The logger is plain pino on purpose: no
 * scrubbing layer, so a leak in the API's own logging shows up here.
 */
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { mkdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { captureFile, TEST_LOG_DIR } from '../../../test/support/log-capture.ts';
import { createApp, type AppDeps } from '../app.ts';
import { createJwtAuthenticator } from '../auth/authenticator.ts';
import { directWrites } from '../../jobs/test-support/direct-writes.ts';
import { FakeServices } from './fake-services.ts';

export const TEST_ISSUER = 'https://issuer.test';
export const TEST_AUDIENCE = 'legacy-gateway';
export const ALL_SCOPES = [
  'merchants:read',
  'merchants:write',
  'partners:read',
  'partners:write',
  'terminals:read',
  'terminals:write',
];

export interface TestKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(kid = 'test-key'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { privateKey, publicJwk };
}

export interface TokenOptions {
  key?: TestKey;
  issuer?: string;
  audience?: string;
  /** seconds from now; negative for an expired token */
  expiresInSeconds?: number;
  claims?: Record<string, unknown>;
  /** default `client-1`; `null` leaves the `sub` claim out */
  subject?: string | null;
}

const sharedKey = await makeKey();

export async function signToken(scopes: string[] | string, opts: TokenOptions = {}): Promise<string> {
  const key = opts.key ?? sharedKey;
  const now = Math.floor(Date.now() / 1000);
  const claims = typeof scopes === 'string' ? { scope: scopes } : { scope: scopes.join(' ') };
  const jwt = new SignJWT({ ...claims, ...opts.claims })
    .setProtectedHeader({ alg: 'ES256', kid: (key.publicJwk.kid as string | undefined) ?? 'test-key' })
    .setIssuer(opts.issuer ?? TEST_ISSUER)
    .setAudience(opts.audience ?? TEST_AUDIENCE);
  if (opts.subject !== null) jwt.setSubject(opts.subject ?? 'client-1');
  return jwt
    .setIssuedAt(now - 5)
    .setExpirationTime(now + (opts.expiresInSeconds ?? 600))
    .sign(key.privateKey);
}

export interface Harness {
  app: ReturnType<typeof createApp>;
  fake: FakeServices;
  logs: string[];
  /** Authorization header with all scopes (or the given ones) */
  auth(scopes?: string[]): Promise<Record<string, string>>;
  /** JSON request helper */
  json(method: string, path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
}

export function memoryLogger(): { logger: pino.Logger; logs: string[] } {
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  const capture = pino.destination({ dest: captureFile(), sync: true, append: true });
  return { logger: pino({ level: 'debug' }, pino.multistream([{ stream, level: 'debug' }, { stream: capture, level: 'debug' }])), logs };
}

export function createHarness(overrides: Partial<AppDeps> = {}): Harness {
  const fake = new FakeServices();
  const { logger, logs } = memoryLogger();
  const services = overrides.services ?? fake.services();
  const app = createApp({
    services,
    writes: directWrites(services),
    auth: createJwtAuthenticator({ jwks: { keys: { keys: [sharedKey.publicJwk] } }, issuer: TEST_ISSUER, audience: TEST_AUDIENCE }),
    logger,
    health: { ready: async () => ({ ok: true, checks: { redis: 'ok' } }) },
    ...overrides,
  });
  const auth = async (scopes: string[] = ALL_SCOPES) => ({ Authorization: `Bearer ${await signToken(scopes)}` });
  return {
    app,
    fake,
    logs,
    auth,
    async json(method, path, body, headers = {}) {
      return app.request(path, {
        method,
        headers: { 'Content-Type': 'application/json', ...(await auth()), ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
  };
}

/** A valid onboarding body. */
export function newMerchantBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    legalName: 'Caffè Società Srl',
    vatNumber: '01234567890',
    taxCode: 'RSSMRA80A01F205X',
    segment: 'retail',
    mcc: '5812',
    email: 'amministrazione@caffe.example',
    phone: '+39 02 1234567',
    address: { line1: 'Via Roma 1', city: 'Milano', postalCode: '20121', province: 'MI', country: 'IT' },
    iban: 'IT60X0542811101000000123456',
    ...overrides,
  };
}
