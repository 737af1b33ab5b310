/**
 * Acceptance ("Durable means durable", issue 7 defect 3): connected mode refuses a Redis it
 * cannot trust, warns once about one without persistence, stops cleanly when signalled during
 * start-up, and a shutdown that overruns SHUTDOWN_TIMEOUT_MS exits non-zero naming the step.
 * The processes are the real `src/main.ts` / `src/worker.ts`; the Redis servers checked here are
 * private ones started by this file (the shared test Redis is never reconfigured).
 */
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startGateway } from '../../src/gateway.ts';
import { startPrivateRedis, type PrivateRedis } from '../../src/infra/redis-server.ts';
import { memoryLogger } from '../security/support.ts';
import { configOnFreePort, connectedSetup, merchantBody, randomVat, startLegacy, waitFor, type ConnectedSetup, type Legacy } from './support.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let evicting: PrivateRedis | undefined;

beforeAll(async () => {
  legacy = await startLegacy();
  setup = await connectedSetup(legacy, inject('redisUrl'), { REDIS_KEY_PREFIX: `startup${process.pid}`, LOG_LEVEL: 'info' });
  evicting = await startPrivateRedis();
  const r = new Redis(evicting.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  await r.config('SET', 'maxmemory-policy', 'allkeys-lru');
  r.disconnect();
});

afterAll(async () => {
  await evicting?.stop();
  await legacy?.close();
  setup?.cleanup();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `script` with `env` (PATH and HOME added); `during` may signal it. Kills it after `timeoutMs`. */
function run(
  script: string,
  env: Record<string, string | undefined>,
  during?: (p: { kill: (s: NodeJS.Signals) => void; stdout: () => string }) => Promise<void>,
  timeoutMs = 30_000,
): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  const proc = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...clean },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  proc.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const killer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<Run>((resolve) =>
    proc.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    }),
  );
  void during?.({ kill: (s) => proc.kill(s), stdout: () => stdout });
  return exited;
}

describe('acceptance: start-up refuses a Redis that would lose accepted writes', () => {
  it('when connected mode has no REDIS_URL, then the gateway refuses to start naming REDIS_URL (exit 2) and starts no redis-server', async () => {
    if (!setup) throw new Error('set-up failed');
    const r = await run('src/main.ts', { ...setup.env, REDIS_URL: undefined });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/REDIS_URL: is required when TMO_URL\/CRM_URL are set/);
    expect(r.stdout).not.toContain('redis-server');
  }, 60_000);

  it('when the Redis has maxmemory-policy allkeys-lru, then the worker refuses to start naming the setting (exit 3)', async () => {
    if (!setup || !evicting) throw new Error('set-up failed');
    const r = await run('src/worker.ts', { ...setup.env, REDIS_URL: evicting.url });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/maxmemory-policy allkeys-lru; the gateway requires maxmemory-policy noeviction/);
    expect(r.stdout).toContain('"msg":"start-up refused"');
  }, 60_000);

  it('when the Redis has allkeys-lru, then startGateway rejects with StartupRefusedError before building anything', async () => {
    if (!setup || !evicting) throw new Error('set-up failed');
    const { logger } = memoryLogger('startup-evicting');
    await expect(startGateway(configOnFreePort({ ...setup.env, REDIS_URL: evicting.url }), logger, { listen: false })).rejects.toMatchObject({
      name: 'StartupRefusedError',
      setting: 'maxmemory-policy',
    });
  });

  it('when the Redis has no persistence, then one clear warning says so; REDIS_ALLOW_NO_PERSISTENCE=true silences it', async () => {
    if (!setup) throw new Error('set-up failed');
    const warned = memoryLogger('startup-no-persistence');
    const gw = await startGateway(configOnFreePort({ ...setup.env, REDIS_ALLOW_NO_PERSISTENCE: 'false' }), warned.logger, { listen: false, workers: false });
    await gw.close();
    const warnings = warned.log.records().filter((l) => /has no persistence/.test(String(l.msg)));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40 });
    expect(String(warnings[0]?.msg)).toContain('REDIS_ALLOW_NO_PERSISTENCE=true');

    const accepted = memoryLogger('startup-no-persistence-accepted');
    const gw2 = await startGateway(configOnFreePort(setup.env), accepted.logger, { listen: false, workers: false });
    await gw2.close();
    expect(accepted.log.lines.join('')).not.toMatch(/has no persistence|could not be checked/);
  });
});

describe('acceptance: signals during start-up and the shutdown deadline', () => {
  let silent: Server | undefined;
  const sockets = new Set<Socket>();
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => (silent ? silent.close(() => r()) : r()));
  });

  it('when SIGTERM arrives while start-up waits on Redis, then the process stops cleanly (exit 0) instead of finishing the start', async () => {
    if (!setup) throw new Error('set-up failed');
    // a "Redis" that accepts connections and never answers: start-up waits in its Redis check
    const srv = createServer((s) => sockets.add(s));
    silent = srv;
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    const r = await run('src/main.ts', { ...setup.env, REDIS_URL: `redis://127.0.0.1:${port}`, PORT: '0' }, async (p) => {
      await waitFor('the start-up log line', () => (p.stdout().includes('"msg":"starting"') ? true : undefined), { timeoutMs: 20_000 });
      await new Promise((res) => setTimeout(res, 300));
      p.kill('SIGTERM');
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('shutting down during start-up');
    expect(r.stdout).toContain('stopped before start-up finished');
    expect(r.stdout).not.toContain('listening on');
  }, 60_000);

  it('when a running job outlasts SHUTDOWN_TIMEOUT_MS, then the process exits 1 with a log line naming the step still running', async () => {
    if (!setup || !legacy) throw new Error('set-up failed');
    const { tmo, crm } = legacy;
    const vat = randomVat();
    const token = await setup.keys.signToken(['merchants:write'], { subject: 'client-deadline' });
    tmo.faults.set({ latencyMs: 15_000 });
    try {
      const r = await run('src/main.ts', { ...setup.env, PORT: '0', SHUTDOWN_TIMEOUT_MS: '1500', TMO_TIMEOUT_MS: '30000' }, async (p) => {
        const base = await waitFor('the gateway to listen', () => /listening on (http:\/\/[\d.:]+)/.exec(p.stdout())?.[1], { timeoutMs: 20_000 });
        const res = await fetch(`${base}/v1/merchants`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': `deadline-${vat}`, Prefer: 'respond-async' },
          body: JSON.stringify(merchantBody(vat)),
        });
        expect(res.status).toBe(202);
        await waitFor('CRM to create the customer', () => (crm.state.createCalls(vat) === 1 ? true : undefined), { timeoutMs: 10_000 });
        p.kill('SIGTERM');
      });
      expect(r.code).toBe(1);
      const line = r.stdout.split('\n').find((l) => l.includes('shutdown did not finish within SHUTDOWN_TIMEOUT_MS'));
      expect(line).toBeDefined();
      expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 60, step: 'workers', timeoutMs: 1500 });
    } finally {
      tmo.faults.reset();
    }
  }, 60_000);
});
