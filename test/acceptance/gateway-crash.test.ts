/**
 * Acceptance (issue 10, the found defect): "a gateway killed during an inline terminal order
 * applies it twice".
 *
 * The gateway is the real `src/main.ts` in a CHILD process (connected mode, inline writes and
 * workers in-process) against the simulators of this process. TMO applies `OrderTerminal` and
 * then sits on the answer; the gateway is SIGKILLed right after TMO applied it, and restarted on
 * the same port. The client resends the same request with the same Idempotency-Key every 200 ms.
 *
 * Then: the resend resumes the SAME operation (its step store: ListTerminals reconciliation
 * adopts the terminal TMO created) instead of starting a second one; TMO holds exactly one
 * terminal for the order; and the window of `409 in progress` answers is a few seconds (the dead
 * process's claim is detected through its liveness key), not the claim's lock TTL.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/infra/redis-server.ts';
import {
  connectedSetup,
  flushDb,
  merchantBody,
  randomVat,
  redisOnDb,
  spawnChild,
  startLegacy,
  waitFor,
  waitUntilReady,
  type ChildProcessHandle,
  type ConnectedSetup,
  type Legacy,
  REDIS_DBS,
} from './support.ts';

const REDIS_DB = REDIS_DBS.gatewayCrash;
/** the liveness TTL of the test's gateways: how long a killed process still looks alive */
const LIVENESS_MS = 2_000;

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let redis: Redis | undefined;
let base = '';
let token = '';
const children: ChildProcessHandle[] = [];

async function startGatewayChild(label: string): Promise<ChildProcessHandle> {
  if (!setup) throw new Error('set-up failed');
  const child = spawnChild('src/main.ts', setup.env, label);
  children.push(child);
  await waitUntilReady(child, base, label);
  return child;
}

async function post(path: string, body: unknown, key: string, timeoutMs = 60_000) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': key },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, headers: res.headers, json: (await res.json().catch(() => null)) as Record<string, unknown> | null };
}

beforeAll(async () => {
  const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
  await flushDb(redisUrl);
  redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  legacy = await startLegacy();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  setup = await connectedSetup(legacy, redisUrl, {
    PORT: String(port),
    LOG_LEVEL: 'info',
    // long legacy timeouts: the killed gateway's OrderTerminal is still waiting for its answer
    TMO_TIMEOUT_MS: '30000',
    CRM_TIMEOUT_MS: '30000',
    INSTANCE_LIVENESS_MS: String(LIVENESS_MS),
  });
  token = await setup.keys.signToken(['merchants:read', 'merchants:write', 'terminals:read', 'terminals:write'], { subject: 'client-gateway-crash' });
}, 60_000);

afterAll(async () => {
  for (const c of children) await c.kill().catch(() => undefined);
  await legacy?.close();
  redis?.disconnect();
  setup?.cleanup();
});

describe('acceptance: a gateway SIGKILLed during an inline terminal order', () => {
  it(
    'when TMO applied the order and the gateway dies before answering, then the resend with the same key resumes the same operation, TMO holds exactly one terminal, and 409s last only seconds',
    async () => {
      if (!legacy || !redis) throw new Error('set-up failed');
      const { tmo } = legacy;
      const first = await startGatewayChild('first');

      const vat = randomVat();
      const onboarded = await post('/v1/merchants', merchantBody(vat), `onboard-${vat}`);
      expect(onboarded.status).toBe(201);
      const merchantId = String(onboarded.json?.id);
      const mid = tmo.state.merchantsByVat().get(vat)?.MID ?? '';
      expect(mid).not.toBe('');

      // TMO applies OrderTerminal, then sits on the answer.
      tmo.faults.set({ hangAfterApplyMs: 120_000 });
      const order = {
        model: 'A920',
        contactless: true,
        currency: 'EUR',
        shippingAddress: { line1: 'Ordine crash', city: 'Torino', postalCode: '10121', province: 'TO' },
      };
      const path = `/v1/merchants/${merchantId}/terminals`;
      const key = `order-${vat}`;
      const firstSend = post(path, order, key).catch(() => null); // its answer never comes
      const terminals = () => tmo.state.terminalsByMid().get(mid) ?? [];
      await waitFor('TMO to apply OrderTerminal', () => (terminals().length === 1 ? true : undefined), { timeoutMs: 15_000 });

      await first.kill();
      await firstSend;
      tmo.faults.reset();
      const [op] = await operationIds(redis);
      expect(op).toBeDefined();

      await startGatewayChild('restarted');
      const readyAt = Date.now();
      // The careful client: same key every 200 ms until a final answer.
      const answers: { at: number; status: number }[] = [];
      let final: Awaited<ReturnType<typeof post>> | undefined;
      const deadline = Date.now() + 30_000;
      while (!final && Date.now() < deadline) {
        const r = await post(path, order, key, 10_000).catch(() => null);
        if (r) {
          answers.push({ at: Date.now(), status: r.status });
          if (r.status !== 409 && r.status < 500) final = r;
        }
        if (!final) await new Promise((res) => setTimeout(res, 200));
      }
      const inProgress = answers.filter((a) => a.status === 409).length;
      // what the client lives through: from the restarted gateway being up to the final answer
      const window = (answers.at(-1)?.at ?? Date.now()) - readyAt;
      console.info(`gateway-crash: ${inProgress} × 409, final answer ${final?.status ?? 'none'} ${window} ms after the restart`);
      expect(final, `no final answer within 30 s; answers: ${answers.map((a) => a.status).join(',')}`).toBeDefined();
      // the dead process's claim is noticed through its liveness key: a few seconds at most
      expect(window).toBeLessThan(LIVENESS_MS + 3_000);
      if (!final) return;

      // The answer refers to the operation the first request started, and to TMO's one terminal.
      let terminalId: string;
      if (final.status === 202) {
        expect(final.json?.operationId).toBe(op);
        const done = await waitFor(
          'the operation to finish',
          async () => {
            const r = await fetch(`${base}/v1/operations/${op ?? ''}`, { headers: { Authorization: `Bearer ${token}` } });
            const view = (await r.json()) as { status: string; resource: { id: string } | null };
            return view.status === 'succeeded' || view.status === 'failed' ? view : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 250 },
        );
        expect(done.status).toBe('succeeded');
        terminalId = done.resource?.id ?? '';
      } else {
        expect(final.status).toBe(201);
        terminalId = String(final.json?.id);
      }
      expect(await operationIds(redis)).toEqual([op]); // no second operation was started
      const ts = terminals();
      expect(ts).toHaveLength(1);
      expect(ts[0]?.TID).toBe(terminalId);
      expect(ts[0]?.shipTo.SHIP_ADDR_LINE).toBe('ORDINE CRASH');
    },
    150_000,
  );
});

/** The terminal-order operation records in Redis (there is one per operation started). */
async function operationIds(r: Redis): Promise<string[]> {
  const ids: string[] = [];
  for (const key of await r.keys('*:op:*')) {
    if (key.endsWith(':lease')) continue;
    if ((await r.hget(key, 'kind')) === 'terminal.order') ids.push(String(await r.hget(key, 'id')));
  }
  return ids.sort();
}
