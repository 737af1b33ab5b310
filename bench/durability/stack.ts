/**
 * The pieces the durability and queue benches share: a private redis-server, dev signing keys
 * written as a JWKS file, a payload key, the environment of a *connected* gateway pointing at
 * given legacy URLs, and child processes (`node --import tsx <script>`) whose output goes to a
 * log file. Children are started with `node` itself (not `npx tsx`) so that SIGKILL reaches the
 * process that holds the jobs, not a wrapper that would leave it running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDevKeys, type DevKeys } from '../../src/api/auth/dev-keys.ts';
import { startFaultableRedis, startPrivateRedis, type FaultableRedis, type PrivateRedis } from '../../src/infra/redis-server.ts';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Every scope the API knows, for the bench client (a single subject owns all its operations). */
export const BENCH_SCOPES = ['merchants:read', 'merchants:write', 'terminals:read', 'terminals:write', 'partners:read', 'partners:write', 'ops:read', 'ops:write'];

export interface Stack {
  dir: string;
  redis: PrivateRedis;
  /** set with `{ aof: true }`: the same Redis, which can be killed, restarted and paused */
  faultable: FaultableRedis | null;
  devKeys: DevKeys;
  /** `PAYLOAD_ENCRYPTION_KEYS` value, shared by the gateway and the workers */
  payloadKeys: string;
  /** the environment of a connected gateway/worker over these legacy URLs */
  env(legacy: { tmoUrl: string; crmUrl: string }, extra?: Record<string, string>): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** `aof`: Redis with `appendonly yes`, `appendfsync everysec` (Redis's default), killable and restartable on its data. */
export async function startStack(opts: { aof?: boolean } = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'lgw-bench-'));
  const faultable = opts.aof ? await startFaultableRedis({ appendfsync: 'everysec' }) : null;
  const redis: PrivateRedis = faultable ?? (await startPrivateRedis());
  const devKeys = await ensureDevKeys(join(dir, 'keys'));
  const payloadKeys = `bench:${randomBytes(32).toString('base64')}`;
  return {
    dir,
    redis,
    faultable,
    devKeys,
    payloadKeys,
    env(legacy, extra = {}) {
      // Only what the gateway reads; nothing of the caller's environment leaks in except PATH/HOME.
      return {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? dir,
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        REDIS_URL: redis.url,
        // the benches read the queues and records under this prefix
        REDIS_KEY_PREFIX: 'lgw',
        // loopback simulators speak plain HTTP; the test Redis has no persistence
        LEGACY_ALLOW_PLAINTEXT: 'true',
        REDIS_ALLOW_NO_PERSISTENCE: 'true',
        // one bench client sends far more than a production client's default limits
        RATE_LIMIT_ENABLED: 'false',
        TMO_URL: legacy.tmoUrl,
        CRM_URL: legacy.crmUrl,
        // the simulators' default credentials
        TMO_USERNAME: 'gateway',
        TMO_PASSWORD: 'gateway-dev-secret',
        CRM_USERNAME: 'gateway',
        CRM_PASSWORD: 'gateway-dev-secret',
        AUTH_JWKS_FILE: devKeys.jwksFile,
        AUTH_ISSUER: devKeys.issuer,
        AUTH_AUDIENCE: devKeys.audience,
        PAYLOAD_ENCRYPTION_KEYS: payloadKeys,
        DEV_DATA_DIR: join(dir, 'dev'),
        ...extra,
      };
    },
    async close() {
      await redis.stop();
    },
  };
}

export interface Child {
  name: string;
  proc: ChildProcess;
  logFile: string;
  /** resolves with the exit code (or the signal name) */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `node --import tsx <script>` from the repository root; stdout and stderr go to `logFile`. */
export function spawnTs(name: string, script: string, env: NodeJS.ProcessEnv, logFile: string, nodeArgs: readonly string[] = []): Child {
  return spawnNode(name, [...nodeArgs, '--import', 'tsx', script], env, logFile);
}

/** Starts `node <args>` from the repository root (e.g. a built `dist/worker.js`); stdout and stderr go to `logFile`. */
export function spawnNode(name: string, args: readonly string[], env: NodeJS.ProcessEnv, logFile: string): Child {
  // stdin is a pipe so a child can notice that this process went away (it closes)
  const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: WriteStream = createWriteStream(logFile, { flags: 'a' });
  proc.stdout?.pipe(out, { end: false });
  proc.stderr?.pipe(out, { end: false });
  const exited = new Promise<number | string>((res) => {
    proc.once('exit', (code, signal) => {
      out.end();
      res(code ?? signal ?? 'unknown');
    });
  });
  return {
    name,
    proc,
    logFile,
    exited,
    async stop(graceMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** The first stdout line of a child that matches `re` (children announce their addresses this way). */
export function firstLine(child: Child, re: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`${child.name}: no line matching ${String(re)} within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      for (const line of buf.split('\n')) {
        if (re.test(line)) {
          clearTimeout(t);
          child.proc.stdout?.off('data', onData);
          resolve(line);
          return;
        }
      }
    };
    child.proc.stdout?.on('data', onData);
    void child.exited.then((code) => reject(new Error(`${child.name} exited (${String(code)}) before announcing itself`)));
  });
}

/** Polls `check` until it returns true; throws after `timeoutMs` with `what` in the message. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** mulberry32: deterministic shuffles and jitter, so two runs with the same seed send the same writes. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Value at quantile q (0..1) of an ascending array (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

/** A fixed-width text table. */
export function table(rows: readonly (readonly (string | number)[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, String(c).length)));
  return rows
    .map((r) => r.map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i] ?? 0) : String(c).padEnd(widths[i] ?? 0))).join('  '))
    .join('\n');
}
