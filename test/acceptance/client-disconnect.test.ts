/**
 * Acceptance (CONTRACT.md § Common rules, "the gateway must never hang"; issue 8): a client that
 * disconnects while its read waits on TMO takes its legacy call with it. Served by the REAL
 * assembled gateway on @hono/node-server: the call in flight is aborted (its bulkhead slot is
 * free at once, not when TMO answers or the call times out) and a call still queued for a slot
 * never starts.
 */
import { request, type ClientRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { createCapturedLogger } from '../support/log-capture.ts';
import { configOnFreePort, connectedSetup, startLegacy, waitFor, type ConnectedSetup, type Legacy } from './support.ts';

/** TMO's answer delay while the clients hang up: far longer than the test waits for the slots to free. */
const SLOW_TMO_MS = 20_000;

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let gw: Gateway | undefined;
let token = '';
let opsToken = '';

beforeAll(async () => {
  legacy = await startLegacy();
  // No workers and a key prefix of its own: nothing here is queued, so the file needs no
  // database of its own (REDIS_DBS) and shares the unit tests' database 0 without touching it.
  setup = await connectedSetup(legacy, inject('redisUrl'), {
    REDIS_KEY_PREFIX: `disc${randomBytes(4).toString('hex')}`,
    WORKERS_IN_PROCESS: 'false',
    // one call in flight, the next one queued
    TMO_MAX_CONCURRENCY: '1',
    TMO_TIMEOUT_MS: String(SLOW_TMO_MS * 2),
  });
  gw = await startGateway(configOnFreePort(setup.env), createCapturedLogger({ name: 'acceptance-client-disconnect' }), { listen: true });
  token = await setup.keys.signToken(['terminals:read'], { subject: 'client-disconnect' });
  opsToken = await setup.keys.signToken(['ops:read'], { subject: 'ops-disconnect' });
});

afterAll(async () => {
  await gw?.close();
  await legacy?.close();
  setup?.cleanup();
});

async function tmoBulkhead(): Promise<{ active: number; queued: number }> {
  const res = await fetch(`${gw?.url}/ops/circuits`, { headers: { Authorization: `Bearer ${opsToken}` } });
  expect(res.status).toBe(200);
  const { items } = (await res.json()) as { items: Array<{ system: string; bulkhead: { active: number; queued: number } }> };
  const tmo = items.find((i) => i.system === 'tmo');
  if (!tmo) throw new Error('no tmo circuit');
  return tmo.bulkhead;
}

/** A GET the test hangs up on; `answered` is set if the gateway ever answers it. */
function hangingGet(path: string): { req: ClientRequest; answered: () => boolean } {
  let answered = false;
  const req = request(`${gw?.url}${path}`, { headers: { Authorization: `Bearer ${token}` } }, (res) => {
    answered = true;
    res.resume();
  });
  req.on('error', () => undefined); // the test destroys it
  req.end();
  return { req, answered: () => answered };
}

describe('acceptance: a client that disconnects mid-call', () => {
  it('when the client of a call in flight and the client of a queued call hang up, then the one in flight is aborted and the queued one never starts, long before TMO would answer', async () => {
    if (!gw?.url || !legacy) throw new Error('set-up failed');
    const custId = legacy.crm.state.seedCustomer({ CustName: 'Disconnect Srl', VatNo: '01234567890' });
    const mid = legacy.tmo.state.seedMerchant({ VAT_NO: '01234567890', MERCH_NAME: 'DISCONNECT SRL', MCC: '5812', ADDR_LINE: 'VIA ROMA 1', CITY: 'MILANO', ZIP: '20100', PROV: 'MI', COUNTRY: 'IT', CRM_REF: custId });
    const tid = legacy.tmo.state.seedTerminal(mid, { MODEL: 'A920', CONTACTLESS: 'Y', STATUS: 'AC' });
    legacy.tmo.state.recordSeen(tid);
    const warm = await fetch(`${gw.url}/v1/terminals/${tid}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(warm.status, await warm.clone().text()).toBe(200);
    expect(await tmoBulkhead()).toMatchObject({ active: 0, queued: 0 });

    legacy.tmo.faults.set({ latencyMs: SLOW_TMO_MS });
    try {
      const inFlight = hangingGet(`/v1/terminals/${tid}`);
      await waitFor('the first call in flight', async () => ((await tmoBulkhead()).active === 1 ? true : undefined), { timeoutMs: 5000 });
      const queued = hangingGet(`/v1/terminals/${tid}`);
      await waitFor('the second call queued', async () => ((await tmoBulkhead()).queued === 1 ? true : undefined), { timeoutMs: 5000 });

      const hungUp = Date.now();
      queued.req.destroy();
      // A queued call that gave up stays counted until its turn and is then skipped (resilience.ts),
      // so the queue shows it only once the call in flight ends: had it not given up, it would
      // take the freed slot and wait for TMO in turn.
      await new Promise((r) => setTimeout(r, 200));
      expect(await tmoBulkhead()).toMatchObject({ active: 1, queued: 1 });

      inFlight.req.destroy();
      await waitFor('the call in flight to end', async () => ((await tmoBulkhead()).active === 0 ? true : undefined), { timeoutMs: 3000 });
      expect(Date.now() - hungUp).toBeLessThan(SLOW_TMO_MS / 2);
      expect(await tmoBulkhead()).toMatchObject({ active: 0, queued: 0 });
      expect(inFlight.answered() || queued.answered()).toBe(false);
    } finally {
      legacy.tmo.faults.reset();
    }

    // the gateway goes on serving
    const after = await fetch(`${gw.url}/v1/terminals/${tid}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(after.status).toBe(200);
    expect(await tmoBulkhead()).toMatchObject({ active: 0, queued: 0 });
  });
});
