/**
 * Acceptance (issue 8, the queue drains at legacy's pace): two worker processes (`src/worker.ts`)
 * on one Redis share `TMO_MAX_RATE_PER_S`. A counting proxy in front of the TMO simulator sees
 * every call; in no one-second window does it see more than the rate (plus the limiter's burst
 * of 1 at this rate), and the backlog still drains completely.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { peakPerSecond, startCountingProxy, type CountingProxy } from '../../src/simulators/test-support.ts';
import { createCapturedLogger } from '../support/log-capture.ts';
import { configOnFreePort, connectedSetup, flushDb, redisOnDb, startLegacy, waitFor, type ConnectedSetup, type Legacy, REDIS_DBS } from './support.ts';

const REDIS_DB = REDIS_DBS.queueRateLimit;
const RATE = 20;
const COMMANDS = 30;

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let gw: Gateway | undefined;
let proxy: CountingProxy | undefined;
let redis: Redis | undefined;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
  await flushDb(redisUrl);
  redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  legacy = await startLegacy();
  proxy = await startCountingProxy(legacy.tmo.url);
  setup = await connectedSetup(legacy, redisUrl, { TMO_URL: proxy.url, TMO_MAX_RATE_PER_S: String(RATE), WORKERS_IN_PROCESS: 'false', WORKER_CONCURRENCY: '8', LOG_LEVEL: 'warn' });
  // this process only submits
  gw = await startGateway(configOnFreePort(setup.env), createCapturedLogger({ name: 'acceptance-rate-limit' }), { listen: false, workers: false });
  for (let i = 0; i < 2; i++) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], { env: { ...setup.env, PATH: process.env.PATH ?? '' }, stdio: 'ignore' });
    workers.push(child);
  }
}, 60_000);

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGTERM');
  await Promise.all(workers.map((w) => (w.exitCode === null ? new Promise((r) => w.once('exit', r)) : undefined)));
  await gw?.close();
  await proxy?.close();
  await legacy?.close();
  redis?.disconnect();
  setup?.cleanup();
});

describe('acceptance: queued legacy calls share one rate across worker processes', () => {
  it(`when ${COMMANDS} queued status changes run on two worker processes with TMO_MAX_RATE_PER_S=${RATE}, then TMO never sees more than ${RATE + 1} calls in any second and every command succeeds`, async () => {
    if (!gw || !legacy || !redis) throw new Error('set-up failed');
    const queue = new Queue('ops-tmo', { connection: redis, prefix: '{lgw}:bull' });
    try {
      await waitFor('two worker processes', async () => ((await queue.getWorkersCount()) >= 2 ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
      const custId = legacy.crm.state.seedCustomer({ CustName: 'Pace Srl', VatNo: '01234567891' });
      const mid = legacy.tmo.state.seedMerchant({ VAT_NO: '01234567891', MERCH_NAME: 'PACE SRL', MCC: '5812', ADDR_LINE: 'VIA ROMA 1', CITY: 'MILANO', ZIP: '20100', PROV: 'MI', COUNTRY: 'IT', CRM_REF: custId });
      const tids = Array.from({ length: COMMANDS }, () => legacy?.tmo.state.seedTerminal(mid, { MODEL: 'A920', CONTACTLESS: 'Y', STATUS: 'AC' }) ?? '');
      if (!proxy) throw new Error('set-up failed');
      const calls = proxy.calls;
      calls.length = 0;
      const ctx = { requestId: 'pace', principal: 'pace-test', preferAsync: true };
      for (const tid of tids) {
        const r = await gw.operations.submit('terminal.status', { terminalId: tid, status: 'suspended', reason: 'merchant_request' }, ctx);
        expect(r.outcome).toBe('accepted');
      }
      await waitFor('the backlog to drain', async () => ((await queue.getCompletedCount()) >= COMMANDS ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 100,
        describeLast: () => `${calls.length} TMO calls so far`,
      });
      expect(await queue.getFailedCount()).toBe(0);
      for (const tid of tids) expect(legacy.tmo.state.terminal(tid)?.STATUS).toBe('SU');

      // every command made at least ChangeTerminalStatus + GetTerminal
      expect(calls.length).toBeGreaterThanOrEqual(2 * COMMANDS);
      expect(peakPerSecond(calls)).toBeLessThanOrEqual(RATE + 1);
      // and paced, not merely slow: the calls took about (calls − burst) / rate seconds
      const span = ((calls[calls.length - 1] as number) - (calls[0] as number)) / 1000;
      expect(span).toBeGreaterThanOrEqual((calls.length - 2) / RATE - 0.2);
    } finally {
      await queue.close();
    }
  }, 120_000);
});
