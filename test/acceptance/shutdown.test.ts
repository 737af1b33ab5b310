/**
 * Acceptance (durable writes): "SIGTERM: stop taking requests, finish running jobs, close
 * cleanly." The gateway (`src/main.ts`, API + in-process workers) runs as a child process; a
 * job is mid-flight (CRM done, TMO slow) when SIGTERM arrives, then a second SIGTERM. The
 * process must refuse new connections, finish that job, and exit 0; the simulators (in this
 * process) then hold exactly one customer, one MID and one link.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { createCapturedLogger, TEST_LOG_DIR } from '../support/log-capture.ts';
import {
  configOnFreePort,
  connectedSetup,
  flushDb,
  merchantBody,
  randomVat,
  redisOnDb,
  startLegacy,
  waitFor,
  type ConnectedSetup,
  type Legacy,
  REDIS_DBS,
} from './support.ts';

const REDIS_DB = REDIS_DBS.shutdown;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let child: ChildProcess | undefined;
let reader: Gateway | undefined;

beforeAll(async () => {
  const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
  await flushDb(redisUrl);
  legacy = await startLegacy();
  setup = await connectedSetup(legacy, redisUrl, { PORT: '0', TMO_TIMEOUT_MS: '10000', LOG_LEVEL: 'info' });
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await reader?.close().catch(() => undefined);
  await legacy?.close();
  setup?.cleanup();
});

describe('acceptance: graceful shutdown', () => {
  it('when SIGTERM arrives while a job runs, then no new connection is taken, the job finishes once and the process exits 0', async () => {
    if (!legacy || !setup) throw new Error('set-up failed');
    const { tmo, crm } = legacy;
    mkdirSync(TEST_LOG_DIR, { recursive: true });
    const log = createWriteStream(join(TEST_LOG_DIR, `gateway-child-${process.pid}-shutdown.ndjson`), { flags: 'a' });
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...setup.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let out = '';
    proc.stdout?.on('data', (b: Buffer) => {
      log.write(b);
      out += b.toString('utf8');
    });
    proc.stderr?.on('data', (b: Buffer) => log.write(b));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

    const base = await waitFor('the gateway to listen', () => /listening on (http:\/\/[\d.:]+)/.exec(out)?.[1], { timeoutMs: 20_000 });
    const token = await setup.keys.signToken(['merchants:read', 'merchants:write'], { subject: 'client-shutdown' });

    // TMO answers slowly: the job is still running when the signal comes.
    tmo.faults.set({ latencyMs: 2_000 });
    const vat = randomVat();
    const accepted = await fetch(`${base}/v1/merchants`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': `shutdown-${vat}`,
        Prefer: 'respond-async',
      },
      body: JSON.stringify(merchantBody(vat)),
    });
    expect(accepted.status).toBe(202);
    const opId = (accepted.headers.get('location') ?? '').slice('/v1/operations/'.length);
    await waitFor('CRM to create the customer', () => (crm.state.createCalls(vat) === 1 ? true : undefined), { timeoutMs: 10_000 });
    expect(tmo.state.merchantsByVat().has(vat)).toBe(false);

    proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    proc.kill('SIGTERM'); // a second signal must not start the shutdown again

    // no new connection once shutting down
    await expect(fetch(`${base}/health/live`)).rejects.toThrow();

    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
    log.end();
    expect(code).toBe(0);
    expect(out).toContain('already shutting down');
    expect(out).toContain('"msg":"stopped"');

    // the running job was finished, once
    tmo.faults.reset();
    expect(crm.state.createCalls(vat)).toBe(1);
    expect(tmo.state.registerCalls(vat)).toBe(1);
    const mid = tmo.state.merchantsByVat().get(vat)?.MID;
    expect(mid).toMatch(/^\d{15}$/);
    const customer = crm.state.customersByVat().get(vat);
    expect(customer?.ExternalRefs).toEqual([{ System: 'TMO', Value: mid }]);

    // and recorded as succeeded: read it back through a gateway on the same Redis (no workers)
    reader = await startGateway(configOnFreePort(setup.env), createCapturedLogger({ name: 'acceptance-shutdown' }), { listen: false, workers: false });
    const view = await reader.app?.request(`/v1/operations/${opId}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(view?.status).toBe(200);
    expect(await view?.json()).toMatchObject({ status: 'succeeded', resource: { id: customer?.CustId } });
  }, 60_000);
});
