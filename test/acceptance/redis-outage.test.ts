/**
 * Acceptance (issue 10): the gateway when its Redis goes away and comes back.
 *
 * Each test runs the REAL assembled gateway in-process (connected mode, workers in-process)
 * against its own private redis-server with AOF (`appendfsync always`, so what Redis answered is
 * on disk when it is SIGKILLed), which the test kills and restarts on the same data directory.
 * Never the shared Redis.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { startFaultableRedis, type FaultableRedis } from '../../src/infra/redis-server.ts';
import { createCapturedLogger } from '../support/log-capture.ts';
import { appCall, configOnFreePort, connectedSetup, merchantBody, randomVat, startLegacy, waitFor, type ConnectedSetup, type Legacy } from './support.ts';

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let gw: Gateway | undefined;
let redis: FaultableRedis | undefined;
let token = '';

async function start(extra: Record<string, string> = {}): Promise<Gateway> {
  redis = await startFaultableRedis({ appendfsync: 'always' });
  legacy = await startLegacy();
  setup = await connectedSetup(legacy, redis.url, {
    WORKER_LOCK_MS: '3000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    OPERATION_LEASE_MS: '3000',
    TMO_RETRY_BACKOFF_MS: '200',
    CRM_RETRY_BACKOFF_MS: '200',
    ...extra,
  });
  gw = await startGateway(configOnFreePort(setup.env), createCapturedLogger({ name: 'acceptance-redis-outage' }), { listen: false, workers: true });
  token = await setup.keys.signToken(['merchants:read', 'merchants:write'], { subject: 'client-redis-outage' });
  return gw;
}

afterEach(async () => {
  await redis?.restart().catch(() => undefined); // a clean close needs its Redis
  // Bounded: a close that hangs after a Redis restart must not hide the test's own verdict
  // (seen once in three runs of the readiness test; reported, not yet explained).
  await Promise.race([gw?.close().catch(() => undefined), new Promise((r) => setTimeout(r, 20_000).unref())]);
  await legacy?.close();
  await redis?.stop();
  setup?.cleanup();
  gw = undefined;
  redis = undefined;
});

function api(method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) {
  return appCall(gw, token, method, path, init);
}

const readyStatus = async () => (await api('GET', '/health/ready')).status;

describe('acceptance: Redis goes away', { timeout: 90_000 }, () => {
  it('when Redis is unreachable, then /health/ready answers 503, and 200 again once Redis is back', async () => {
    await start();
    expect(await readyStatus()).toBe(200);

    await redis?.kill();
    await waitFor('readiness to turn 503', async () => ((await readyStatus()) === 503 ? true : undefined), { timeoutMs: 10_000, intervalMs: 200 });
    const down = await api('GET', '/health/ready');
    expect(down.json).toMatchObject({ status: 'unavailable', checks: { redis: 'unreachable' } });

    await redis?.restart();
    await waitFor('readiness to turn 200', async () => ((await readyStatus()) === 200 ? true : undefined), { timeoutMs: 10_000, intervalMs: 200 });
  }, 60_000);

  it('when a write arrives while Redis is unreachable, then it answers 503 with Retry-After and applies nothing; the resend with the same key after Redis is back applies it once', async () => {
    await start();
    if (!legacy) throw new Error('set-up failed');
    const vat = randomVat();
    await redis?.kill();

    const during = await api('POST', '/v1/merchants', { body: merchantBody(vat), headers: { 'Idempotency-Key': `outage-${vat}` } });
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(legacy.crm.state.createCalls(vat)).toBe(0);
    expect(legacy.tmo.state.registerCalls(vat)).toBe(0);

    await redis?.restart();
    const after = await waitFor(
      'the resend to be accepted',
      async () => {
        const r = await api('POST', '/v1/merchants', { body: merchantBody(vat), headers: { 'Idempotency-Key': `outage-${vat}` } });
        return r.status === 503 ? undefined : r;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    expect(after.status).toBe(201);
    expect(legacy.crm.state.customers().filter((c) => c.VatNo === vat)).toHaveLength(1);
    expect(legacy.tmo.state.merchants().filter((m) => m.VAT_NO === vat)).toHaveLength(1);
  }, 60_000);

  it('when Redis is SIGKILLed and restarted while a worker is in the middle of a job, then the job completes and the write is applied exactly once', async () => {
    await start();
    if (!legacy) throw new Error('set-up failed');
    const { tmo, crm } = legacy;
    const vat = randomVat();
    // TMO sits on RegisterMerchant: the job is active, a legacy call in flight, when Redis dies.
    tmo.faults.set({ latencyMs: 2_500 });
    const accepted = await api('POST', '/v1/merchants', { body: merchantBody(vat), headers: { 'Idempotency-Key': `inflight-${vat}`, Prefer: 'respond-async' } });
    expect(accepted.status).toBe(202);
    const operationId = String(accepted.json?.operationId);
    await waitFor('CRM to have the customer and TMO to be called', () => (crm.state.createCalls(vat) === 1 ? true : undefined), { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300)); // RegisterMerchant is on its way

    await redis?.kill();
    await new Promise((r) => setTimeout(r, 3_500)); // the call returns while Redis is away
    tmo.faults.reset();
    await redis?.restart();

    const done = await waitFor(
      'the operation to finish',
      async () => {
        const r = await api('GET', `/v1/operations/${operationId}`);
        const status = r.json?.status;
        return status === 'succeeded' || status === 'failed' ? r.json : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 250 },
    );
    expect(done?.status).toBe('succeeded');
    const customers = crm.state.customers().filter((c) => c.VatNo === vat);
    const merchants = tmo.state.merchants().filter((m) => m.VAT_NO === vat);
    expect(customers).toHaveLength(1);
    expect(merchants).toHaveLength(1);
    expect(customers[0]?.ExternalRefs.filter((r) => r.System === 'TMO')).toEqual([{ System: 'TMO', Value: merchants[0]?.MID }]);
    expect(merchants[0]?.CRM_REF).toBe(customers[0]?.CustId);
  }, 90_000);
});
