/**
 * A runner that lost its operation lease (taken over while it was stalled or cut off from Redis)
 * learns it and stops: the renewal answered 0 marks the lease lost, a progress write under the
 * lease is checked against its token in the same script, and the runner makes no further legacy
 * call and writes nothing more — the new holder owns the record.
 */
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createKeys } from './keys.ts';
import { createOperationStore } from './operation-store.ts';
import { jobIdOf } from './queues.ts';
import { initialSteps } from './runner.ts';
import { merchant, signal } from './test-support/fixtures.ts';
import { createHarness, type Harness } from './test-support/harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const clients: Redis[] = [];
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const c of clients.splice(0)) c.disconnect();
});

function storeOn(redis: Redis) {
  const keys = createKeys(`t${randomUUID().slice(0, 8)}`);
  return { keys, store: createOperationStore(redis, keys, { succeededTtlMs: 60_000, instanceId: 'i1' }) };
}

function client(opts: RedisOptions = {}): Redis {
  const c = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null, ...opts });
  clients.push(c);
  return c;
}

describe('the lease renewal', () => {
  it('when a renewal is answered 0 (another token holds the key), then the lease is marked lost', async () => {
    const redis = client();
    const { store, keys } = storeOn(redis);
    const lease = await store.acquireLease('op_renew', 300); // renewed every 100 ms
    if (!lease) throw new Error('expected the lease');
    await sleep(250);
    expect(lease.lost).toBe(false); // renewed while it was ours

    await redis.set(keys.lease('op_renew'), 'i2|other', 'PX', 5_000); // taken over
    await expect.poll(() => lease.lost, { timeout: 2_000 }).toBe(true);
    await lease.release();
    expect(await redis.get(keys.lease('op_renew'))).toBe('i2|other'); // the new holder's, untouched
  });

  it('when Redis cannot be reached, then the lease is not marked lost (unknown, not lost)', async () => {
    const redis = client({ enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await new Promise((r) => redis.once('ready', r));
    const { store, keys } = storeOn(redis);
    const lease = await store.acquireLease('op_away', 300);
    if (!lease) throw new Error('expected the lease');
    redis.disconnect(); // every renewal from now on fails
    await sleep(450);
    // the key expired meanwhile: a renewal that reached Redis now would be answered 0
    expect(await client().exists(keys.lease('op_away'))).toBe(0);
    expect(lease.lost).toBe(false);
    lease.released();
  });
});

describe('progress saved under a lease', () => {
  it('when the lease was taken over, then the save writes nothing and answers lease_lost', async () => {
    const redis = client();
    const { store, keys } = storeOn(redis);
    const id = 'op_save';
    await store.create({
      id,
      kind: 'merchant.onboard',
      status: 'running',
      createdAt: new Date().toISOString(),
      principal: 'p',
      requestId: 'r',
      input: {},
      progress: {},
      steps: initialSteps('merchant.onboard'),
      resource: null,
      error: null,
      attempts: 1,
      run: 1,
    });
    const lease = await store.acquireLease(id, 5_000);
    if (!lease) throw new Error('expected the lease');
    expect(await store.saveProgress(id, { customerId: 'C1' }, [], lease)).toBe('saved');
    const before = await redis.hgetall(keys.operation(id));
    expect(before.progress).toBe('{"customerId":"C1"}');

    await redis.set(keys.lease(id), 'i2|other', 'PX', 5_000); // taken over
    expect(await store.saveProgress(id, { customerId: 'C1', tmoMerchantId: 'M1' }, [], lease)).toBe('lease_lost');
    expect(lease.lost).toBe(true);
    expect(await redis.hgetall(keys.operation(id))).toEqual(before); // nothing written, not even updatedAt
    // without a lease (no such run today, but the store keeps its old behaviour): written
    expect(await store.saveProgress(id, { customerId: 'C2' }, [])).toBe('saved');
    expect(await redis.hget(keys.operation(id), 'progress')).toBe('{"customerId":"C2"}');
    lease.released();
  });
});

describe('a runner whose lease is taken over during a legacy call', () => {
  /**
   * The review's scenario: the onboarding's runner is blocked inside CRM CreateCustomer while
   * another token takes the lease (as a takeover of a runner presumed dead does).
   */
  async function blockFirstCall(hh: Harness): Promise<{ entered: Promise<void>; release: () => void }> {
    const entered = signal();
    const gate = signal();
    const crm = hh.crm;
    const createCustomer = crm.createCustomer.bind(crm);
    crm.createCustomer = async (...args) => {
      entered.resolve();
      await gate.promise;
      return createCustomer(...args);
    };
    return { entered: entered.promise, release: gate.resolve };
  }

  async function expectLeftToNewHolder(hh: Harness, id: string, statusBefore: string): Promise<void> {
    const rec = await hh.redis.hgetall(hh.operations.runtime.keys.operation(id));
    expect(hh.crm.calls.createCustomer).toBe(1);
    expect(hh.tmo.calls.registerMerchant).toBeUndefined(); // no further legacy call
    expect(rec.progress).toBe('{}'); // no progress written
    expect(rec.status).toBe(statusBefore); // no success, no queued/failed
    expect(rec.resource).toBe('');
    expect(rec.error).toBe('');
    expect(rec['failures:crm']).toBeUndefined(); // no failure counted
    expect(rec.firstFailedAt).toBeUndefined();
    expect(await hh.operations.deadLetters.get(id)).toBeNull();
    expect(await hh.redis.get(hh.operations.runtime.keys.lease(id))).toBe('other|token'); // still the new holder's
  }

  it('when the run is inline, then it makes no further legacy call, writes nothing, and answers 202 (accepted)', async () => {
    h = await createHarness(inject('redisUrl'), { workers: false });
    const blocked = await blockFirstCall(h);
    const id = `op_${randomUUID().replaceAll('-', '')}`;
    const submitted = h.operations.submit('merchant.onboard', merchant(), { requestId: 'req-1', principal: 'client-a', preferAsync: false, operationId: id });
    await blocked.entered;
    await h.redis.set(h.operations.runtime.keys.lease(id), 'other|token', 'PX', 60_000);
    blocked.release();

    expect(await submitted).toEqual({ outcome: 'accepted', operationId: id });
    await expectLeftToNewHolder(h, id, 'running');
    // the safety job stays, for the new holder's run to finish or for a later resume
    expect(await (await h.operations.queues.byName.crm.getJob(jobIdOf(id, 1)))?.getState()).toBe('delayed');
  });

  it('when the run is a worker’s, then it makes no further legacy call, writes nothing, and its job waits (delayed: no attempt, no dead letter)', async () => {
    h = await createHarness(inject('redisUrl'), { workers: false });
    const blocked = await blockFirstCall(h);
    const r = await h.operations.submit('merchant.onboard', merchant(), { requestId: 'req-1', principal: 'client-a', preferAsync: true });
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    const id = r.operationId;
    await h.startWorkers();
    await blocked.entered;
    // the new holder is alive (its liveness key): the job, back from its delay, finds the lease
    // busy and waits again rather than taking over from a dead holder
    await h.redis.set(h.operations.runtime.keys.instance('other'), '1', 'PX', 60_000);
    await h.redis.set(h.operations.runtime.keys.lease(id), 'other|token', 'PX', 60_000);
    blocked.release();

    const job = await h.operations.queues.byName.crm.getJob(jobIdOf(id, 1));
    await expect.poll(async () => (await h?.operations.queues.byName.crm.getJob(jobIdOf(id, 1)))?.getState(), { timeout: 5_000 }).toBe('delayed');
    expect((await h.operations.queues.byName.crm.getJob(jobIdOf(id, 1)))?.attemptsMade ?? 0).toBe(0);
    expect(job?.attemptsMade ?? 0).toBe(0);
    await expectLeftToNewHolder(h, id, 'running');
  });

  it('when the lease is known lost before the first legacy call (a renewal answered 0), then the run makes none', async () => {
    h = await createHarness(inject('redisUrl'), { workers: false });
    const r = await h.operations.submit('merchant.onboard', merchant(), { requestId: 'req-1', principal: 'client-a', preferAsync: true });
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    const store = h.operations.runtime.store;
    const acquire = store.acquireLeaseAndGet;
    store.acquireLeaseAndGet = async (...args) => {
      const held = await acquire(...args);
      held?.lease.markLost(); // as the renewal timer does on a 0
      return held;
    };
    await h.startWorkers();
    await expect.poll(async () => (await h?.operations.queues.byName.crm.getJob(jobIdOf(r.operationId, 1)))?.getState(), { timeout: 5_000 }).toBe('delayed');
    expect(h.crm.calls.createCustomer).toBeUndefined();
    expect(await h.redis.hget(h.operations.runtime.keys.operation(r.operationId), 'progress')).toBe('{}');
  });
});
