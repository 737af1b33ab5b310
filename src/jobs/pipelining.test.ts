import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { buildLastKnown, createShutdown } from '../gateway.ts';
import { createServices } from '../domain/services/index.ts';
import { FakeCrm, FakeTmo } from '../domain/services/test-support/fake-ports.ts';
import { createOperations, type Operations } from './operations.ts';
import { FakeCircuits, fastPolicy, testCipher } from './test-support/harness.ts';
import { createWorkers, type Workers } from './worker.ts';
import { SAMPLE_MERCHANT_TERMINAL } from '../domain/services/test-support/sample-terminal.ts';

const terminal = SAMPLE_MERCHANT_TERMINAL;

let operations: Operations | undefined;
let workers: Workers | undefined;
afterEach(async () => {
  await workers?.close().catch(() => undefined);
  await operations?.close().catch(() => undefined);
  workers = undefined;
  operations = undefined;
});

/** Operations that open their own Redis client, as `npm run worker` and the gateway do. */
function ownClientOperations(): Operations {
  return createOperations({
    redisUrl: inject('redisUrl'),
    services: createServices({ crm: new FakeCrm(), tmo: new FakeTmo() }),
    cipher: testCipher(),
    retryPolicy: fastPolicy(),
    circuits: new FakeCircuits(),
    prefix: `t${randomUUID().slice(0, 8)}`,
  });
}

describe('the job layer on its own Redis client (issue 8)', () => {
  it('when 16 jobs take their lease and read their record in one event-loop turn, then their 16 scripts leave in one socket write, each answered as alone', async () => {
    operations = ownClientOperations();
    const { redis, store } = operations.runtime;
    await redis.ping();
    let writes = 0;
    const stream = redis.stream;
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((...args: unknown[]) => {
      writes += 1;
      return write(...args);
    }) as typeof stream.write;

    const ids = Array.from({ length: 16 }, (_, i) => `op_pipe${i}`);
    const held = await Promise.all(ids.map((id) => store.acquireLeaseAndGet(id, 5_000)));

    expect(writes).toBe(1);
    expect(held.every((h) => h !== null && h.op === null)).toBe(true); // every lease ours, no record yet
    // the second taker of a lease gets nothing: the script reads only under a lease it took
    expect(await store.acquireLeaseAndGet(ids[0] ?? '', 5_000)).toBeNull();
    await Promise.all(held.map((h) => h?.lease.release()));
  });

  it('when the commands client is auto-pipelined, then BullMQ’s connections (queues and workers) are not', async () => {
    operations = ownClientOperations();
    workers = createWorkers({ operations, concurrency: 2 });
    await workers.waitUntilReady();
    expect(operations.runtime.redis.options.enableAutoPipelining).toBe(true);
    const pipelined = (c: unknown) => (c as { options: { enableAutoPipelining?: boolean } }).options.enableAutoPipelining;
    for (const w of workers.workers) expect(pipelined(w.opts.connection)).toBe(false);
    for (const q of operations.queues.all) expect(pipelined(q.opts.connection)).toBe(false);
  });

  it('when 16 jobs finish in one event-loop turn, then their last-known copies leave in one socket write', async () => {
    const logger = pino({ level: 'silent' });
    const shutdown = createShutdown(logger);
    const url = inject('redisUrl');
    const lastKnown = buildLastKnown(loadConfig({}), logger, { redis: { url, source: 'env', stop: async () => undefined }, prefix: `t${randomUUID().slice(0, 8)}` }, shutdown);
    try {
      expect(await lastKnown.recall('terminal', 'T-none')).toBeNull(); // connected
      let writes = 0;
      const write = Socket.prototype.write;
      Socket.prototype.write = function counted(this: Socket, ...args: Parameters<Socket['write']>) {
        writes += 1;
        return write.apply(this, args);
      } as Socket['write'];
      try {
        for (let i = 0; i < 16; i++) lastKnown.remember('terminal', `T${i}`, { ...terminal, id: `T${i}` });
        await new Promise((r) => setImmediate(r));
      } finally {
        Socket.prototype.write = write;
      }
      expect(writes).toBe(1);
      expect((await lastKnown.recall('terminal', 'T15'))?.value).toEqual({ ...terminal, id: 'T15' });
    } finally {
      await shutdown.run();
    }
  });
});

describe('the operation lease', () => {
  it('when leases are held past their TTL, then each is renewed until released, and a released one is not brought back', async () => {
    operations = ownClientOperations();
    const { redis, store, keys } = operations.runtime;
    const ttlMs = 300;
    const a = await store.acquireLeaseAndGet('op_renew_a', ttlMs);
    const b = await store.acquireLease('op_renew_b', ttlMs);
    await new Promise((r) => setTimeout(r, 150));
    // taken later, while the others' renewal is already running: renewed all the same
    const c = await store.acquireLease('op_renew_c', ttlMs);
    await b?.release();
    await new Promise((r) => setTimeout(r, 3 * ttlMs));

    expect(await redis.get(keys.lease('op_renew_a'))).toBe(a?.lease.token);
    expect(await redis.get(keys.lease('op_renew_c'))).toBe(c?.token);
    expect(await redis.exists(keys.lease('op_renew_b'))).toBe(0);
    await a?.lease.release();
    await c?.release();
    expect(await redis.exists(keys.lease('op_renew_a'), keys.lease('op_renew_c'))).toBe(0);
    await new Promise((r) => setTimeout(r, ttlMs));
    expect(await redis.exists(keys.lease('op_renew_a'), keys.lease('op_renew_b'), keys.lease('op_renew_c'))).toBe(0);
  });

  it('when Redis has lost its scripts (restart, SCRIPT FLUSH), then the job’s scripts are sent again as EVALs: the lease taken once with its record, the success written', async () => {
    operations = ownClientOperations();
    const { redis, store, keys } = operations.runtime;
    const first = await store.acquireLeaseAndGet('op_noscript_a', 5_000); // loads the script (EVAL)
    await first?.lease.release();
    await redis.hset(keys.operation('op_noscript_b'), { id: 'op_noscript_b', kind: 'terminal.status', status: 'queued' });
    await redis.script('FLUSH');
    const held = await store.acquireLeaseAndGet('op_noscript_b', 5_000); // EVALSHA: NOSCRIPT, then EVAL
    expect(held?.op).toMatchObject({ id: 'op_noscript_b', kind: 'terminal.status', status: 'queued' });
    expect(await redis.get(keys.lease('op_noscript_b'))).toBe(held?.lease.token);
    expect(await store.acquireLeaseAndGet('op_noscript_b', 5_000)).toBeNull();
    if (!held) throw new Error('expected the lease');
    // the success script likewise (loaded by its first call, then flushed)
    await store.finishSucceeded('op_noscript_a', { type: 'terminal', id: 'T1' }, [], 60_000);
    await redis.script('FLUSH');
    await store.finishSucceeded('op_noscript_b', { type: 'terminal', id: 'T1' }, [], 60_000, held.lease);
    expect(await redis.hget(keys.operation('op_noscript_b'), 'status')).toBe('succeeded');
    expect(await redis.exists(keys.lease('op_noscript_b'))).toBe(0);
  });
});
