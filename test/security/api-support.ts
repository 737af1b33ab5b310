/**
 * Set-up of the API-side attack tests: the REAL assembled gateway (connected mode) against the
 * in-process TMO and CRM simulators on 127.0.0.1:0 and the run's private Redis, each call on its
 * own random `REDIS_KEY_PREFIX`; the dev signing key is read back so tests can forge tokens.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { importJWK, type JWK, type SignJWT } from 'jose';
import { ensureDevKeys, type DevKeys } from '../../src/api/auth/dev-keys.ts';
import { loadConfig } from '../../src/config.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { startCrmSimulator, startTmoSimulator, type CrmSimulator, type TmoSimulator } from '../../src/simulators/index.ts';
import { TEST_IBANS } from '../support/log-capture.ts';
import { memoryLogger, type LogLines } from './support.ts';

export const TMO_CREDS = { username: 'gw-attack', password: 'Tmo-Test-Pa55w0rd' };
export const CRM_CREDS = { username: 'GW-ATTACK', password: 'crm&Test<Pa55>"w0rd"' };
export const IBAN = TEST_IBANS[0] ?? '';
/** every client scope of the API (no ops scope) */
export const CLIENT_SCOPES = ['merchants:read', 'merchants:write', 'partners:read', 'partners:write', 'terminals:read', 'terminals:write'];

/** what jose's `SignJWT.sign` takes */
export type SigningKey = Parameters<SignJWT['sign']>[0];

export interface ApiSetup {
  gw: Gateway;
  tmo: TmoSimulator;
  crm: CrmSimulator;
  keys: DevKeys;
  /** the dev private key (ES256), to forge tokens */
  privateJwk: JWK;
  privateKey: SigningKey;
  prefix: string;
  log: LogLines;
  call(method: string, path: string, opts?: { token?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

export async function startApiGateway(
  redisUrl: string,
  opts: {
    name: string;
    env?: Record<string, string>;
    workers?: boolean;
    listen?: boolean;
    token: (keys: DevKeys) => Promise<string>;
    /** where the spans go when the env turns tracing on (`OTEL_TRACES_EXPORTER`) */
    spanExporter?: SpanExporter;
  },
): Promise<ApiSetup> {
  const [tmo, crm] = await Promise.all([startTmoSimulator({ credentials: TMO_CREDS }), startCrmSimulator({ credentials: CRM_CREDS })]);
  const dir = mkdtempSync(join(tmpdir(), `lgw-${opts.name}-`));
  const keys = await ensureDevKeys(dir);
  const privateJwk = JSON.parse(readFileSync(join(dir, 'private-key.json'), 'utf8')) as JWK;
  const privateKey = (await importJWK(privateJwk, 'ES256')) as SigningKey;
  const prefix = `atk${randomBytes(4).toString('hex')}`;
  const { logger, log } = memoryLogger(opts.name);
  const config = loadConfig({
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    REDIS_ALLOW_NO_PERSISTENCE: 'true',
    LEGACY_ALLOW_PLAINTEXT: 'true',
    TMO_URL: tmo.url,
    TMO_USERNAME: TMO_CREDS.username,
    TMO_PASSWORD: TMO_CREDS.password,
    CRM_URL: crm.url,
    CRM_USERNAME: CRM_CREDS.username,
    CRM_PASSWORD: CRM_CREDS.password,
    TMO_TIMEOUT_MS: '1500',
    AUTH_JWKS_FILE: keys.jwksFile,
    AUTH_ISSUER: keys.issuer,
    AUTH_AUDIENCE: keys.audience,
    PAYLOAD_ENCRYPTION_KEYS: `atk1:${Buffer.alloc(32, 9).toString('base64')}`,
    LEGACY_TIME_ZONE: 'UTC',
    DEV_DATA_DIR: dir,
    PORT: '0',
    HOST: '127.0.0.1',
    ...opts.env,
  });
  let gw: Gateway;
  try {
    gw = await startGateway(config, logger, {
      listen: opts.listen ?? false,
      workers: opts.workers ?? false,
      ...(opts.spanExporter ? { spanExporter: opts.spanExporter } : {}),
    });
  } catch (err) {
    await Promise.allSettled([tmo.close(), crm.close()]);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const defaultToken = await opts.token(keys);
  return {
    gw,
    tmo,
    crm,
    keys,
    privateJwk,
    privateKey,
    prefix,
    log,
    async call(method, path, o = {}) {
      if (!gw.app) throw new Error('gateway has no app');
      const token = o.token === undefined ? defaultToken : o.token;
      const headers: Record<string, string> = { ...(token === null ? {} : { Authorization: `Bearer ${token}` }), ...o.headers };
      if (o.body !== undefined && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
      const body = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      return gw.app.request(path, { method, headers, ...(body === undefined ? {} : { body }) });
    },
    async close() {
      await gw.close().catch(() => undefined);
      await Promise.allSettled([tmo.close(), crm.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const address = { line1: 'Via Garibaldi 7', city: 'Torino', postalCode: '10122', province: 'TO', country: 'IT' };

/** A valid onboarding body (the VAT check digit is right for the numbers the tests use). */
export function merchantBody(vatNumber: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    legalName: 'Caffe Attacco Srl',
    vatNumber,
    taxCode: vatNumber,
    segment: 'retail',
    mcc: '5812',
    email: 'owner@attack.example',
    phone: '+390111234567',
    address,
    iban: IBAN,
    ...extra,
  };
}

/** Asserts the answer is a problem+json with `status`; returns the problem. */
export async function problemOf(res: Response, status: number): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text.slice(0, 300)}`);
  if (!(res.headers.get('content-type') ?? '').startsWith('application/problem+json')) {
    throw new Error(`expected problem+json, got ${res.headers.get('content-type')}: ${text.slice(0, 300)}`);
  }
  const p = JSON.parse(text) as Record<string, unknown>;
  if (p.status !== status) throw new Error(`problem status ${String(p.status)} != ${status}`);
  return p;
}

/** A valid 11-digit partita IVA from a 10-digit base (check digit computed). */
export function vatNumber(base: number): string {
  const digits = String(base).padStart(10, '0').slice(-10);
  let sum = 0;
  for (let i = 0; i < 10; i++) {
    const d = Number(digits[i]);
    if (i % 2 === 0) sum += d;
    else sum += d * 2 > 9 ? d * 2 - 9 : d * 2;
  }
  return `${digits}${(10 - (sum % 10)) % 10}`;
}
