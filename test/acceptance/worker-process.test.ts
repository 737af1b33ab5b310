/**
 * Acceptance (README, "Gateway and workers as separate processes"): `npm run simulators`, a
 * gateway with WORKERS_IN_PROCESS=false and `npm run worker`, three processes started with the
 * environment the simulators write. A `Prefer: respond-async` write waits while no worker runs
 * (and the gateway warns about it), then the worker process applies it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ensureDevKeys } from '../../src/api/auth/dev-keys.ts';
import { TEST_LOG_DIR } from '../support/log-capture.ts';
import { flushDb, merchantBody, randomVat, redisOnDb, waitFor, REDIS_DBS } from './support.ts';

const REDIS_DB = REDIS_DBS.workerProcess;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Child {
  proc: ChildProcess;
  out(): string;
  exited: Promise<number | null>;
}
const children: Child[] = [];
const dir = mkdtempSync(join(tmpdir(), 'lgw-worker-process-'));

function start(script: string, env: Record<string, string>, label: string): Child {
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  const log = createWriteStream(join(TEST_LOG_DIR, `${label}-child-${process.pid}-worker-process.ndjson`), { flags: 'a' });
  const proc = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const take = (b: Buffer) => {
    log.write(b);
    out += b.toString('utf8');
  };
  proc.stdout?.on('data', take);
  proc.stderr?.on('data', take);
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      log.end();
      resolve(code);
    }),
  );
  const child = { proc, out: () => out, exited };
  children.push(child);
  return child;
}

function parseEnvFile(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

afterAll(async () => {
  for (const c of children) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await c.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('acceptance: gateway and worker as separate processes', () => {
  it('when npm run worker starts in embedded mode, then it refuses with exit 2 and says why', async () => {
    const worker = start('src/worker.ts', { DEV_DATA_DIR: join(dir, 'embedded') }, 'embedded-worker');
    expect(await worker.exited).toBe(2);
    expect(worker.out()).toContain('refusing to start in embedded mode');
    expect(worker.out()).toContain('npm run simulators');
  });

  it(
    'when the gateway runs without workers beside npm run simulators, then it warns, and a respond-async write waits until npm run worker applies it',
    async () => {
      const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
      await flushDb(redisUrl);
      const devDataDir = join(dir, 'dev');
      const sims = start(
        'scripts/simulators.ts',
        { SIMULATOR_TMO_PORT: '0', SIMULATOR_CRM_PORT: '0', DEV_DATA_DIR: devDataDir, REDIS_URL: redisUrl },
        'simulators',
      );
      await waitFor('the simulators', () => (sims.out().includes('simulators ready') ? true : undefined), {
        timeoutMs: 20_000,
        describeLast: sims.out,
      });
      const env = parseEnvFile(readFileSync(join(devDataDir, 'simulators.env'), 'utf8'));
      expect(env.REDIS_URL).toBe(redisUrl);
      expect(env.LEGACY_ALLOW_PLAINTEXT).toBe('true');

      const gateway = start('src/main.ts', { ...env, PORT: '0', WORKERS_IN_PROCESS: 'false' }, 'gateway');
      const base = await waitFor('the gateway to listen', () => /listening on (http:\/\/[\d.:]+)/.exec(gateway.out())?.[1], {
        timeoutMs: 30_000,
        describeLast: gateway.out,
      });
      expect(gateway.out()).toContain('none has been seen on the queues');
      // the configuration dump is for LOG_LEVEL=debug, not one long line before the banner
      expect(gateway.out()).not.toContain('"config":');

      const keys = await ensureDevKeys(devDataDir);
      const token = await keys.signToken(['merchants:read', 'merchants:write'], { issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE });
      const vat = randomVat();
      const accepted = await fetch(`${base}/v1/merchants`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          'Idempotency-Key': `worker-process-${vat}`,
          Prefer: 'respond-async',
        },
        body: JSON.stringify(merchantBody(vat)),
      });
      expect(accepted.status).toBe(202);
      const location = accepted.headers.get('location') ?? '';
      const operation = async () => {
        const r = await fetch(`${base}${location}`, { headers: { Authorization: `Bearer ${token}` } });
        return (await r.json()) as { status: string; resource: { id: string } | null };
      };

      // no worker anywhere yet: the write stays queued
      await new Promise((r) => setTimeout(r, 1_500));
      expect((await operation()).status).not.toBe('succeeded');

      // the worker serves no API: it starts without any AUTH_* variable
      const workerEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('AUTH_')));
      const worker = start('src/worker.ts', workerEnv, 'worker');
      let last = '';
      const done = await waitFor(
        'the worker process to apply the write',
        async () => {
          const op = await operation();
          last = op.status;
          return op.status === 'succeeded' ? op : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200, describeLast: () => `${last}\n${worker.out()}` },
      );
      expect(worker.out()).toContain('worker started');
      const merchant = await fetch(`${base}/v1/merchants/${done.resource?.id ?? ''}`, { headers: { Authorization: `Bearer ${token}` } });
      expect(merchant.status).toBe(200);
      expect(((await merchant.json()) as { vatNumber: string }).vatNumber).toBe(vat);
    },
    90_000,
  );
});
