/**
 * Shared set-up of the acceptance tests: the REAL assembled gateway (`startGateway`) in
 * connected mode against the in-process simulators on port 0, the private test Redis, dev JWTs
 * verified through a JWKS file (as a deployment would), and payload keys shared by every process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Gateway } from '../../src/gateway.ts';
import { ensureDevKeys, type DevKeys } from '../../src/api/auth/dev-keys.ts';
import { freePort } from '../../src/infra/redis-server.ts';
import { startCrmSimulator, startTmoSimulator, type CrmSimulator, type TmoSimulator } from '../../src/simulators/index.ts';
import { TEST_IBANS, TEST_LOG_DIR, TEST_PASSWORDS, TEST_USERNAMES } from '../support/log-capture.ts';

/** Legacy credentials taken from the leak-check fixtures, so a leaked one fails `npm test`. */
export const LEGACY_CREDENTIALS = {
  tmo: { username: TEST_USERNAMES[1] ?? 'GW-TEST', password: TEST_PASSWORDS[0] ?? 'Tmo-Test-Pa55w0rd' },
  crm: { username: TEST_USERNAMES[0] ?? 'gw-test', password: TEST_PASSWORDS[1] ?? 'crm&Test<Pa55>"w0rd"' },
} as const;

export const IBAN = TEST_IBANS[0] ?? 'IT60X0542811101000000123456';

export interface Legacy {
  tmo: TmoSimulator;
  crm: CrmSimulator;
  close(): Promise<void>;
}

/** Both simulators on port 0, accepting {@link LEGACY_CREDENTIALS}. */
export async function startLegacy(): Promise<Legacy> {
  const [tmo, crm] = await Promise.all([
    startTmoSimulator({ credentials: LEGACY_CREDENTIALS.tmo }),
    startCrmSimulator({ credentials: LEGACY_CREDENTIALS.crm }),
  ]);
  return {
    tmo,
    crm,
    async close() {
      await Promise.allSettled([tmo.close(), crm.close()]);
    },
  };
}

/**
 * The logical database of each test file that runs connected gateways (see `redisOnDb`), in
 * one place: files run in parallel, and two files on one database flush each other's data and
 * run each other's jobs. Redis has 16 by default (0 stays unused).
 */
export const REDIS_DBS = {
  terminalSettings: 1,
  workerProcess: 2,
  docsTryItOut: 3,
  redisKeys: 4,
  legacyTls: 5,
  batchTwoProcesses: 6,
  idempotency: 7,
  crashRecovery: 8,
  queueConsole: 9,
  shutdown: 10,
  gatewayCrash: 11,
  openapiLint: 12,
  staleIfError: 13,
  queueRateLimit: 14,
  rateLimit: 15,
} as const;
if (new Set(Object.values(REDIS_DBS)).size !== Object.keys(REDIS_DBS).length) throw new Error('two test files share a Redis database in REDIS_DBS');

/**
 * The private test Redis, on logical database `db`.
 *
 * Two connected gateways with the same key prefix (`REDIS_KEY_PREFIX`, default `lgw`) on one
 * database share their queues: one test's worker could run another test's jobs against the
 * wrong simulators. Each acceptance file therefore takes its own database (and flushes only it).
 */
export function redisOnDb(redisUrl: string, db: number): string {
  const u = new URL(redisUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Empties one logical database of the private test Redis. */
export async function flushDb(url: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await r.connect();
    await r.flushdb();
  } finally {
    r.disconnect();
  }
}

export interface ConnectedSetup {
  /** the environment of a connected gateway (or worker) process */
  env: Record<string, string>;
  keys: DevKeys;
  /** removes the key directory */
  cleanup(): void;
}

/**
 * Environment of a connected gateway: legacy URLs + credentials, a JWKS file of freshly
 * generated dev keys, a random payload key (every process of one test must share it).
 */
export async function connectedSetup(legacy: { tmo: { url: string }; crm: { url: string } }, redisUrl: string, extra: Record<string, string> = {}): Promise<ConnectedSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'lgw-acceptance-'));
  const keys = await ensureDevKeys(dir);
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    REDIS_URL: redisUrl,
    // loopback simulators speak plain HTTP; the test Redis has no persistence
    LEGACY_ALLOW_PLAINTEXT: 'true',
    REDIS_ALLOW_NO_PERSISTENCE: 'true',
    TMO_URL: legacy.tmo.url,
    TMO_USERNAME: LEGACY_CREDENTIALS.tmo.username,
    TMO_PASSWORD: LEGACY_CREDENTIALS.tmo.password,
    CRM_URL: legacy.crm.url,
    CRM_USERNAME: LEGACY_CREDENTIALS.crm.username,
    CRM_PASSWORD: LEGACY_CREDENTIALS.crm.password,
    AUTH_JWKS_FILE: keys.jwksFile,
    AUTH_ISSUER: keys.issuer,
    AUTH_AUDIENCE: keys.audience,
    PAYLOAD_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    DEV_DATA_DIR: join(dir, 'dev'),
    ...extra,
  };
  return { env, keys, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A valid onboarding request body (the IBAN is a leak-check fixture). */
export function merchantBody(vatNumber: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    legalName: 'Bar Acceptance Srl',
    vatNumber,
    taxCode: vatNumber,
    segment: 'retail',
    mcc: '5812',
    email: 'amministrazione@bar.example',
    phone: '+39 02 1234567',
    address: { line1: 'Via Roma 1', city: 'Milano', postalCode: '20121', province: 'MI', country: 'IT' },
    iban: IBAN,
    ...overrides,
  };
}

/** A random 11-digit VAT number, so reruns against a kept simulator never collide. */
export function randomVat(): string {
  return String(10_000_000_000 + Math.floor(Math.random() * 90_000_000_000));
}

/**
 * Polls `probe` every `intervalMs` until it returns something other than `undefined`; throws
 * naming `what` (and the last value seen by `describeLast`) after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs: number; intervalMs?: number; describeLast?: () => string },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${opts.describeLast ? ` (last: ${opts.describeLast()})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/**
 * `loadConfig(env)` listening on a free port (`PORT=0` would do too; kept explicit here) (pick a free
 * one) is set on the parsed config rather than in the environment.
 */
export function configOnFreePort(env: Record<string, string>): Config {
  return { ...loadConfig(env), port: 0 };
}

export interface ChildProcessHandle {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** the last {@link OUTPUT_TAIL_LINES} lines of its output, as written (diagnostics on failure) */
  output(): string;
  /** SIGKILL (if still running); resolves once it is gone */
  kill(): Promise<void>;
}

/** Waits until a spawned gateway answers `/health/ready` with 200; fails at once if it exits first. */
export async function waitUntilReady(child: ChildProcessHandle, base: string, label: string, timeoutMs = 45_000): Promise<void> {
  let gone = false;
  void child.exited.then(() => (gone = true));
  await waitFor(
    `gateway ${label} to be ready`,
    async () => {
      if (gone) throw new Error(`gateway ${label} exited at start: ${child.output()}`);
      const ok = await fetch(`${base}/health/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      return ok ? true : undefined;
    },
    { timeoutMs, intervalMs: 200, describeLast: () => child.output().slice(-500) },
  );
}

/**
 * Spawns `src/main.ts` with each of `portVars` (e.g. `PORT`, `METRICS_PORT`) set to a port
 * `freePort` found free, and waits until it is ready. A port found free can be taken before the
 * child binds it (other test files open sockets in parallel): a child that exits at start with
 * EADDRINUSE is started again on new ports, at most `attempts` times in all. `onSpawn` sees
 * every child started (to kill them afterwards).
 */
export async function startGatewayOnFreePorts(
  env: Record<string, string>,
  label: string,
  opts: { portVars: readonly string[]; onSpawn: (child: ChildProcessHandle) => void; timeoutMs?: number; attempts?: number },
): Promise<{ child: ChildProcessHandle; ports: Record<string, number> }> {
  const attempts = opts.attempts ?? 3;
  for (let i = 1; ; i++) {
    const ports: Record<string, number> = {};
    for (const v of opts.portVars) ports[v] = await freePort();
    const portEnv = Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)]));
    const child = spawnChild('src/main.ts', { ...env, ...portEnv }, label);
    opts.onSpawn(child);
    try {
      await waitUntilReady(child, `http://127.0.0.1:${ports[opts.portVars[0] as string]}`, label, opts.timeoutMs);
      return { child, ports };
    } catch (err) {
      if (i >= attempts || !child.output().includes('EADDRINUSE')) throw err;
    }
  }
}

/** How many of a child's last output lines {@link ChildProcessHandle.output} keeps. */
export const OUTPUT_TAIL_LINES = 200;

function lastLines(text: string, n: number): string {
  let i = text.length;
  // a trailing newline ends the last line rather than starting an empty one
  if (text.endsWith('\n')) i -= 1;
  for (let k = 0; k < n && i > 0; k++) i = text.lastIndexOf('\n', i - 1);
  return i <= 0 ? text : text.slice(i + 1);
}

/**
 * `node --import tsx <script>` from the repository root as ONE process (`tsx` as a CLI would put
 * a wrapper in between, and a SIGKILL of the wrapper would leave the real one running). Its
 * output goes to the run's log capture, so the leak check greps the child's log lines too.
 */
export function spawnChild(script: string, env: Record<string, string>, label: string): ChildProcessHandle {
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  const log = createWriteStream(join(TEST_LOG_DIR, `child-${process.pid}-${label}.ndjson`), { flags: 'a' });
  const proc = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const onData = (b: Buffer) => {
    log.write(b);
    out += b.toString('utf8');
    if (out.length > 512_000) out = lastLines(out, OUTPUT_TAIL_LINES);
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      log.end();
      resolve({ code, signal });
    });
  });
  return {
    proc,
    exited,
    output: () => lastLines(out, OUTPUT_TAIL_LINES),
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** One request to an in-process gateway's app with a Bearer token; `json` is null for a body that is not JSON. */
export async function appCall(
  gw: Gateway | undefined,
  token: string,
  method: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> | null }> {
  if (!gw?.app) throw new Error('gateway app missing');
  const res = await gw.app.request(path, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, headers: res.headers, json: (await res.json().catch(() => null)) as Record<string, unknown> | null };
}
