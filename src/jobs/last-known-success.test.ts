import { Hono } from 'hono';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { ApiEnv } from '../api/env.ts';
import { readThrough } from '../api/stale-if-error.ts';
import { UnavailableError } from '../domain/errors/index.ts';
import type { MerchantTerminal } from '../domain/services/types.ts';
import { createLastKnownStore } from './last-known.ts';
import { jobIdOf } from './queues.ts';
import { createHarness, type Harness } from './test-support/harness.ts';

const address = { line1: 'Via Roma 1', city: 'Milano', postalCode: '20100', province: 'MI', country: 'IT' };
const ctx = { requestId: 'req-lk', principal: 'client-a', preferAsync: true };

let h: Harness | undefined;
const clients: Redis[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => undefined)));
});

/** A harness whose operations keep last-known copies under `prefixOf(keys prefix)`, on their own client. */
async function harnessWithCopies(prefixOf: (keysPrefix: string) => string) {
  const client = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
  clients.push(client);
  let store: ReturnType<typeof createLastKnownStore> | undefined;
  h = await createHarness(inject('redisUrl'), {
    lastKnown: (keysPrefix) =>
      (store = createLastKnownStore({ redis: client, prefix: prefixOf(keysPrefix), cipher: { seal: (s) => s, open: (s) => s }, ttlSeconds: 60, logger: pino({ level: 'silent' }) })),
  });
  if (!store) throw new Error('no last-known store');
  return { h, store };
}

/** A terminal ordered at the fake TMO. */
async function orderedTerminal(harness: Harness): Promise<string> {
  const { terminalId } = await harness.tmo.orderTerminal(
    (await harness.tmo.registerMerchant({ vatNumber: '12345678901', name: 'X', mcc: '5812', address, customerId: 'C000000001' }, { requestId: 'r' })).tmoMerchantId,
    { model: 'A920', contactless: true, currency: 'EUR', shippingAddress: address },
    { requestId: 'r' },
  );
  return terminalId;
}

/** Runs one queued terminal status change and returns what Redis saw on the copy's key. */
async function statusChangeSeenOn(harness: Harness, copyKey: (terminalId: string) => string) {
  const { terminalId } = await harness.tmo.orderTerminal(
    (await harness.tmo.registerMerchant({ vatNumber: '12345678901', name: 'X', mcc: '5812', address, customerId: 'C000000001' }, { requestId: 'r' })).tmoMerchantId,
    { model: 'A920', contactless: true, currency: 'EUR', shippingAddress: address },
    { requestId: 'r' },
  );
  const monitor = await harness.redis.duplicate().monitor();
  const seen: { source: string; args: string[] }[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ source, args }));
  try {
    const r = await harness.operations.submit('terminal.status', { terminalId, status: 'suspended', reason: 'merchant_request' }, ctx);
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    await expect.poll(async () => (await harness.operations.queues.byName.tmo.getJob(jobIdOf(r.operationId, 1)))?.getState(), { interval: 20, timeout: 5_000 }).toBe('completed');
    await new Promise((res) => setTimeout(res, 50)); // a fire-and-forget SET reaches MONITOR
    const key = copyKey(terminalId);
    // a client's script (EVAL or EVALSHA: the first call loads it) by its number of keys; a script's own commands by name
    const named = (c: { source: string; args: string[] }): string => {
      const cmd = c.args[0]?.toLowerCase() ?? '';
      if (c.source === 'lua') return `lua ${cmd}`;
      return cmd === 'eval' || cmd === 'evalsha' ? `client script of ${c.args[2]} keys` : `client ${cmd}`;
    };
    return { terminalId, onKey: seen.filter((c) => c.args.includes(key)).map(named) };
  } finally {
    monitor.disconnect();
  }
}

describe('the last-known copy of a successful write (issue 8)', () => {
  it('when a queued write succeeds, then its last-known copy is SET by the success script, not by a command of its own', async () => {
    const { h: harness, store } = await harnessWithCopies((p) => p);
    const { terminalId, onKey } = await statusChangeSeenOn(harness, (id) => `${harness.prefix}:lk:terminal:${id}`);
    // the success script (record, dead letter, lease, copy), its check of the stored copy's time, its SET
    expect(onKey).toEqual(['client script of 4 keys', 'lua getrange', 'lua set']);
    expect((await store.recall('terminal', terminalId))?.value).toMatchObject({ id: terminalId, status: 'suspended' });
  });

  it('when the copies live under another hash tag, then the copy is sent on its own as before', async () => {
    const { h: harness, store } = await harnessWithCopies(() => '{elsewhere}');
    const { terminalId, onKey } = await statusChangeSeenOn(harness, (id) => `{elsewhere}:lk:terminal:${id}`);
    // the copy's own script (as a read's `remember`): the same check, then its SET
    expect(onKey).toEqual(['client script of 1 keys', 'lua getrange', 'lua set']);
    expect((await store.recall('terminal', terminalId))?.value).toMatchObject({ id: terminalId, status: 'suspended' });
  });
});

describe('a slow read overlapping a write (issue 8: the copy never goes back to the state before a write)', () => {
  it('when a GET is sent before a status change, answers after the worker stored the write\'s copy, then legacy is down, then the answer is the state after the write', async () => {
    const { h: harness } = await harnessWithCopies((p) => p); // the worker's store
    // the API's store: another process, its own memo, on the same copies
    const client = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
    clients.push(client);
    const api = createLastKnownStore({ redis: client, prefix: harness.prefix, cipher: { seal: (s) => s, open: (s) => s }, ttlSeconds: 60, logger: pino({ level: 'silent' }) });
    let read: (id: string) => Promise<MerchantTerminal> = (id) => harness.services.terminals.get(id, { requestId: 'r' });
    const app = new Hono<ApiEnv>()
      .use(async (c, next) => {
        c.set('logger', pino({ level: 'silent' }));
        await next();
      })
      .get('/t/:id', async (c) => c.json(await readThrough(c, api, 'terminal', c.req.param('id'), () => read(c.req.param('id')))));
    const terminalId = await orderedTerminal(harness);
    const before = (await harness.services.terminals.get(terminalId, { requestId: 'r' })).status;
    expect(before).not.toBe('suspended');

    // the slow GET: TMO reads the terminal now, its answer is held until the write is done
    let answer!: () => void;
    const held = new Promise<void>((r) => (answer = r));
    read = async (id) => {
      const t = await harness.services.terminals.get(id, { requestId: 'r' });
      await held;
      return t;
    };
    const slow = app.request(`/t/${terminalId}`);
    await new Promise((r) => setTimeout(r, 5));

    const r = await harness.operations.submit('terminal.status', { terminalId, status: 'suspended', reason: 'merchant_request' }, ctx);
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    await harness.startWorkers();
    await expect.poll(async () => (await harness.operations.queues.byName.tmo.getJob(jobIdOf(r.operationId, 1)))?.getState(), { interval: 20, timeout: 5_000 }).toBe('completed');
    await expect.poll(async () => client.get(`${harness.prefix}:lk:terminal:${terminalId}`), { interval: 10, timeout: 2_000 }).toContain('"status":"suspended"');

    answer();
    expect(((await (await slow).json()) as MerchantTerminal).status).toBe(before);
    await client.ping(); // the slow read's copy went out before this, on the same connection

    read = async () => {
      throw new UnavailableError('upstream.unavailable', 'TMO down');
    };
    const down = await app.request(`/t/${terminalId}`);
    expect(down.status).toBe(200);
    expect(down.headers.get('cache-status')).toContain('stale-if-error');
    expect(((await down.json()) as MerchantTerminal).status).toBe('suspended');
  });
});
