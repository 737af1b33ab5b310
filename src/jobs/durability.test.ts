/**
 * The job layer's crash and budget edges, found by bench/durability: a record never exists
 * without its job, the inline run counts against the retry budget, each legacy system has its
 * own budget, a second copy of a job never resumes from stale progress, and a dead letter is
 * written before the operation is marked failed.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { UnavailableError } from '../domain/errors/index.ts';
import { park } from './park.ts';
import { jobIdOf } from './queues.ts';
import { address, merchant, signal } from './test-support/fixtures.ts';
import { createHarness, fastPolicy, type Harness } from './test-support/harness.ts';
import { createWorkers, type Workers } from './worker.ts';

const order = { model: 'A920' as const, contactless: true, currency: 'EUR' as const, shippingAddress: address };
const ctx = (preferAsync: boolean) => ({ requestId: 'req-1', principal: 'client-a', preferAsync });
const tmoDown = () => new UnavailableError('tmo.unavailable', 'TMO is unavailable', { system: 'tmo' });
const crmDown = () => new UnavailableError('crm.unavailable', 'CRM is unavailable', { system: 'crm' });
async function onboard(hh: Harness): Promise<string> {
  const r = await hh.operations.submit('merchant.onboard', merchant(), ctx(false));
  if (r.outcome !== 'completed') throw new Error('expected completed');
  return (r.body as { id: string }).id;
}

let h: Harness | undefined;
let extraWorkers: Workers | undefined;
afterEach(async () => {
  await extraWorkers?.close();
  extraWorkers = undefined;
  await h?.close();
  h = undefined;
});

describe('submit: the job before the record', () => {
  it('when the record write fails after the job was added, then no operation is left without a job, and the job is dropped after its grace', async () => {
    h = await createHarness(inject('redisUrl'), { workers: false });
    const store = h.operations.runtime.store;
    const create = store.create;
    let createdId = '';
    store.create = async (r) => {
      createdId = r.id;
      throw new Error('the process died here');
    };
    // nothing is durable yet: the caller is told the store is unavailable (the API answers 503)
    await expect(h.operations.submit('merchant.onboard', merchant(), ctx(true))).rejects.toMatchObject({ code: 'operation.store_unavailable', kind: 'unavailable' });
    store.create = create;

    expect(await h.operations.get(createdId)).toBeNull(); // no orphan record...
    const job = await h.operations.queues.byName.crm.getJob(jobIdOf(createdId, 1));
    expect(job).toBeDefined(); // ...only a job for an unknown operation

    extraWorkers = createWorkers({ operations: h.operations, concurrency: 1, missingRecordGraceMs: 300 });
    await expect.poll(async () => (await h?.operations.queues.byName.crm.getJob(jobIdOf(createdId, 1)))?.getState(), { timeout: 5_000 }).toBe('completed');
    expect((await h.operations.queues.byName.crm.getJob(jobIdOf(createdId, 1)))?.returnvalue).toEqual({ skipped: 'unknown_operation' });
    expect(h.crm.calls.createCustomer).toBeUndefined(); // nothing applied
  });

  it('when the worker sees the job before its record exists, then it waits for the record and runs the operation', async () => {
    h = await createHarness(inject('redisUrl'));
    const store = h.operations.runtime.store;
    const { create, acquireLeaseAndGet } = store;
    // The record lands only once the worker has read the job's operation and found nothing
    // (the worker reads it with its lease, in one round trip).
    let workerFoundNoRecord = 0;
    const found = signal();
    store.acquireLeaseAndGet = async (id, ttl, running) => {
      const held = await acquireLeaseAndGet(id, ttl, running);
      if (held && held.op === null) {
        workerFoundNoRecord += 1;
        found.resolve();
      }
      return held;
    };
    store.create = async (r) => {
      await found.promise;
      return create(r);
    };
    const r = await h.operations.submit('merchant.onboard', merchant(), ctx(true));
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    await h.waitForStatus(r.operationId, 'succeeded');
    expect(workerFoundNoRecord).toBeGreaterThan(0); // the race happened
    expect(h.crm.calls.createCustomer).toBe(1);
  });

  it('when a write is accepted (async, breaker open or inline failure), then its job exists', async () => {
    h = await createHarness(inject('redisUrl'), { workers: false });
    const a = await h.operations.submit('merchant.onboard', merchant('11111111111'), ctx(true));
    h.circuits.set('crm', 'open');
    const b = await h.operations.submit('merchant.onboard', merchant('22222222222'), ctx(false));
    h.circuits.set('crm', 'closed');
    h.tmo.fail = (op) => (op === 'registerMerchant' ? tmoDown() : undefined);
    const c = await h.operations.submit('merchant.onboard', merchant('33333333333'), ctx(false));
    for (const r of [a, b, c]) {
      if (r.outcome !== 'accepted') throw new Error('expected accepted');
      const job = await h.operations.queues.byName.crm.getJob(jobIdOf(r.operationId, 1));
      expect(['waiting', 'delayed']).toContain(await job?.getState());
    }
  });
});

describe('retry budgets', () => {
  it('when the inline run fails, then it counts as the first attempt of the budget', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 3 }) });
    h.tmo.fail = (op) => (op === 'registerMerchant' ? tmoDown() : undefined);

    const r = await h.operations.submit('merchant.onboard', merchant(), ctx(false));
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    await h.waitForStatus(r.operationId, 'failed');

    // 3 attempts in all: the inline run and two worker runs (not 1 + 3)
    expect(h.tmo.calls.registerMerchant).toBe(3);
    expect(await h.operations.deadLetters.get(r.operationId)).toMatchObject({ reason: 'attempts_exhausted', attempts: 3 });
    expect((await h.operations.runtime.store.get(r.operationId))?.failures).toEqual({ tmo: 3, crm: 0 });
  });

  it('when CRM used up most of its budget, then TMO still gets its own', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 3 }) });
    let crmFailures = 2;
    let tmoFailures = 2;
    h.crm.fail = (op) => (op === 'createCustomer' && crmFailures-- > 0 ? crmDown() : undefined);
    h.tmo.fail = (op) => (op === 'registerMerchant' && tmoFailures-- > 0 ? tmoDown() : undefined);

    const r = await h.operations.submit('merchant.onboard', merchant(), ctx(false));
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    // four failed runs in all (a shared budget of 3 would have dead-lettered it)
    await h.waitForStatus(r.operationId, 'succeeded');
    expect(h.crm.calls.createCustomer).toBe(3);
    expect(h.tmo.calls.registerMerchant).toBe(3);
    expect((await h.operations.runtime.store.get(r.operationId))?.failures).toEqual({ tmo: 2, crm: 2 });
  });

  it('when one system fails past its own budget, then the operation is dead-lettered on that system', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 3 }) });
    let crmFailures = 1;
    h.crm.fail = (op) => (op === 'createCustomer' && crmFailures-- > 0 ? crmDown() : undefined);
    h.tmo.fail = (op) => (op === 'registerMerchant' ? tmoDown() : undefined);

    const r = await h.operations.submit('merchant.onboard', merchant(), ctx(false));
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    await h.waitForStatus(r.operationId, 'failed');
    expect(await h.operations.deadLetters.get(r.operationId)).toMatchObject({ reason: 'attempts_exhausted', system: 'tmo' });
    expect(h.tmo.calls.registerMerchant).toBe(3);
  });

  it('when an operator retries a dead letter, then every system gets its whole budget again', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 2 }) });
    h.tmo.fail = (op) => (op === 'registerMerchant' ? tmoDown() : undefined);
    const r = await h.operations.submit('merchant.onboard', merchant(), ctx(true));
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    await h.waitForStatus(r.operationId, 'failed');
    expect(h.tmo.calls.registerMerchant).toBe(2);

    let again = 1;
    h.tmo.fail = (op) => (op === 'registerMerchant' && again-- > 0 ? tmoDown() : undefined);
    await h.operations.deadLetters.retry(r.operationId, 'ops-alice');
    await h.waitForStatus(r.operationId, 'succeeded');
    expect(h.tmo.calls.registerMerchant).toBe(4); // one failure, then success: budget 2 again
  });

  it('when the failed job is retried from the queue console, then every system gets its whole budget again too', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 2 }) });
    h.tmo.fail = (op) => (op === 'registerMerchant' ? tmoDown() : undefined);
    const r = await h.operations.submit('merchant.onboard', merchant(), ctx(true));
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    await h.waitForStatus(r.operationId, 'failed');

    let again = 1;
    h.tmo.fail = (op) => (op === 'registerMerchant' && again-- > 0 ? tmoDown() : undefined);
    const job = await h.operations.queues.byName.crm.getJob(jobIdOf(r.operationId, 1));
    await job?.retry('failed'); // what bull-board's "retry" button does
    await h.waitForStatus(r.operationId, 'succeeded');
    expect(h.tmo.calls.registerMerchant).toBe(4);
    // the worker resolves the dead letter right after marking the operation succeeded
    await expect.poll(async () => (await h?.operations.deadLetters.get(r.operationId))?.state, { timeout: 5_000 }).toBe('resolved');
  });
});

describe('a second copy of a job', () => {
  it('when it gets the lease after the first copy finished, then it reads the operation again and orders no second terminal', async () => {
    h = await createHarness(inject('redisUrl'));
    const onboarded = await h.operations.submit('merchant.onboard', merchant(), ctx(false));
    if (onboarded.outcome !== 'completed') throw new Error('expected completed');
    const merchantId = (onboarded.body as { id: string }).id;

    // The first copy is slow in OrderTerminal; the second finds the lease busy and only gets it
    // once the first has finished — as after a stalled-job recovery of a live worker.
    // OrderTerminal of the first copy returns only once the second copy found the lease busy.
    const secondFoundLeaseBusy = signal();
    const tmo = h.tmo;
    const orderTerminal = tmo.orderTerminal.bind(tmo);
    tmo.orderTerminal = async (...args) => {
      await secondFoundLeaseBusy.promise;
      return orderTerminal(...args);
    };
    const rt = h.operations.runtime;
    const acquire = rt.store.acquireLeaseAndGet;
    let waited = false;
    rt.store.acquireLeaseAndGet = async (id, ttl, running) => {
      const lease = await acquire(id, ttl, running);
      if (lease || waited) return lease;
      waited = true;
      secondFoundLeaseBusy.resolve();
      await h?.waitForStatus(id, 'succeeded');
      return acquire(id, ttl, running);
    };

    const r = await h.operations.submit('terminal.order', { merchantId, order }, ctx(true));
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    await h.operations.queues.enqueue({ operationId: r.operationId, kind: 'terminal.order', requestId: 'req-1' }, 2);
    await h.waitForStatus(r.operationId, 'succeeded');
    await expect.poll(async () => (await h?.operations.queues.byName.tmo.getJob(jobIdOf(r.operationId, 2)))?.getState(), { timeout: 5_000 }).toBe('completed');

    expect(waited).toBe(true);
    expect(h.tmo.terminals.size).toBe(1);
    expect(h.tmo.calls.orderTerminal).toBe(1);
  });
});

describe('store failures during a run', () => {
  it('when reading the claimed terminals fails (Redis stalled), then the order is retried and applied once, not dead-lettered as an internal error', async () => {
    h = await createHarness(inject('redisUrl'));
    const merchantId = await onboard(h);
    const slots = h.operations.runtime.orderSlots;
    const claimedElsewhere = slots.claimedElsewhere.bind(slots);
    let failures = 1;
    slots.claimedElsewhere = async (op) => {
      if (failures-- > 0) throw new Error('Command timed out');
      return claimedElsewhere(op);
    };
    const r = await h.operations.submit('terminal.order', { merchantId, order }, ctx(false));
    expect(r.outcome).toBe('accepted'); // retried by the worker, not thrown as a 500
    if (r.outcome !== 'accepted') return;
    await h.waitForStatus(r.operationId, 'succeeded');
    expect(h.tmo.terminals.size).toBe(1);
    expect(await h.operations.deadLetters.get(r.operationId)).toBeNull();
  });
});

describe('orders of one merchant', () => {
  it('when an order of the same model is placed while an ambiguous one is pending, then each gets its own terminal', async () => {
    h = await createHarness(inject('redisUrl'));
    const merchantId = await onboard(h);
    // A's first send fails with a system fault: not applied, but the service cannot know that
    let failures = 1;
    h.tmo.fail = (op) => (op === 'orderTerminal' && failures-- > 0 ? tmoDown() : undefined);
    const a = await h.operations.submit('terminal.order', { merchantId, order }, ctx(false));
    expect(a.outcome).toBe('accepted');
    // B, same merchant, same model, while A is pending: without the slot it would be applied
    // inline now, and A's reconciliation would adopt B's terminal as its own
    const b = await h.operations.submit('terminal.order', { merchantId, order }, ctx(false));
    expect(b.outcome).toBe('accepted');
    if (a.outcome !== 'accepted' || b.outcome !== 'accepted') return;
    await h.waitForStatus(a.operationId, 'succeeded');
    await h.waitForStatus(b.operationId, 'succeeded');

    expect(h.tmo.terminals.size).toBe(2);
    const ra = (await h.operations.get(a.operationId))?.resource?.id;
    const rb = (await h.operations.get(b.operationId))?.resource?.id;
    expect(ra).not.toEqual(rb);
    expect(await h.redis.exists(`${h.prefix}:order-slot:${merchantId}`)).toBe(0);
  });

  it('when the order holding the slot is finished but never released it, then the next order takes the slot over', async () => {
    h = await createHarness(inject('redisUrl'));
    const merchantId = await onboard(h);
    await h.redis.set(`${h.prefix}:order-slot:${merchantId}`, 'op_gone_after_a_crash');
    const r = await h.operations.submit('terminal.order', { merchantId, order }, ctx(false));
    expect(r.outcome).toBe('completed');
  });

  it('when an order is parked, then the next order of the merchant may send', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 2 }) });
    const merchantId = await onboard(h);
    h.tmo.fail = (op) => (op === 'orderTerminal' ? tmoDown() : undefined);
    const a = await h.operations.submit('terminal.order', { merchantId, order }, ctx(true));
    if (a.outcome !== 'accepted') throw new Error('expected accepted');
    await h.waitForStatus(a.operationId, 'failed');
    h.tmo.fail = undefined;
    const b = await h.operations.submit('terminal.order', { merchantId, order }, ctx(false));
    expect(b.outcome).toBe('completed');
  });
});

describe('claimed terminals', () => {
  it('when an operator retries a parked ambiguous order after another order of that model succeeded, then it does not adopt that terminal', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 2 }) });
    const merchantId = await onboard(h);
    // A: every send fails with a system fault, so its outcome stays ambiguous; it is parked
    h.tmo.fail = (op) => (op === 'orderTerminal' ? tmoDown() : undefined);
    const a = await h.operations.submit('terminal.order', { merchantId, order }, ctx(true));
    if (a.outcome !== 'accepted') throw new Error('expected accepted');
    await h.waitForStatus(a.operationId, 'failed');
    h.tmo.fail = undefined;
    // B, same model, completes while A waits in the dead letters: its terminal is claimed
    const b = await h.operations.submit('terminal.order', { merchantId, order }, ctx(false));
    if (b.outcome !== 'completed') throw new Error('expected completed');
    const terminalB = (b.body as { id: string }).id;
    expect(await h.redis.smembers(`${h.prefix}:order-claimed:${merchantId}`)).toEqual([terminalB]);

    await h.operations.deadLetters.retry(a.operationId, 'ops-alice');
    await h.waitForStatus(a.operationId, 'succeeded');
    const terminalA = (await h.operations.get(a.operationId))?.resource?.id;
    expect(terminalA).toBeDefined();
    expect(terminalA).not.toBe(terminalB);
    expect(h.tmo.terminals.size).toBe(2);
  });
});

describe('park', () => {
  it('when the process dies between the dead letter and the failed status, then the operation is still visible to the operators', async () => {
    h = await createHarness(inject('redisUrl'), { workers: false });
    const r = await h.operations.submit('merchant.onboard', merchant(), ctx(true));
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    const rt = h.operations.runtime;
    const op = await rt.store.get(r.operationId);
    if (!op) throw new Error('no operation');
    const markFailed = rt.store.markFailed;
    rt.store.markFailed = async () => {
      throw new Error('the process died here');
    };
    const error = { name: 'UnavailableError', kind: 'unavailable' as const, code: 'crm.unavailable', message: 'down', retryable: true, fields: [] };
    await expect(park(rt, op, error, 'crm', 'crm.createCustomer', 'attempts_exhausted')).rejects.toThrow('the process died here');
    rt.store.markFailed = markFailed;

    expect(await rt.deadLetters.get(r.operationId)).toMatchObject({ state: 'open', reason: 'attempts_exhausted' });
    expect((await rt.store.get(r.operationId))?.status).toBe('queued'); // the job still runs it
  });
});
