import { afterEach, describe, expect, inject, it } from 'vitest';
import { BusinessError, UnavailableError } from '../domain/errors/index.ts';
import type { NewMerchant } from '../domain/services/types.ts';
import { jobIdOf } from './queues.ts';
import { createHarness, dumpRedis, fastPolicy, type Harness } from './test-support/harness.ts';

const IBAN = 'IT60X0542811101000000123456';
const address = { line1: 'Via Roma 1', city: 'Milano', postalCode: '20100', province: 'MI', country: 'IT' };
const merchant = (vat = '12345678901'): NewMerchant => ({
  legalName: 'Caffè Società Srl',
  vatNumber: vat,
  taxCode: vat,
  segment: 'retail',
  mcc: '5812',
  email: 'info@caffe.example',
  phone: '+390212345678',
  address,
  iban: IBAN,
  partnerId: null,
});
const ctx = (preferAsync: boolean) => ({ requestId: 'req-1', principal: 'client-a', preferAsync });

/** A terminal in the harness's TMO, ordered for a merchant registered there first: what a status change needs. */
async function orderedTerminal(h: Harness): Promise<string> {
  const { tmoMerchantId } = await h.tmo.registerMerchant({ vatNumber: '12345678901', name: 'X', mcc: '5812', address, customerId: 'C000000001' }, { requestId: 'r' });
  const { terminalId } = await h.tmo.orderTerminal(tmoMerchantId, { model: 'A920', contactless: true, currency: 'EUR', shippingAddress: address }, { requestId: 'r' });
  return terminalId;
}
const tmoDown = () => new UnavailableError('tmo.unavailable', 'TMO is unavailable', { system: 'tmo' });

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('operations runner', () => {
  it('when nothing fails, then the write completes inline with 201 and a location', async () => {
    h = await createHarness(inject('redisUrl'));
    const r = await h.operations.submit('merchant.onboard', merchant(), ctx(false));
    expect(r).toMatchObject({ outcome: 'completed', created: true, resource: { type: 'merchant', id: 'C000000001' } });
  });

  it('when the inline run fails with a retryable error, then it is accepted, retried by the worker and succeeds without a second customer', async () => {
    h = await createHarness(inject('redisUrl'));
    let failures = 2;
    h.tmo.fail = (op) => (op === 'registerMerchant' && failures-- > 0 ? tmoDown() : undefined);

    const r = await h.operations.submit('merchant.onboard', merchant(), ctx(false));
    expect(r.outcome).toBe('accepted');
    if (r.outcome !== 'accepted') return;
    await h.waitForStatus(r.operationId, 'succeeded');

    const op = await h.operations.get(r.operationId);
    expect(op?.resource).toEqual({ type: 'merchant', id: 'C000000001' });
    expect(op?.steps.map((s) => [s.name, s.outcome])).toEqual([
      ['crm.createCustomer', 'succeeded'],
      ['tmo.registerMerchant', 'succeeded'],
      ['crm.addExternalRef', 'succeeded'],
      ['tmo.getMerchant', 'succeeded'],
    ]);
    expect(op?.steps[1]?.attempts).toBe(3);
    expect(h.crm.calls.createCustomer).toBe(1);
    expect(h.tmo.calls.registerMerchant).toBe(3);
    expect(h.tmo.merchants.size).toBe(1);
  });

  it('when the failure is not retryable, then the error propagates and nothing is queued', async () => {
    h = await createHarness(inject('redisUrl'));
    h.tmo.fail = (op) => (op === 'registerMerchant' ? new BusinessError('merchant.mcc_not_allowed', 'MCC not allowed', { system: 'tmo' }) : undefined);
    await expect(h.operations.submit('merchant.onboard', merchant(), ctx(false))).rejects.toMatchObject({ code: 'merchant.mcc_not_allowed' });
    const counts = await h.operations.queues.byName.crm.getJobCounts('delayed', 'waiting', 'active');
    expect(counts).toEqual({ delayed: 0, waiting: 0, active: 0 });
  });

  it('when a queued job fails unrecoverably, then it is dead-lettered at once with the failing step and a masked payload', async () => {
    h = await createHarness(inject('redisUrl'));
    h.tmo.fail = (op) => (op === 'registerMerchant' ? new BusinessError('merchant.mcc_not_allowed', 'MCC not allowed', { system: 'tmo' }) : undefined);

    const r = await h.operations.submit('merchant.onboard', merchant(), ctx(true));
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    await h.waitForStatus(r.operationId, 'failed');

    const dl = await h.operations.deadLetters.get(r.operationId);
    expect(dl).toMatchObject({
      operationId: r.operationId,
      kind: 'merchant.onboard',
      system: 'tmo',
      operation: 'tmo.registerMerchant',
      errorCode: 'merchant.mcc_not_allowed',
      reason: 'not_retryable',
      attempts: 1,
      state: 'open',
    });
    expect((dl?.payload as { iban: string }).iban).toBe('IT**************3456');
    expect(h.tmo.calls.registerMerchant).toBe(1);
    const op = await h.operations.get(r.operationId);
    expect(op?.problem).toMatchObject({ code: 'merchant.mcc_not_allowed', kind: 'business' });
    const failedStep = op?.steps.find((s) => s.name === 'tmo.registerMerchant');
    expect(failedStep).toMatchObject({ outcome: 'failed', attempts: 1, lastErrorCode: 'merchant.mcc_not_allowed' });
    // a failed step has ended: when, not null (null would read as still running)
    expect(Date.parse(failedStep?.finishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(failedStep?.startedAt ?? ''));
    const job = await h.operations.queues.byName.crm.getJob(jobIdOf(r.operationId, 1));
    expect(await job?.getState()).toBe('failed'); // kept, never silently removed
  });

  it('when the outage outlasts the retry budget, then the job is dead-lettered after the last attempt, without repeating finished steps', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 3 }) });
    h.tmo.fail = (op) => (op === 'registerMerchant' ? tmoDown() : undefined);

    const r = await h.operations.submit('merchant.onboard', merchant(), ctx(true));
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    await h.waitForStatus(r.operationId, 'failed');

    expect(await h.operations.deadLetters.get(r.operationId)).toMatchObject({ reason: 'attempts_exhausted', errorCode: 'tmo.unavailable', attempts: 3 });
    expect(h.tmo.calls.registerMerchant).toBe(3);
    expect(h.crm.calls.createCustomer).toBe(1);
  });

  it('when the system breaker is open, then jobs wait in delayed without burning attempts and run once it closes', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 2, breakerWaitMs: 200 }) });
    const terminalId = await orderedTerminal(h);
    h.tmo.calls = {};
    h.circuits.set('tmo', 'open');

    const r = await h.operations.submit('terminal.status', { terminalId, status: 'suspended', reason: 'suspected_fraud' }, ctx(false));
    expect(r.outcome).toBe('accepted'); // not even tried inline: the breaker is open
    if (r.outcome !== 'accepted') return;
    // several breaker waits (200 ms each) pass: the job keeps waiting, no attempt is burned
    await new Promise((res) => setTimeout(res, 900));
    const waiting = await h.operations.queues.byName.tmo.getJob(jobIdOf(r.operationId, 1));
    // between two waits the job is briefly active (it looks at the breaker and waits again)
    await expect.poll(() => waiting?.getState(), { interval: 20, timeout: 2_000 }).toBe('delayed');
    expect(waiting?.attemptsMade).toBe(0);
    expect(h.tmo.calls.changeTerminalStatus).toBeUndefined();
    expect((await h.operations.get(r.operationId))?.status).toBe('queued');

    h.circuits.set('tmo', 'closed');
    await h.waitForStatus(r.operationId, 'succeeded');
    // BullMQ counts the one successful run, none of the waits (it completes the job just after the record says succeeded)
    await expect.poll(async () => (await h?.operations.queues.byName.tmo.getJob(jobIdOf(r.operationId, 1)))?.attemptsMade, { timeout: 5_000 }).toBe(1);
    expect(h.tmo.calls.changeTerminalStatus).toBe(1);
  });

  it('when a failure tripped the breaker, then the job waits instead of spending its last attempts', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 2, breakerWaitMs: 150 }) });
    let calls = 0;
    h.crm.fail = (op) => {
      if (op !== 'createCustomer') return undefined;
      calls += 1;
      if (calls <= 3) {
        h?.circuits.set('crm', 'open'); // as a real breaker would after this failure
        setTimeout(() => h?.circuits.set('crm', 'half_open'), 100);
        return new UnavailableError('crm.unavailable', 'CRM is unavailable', { system: 'crm' });
      }
      return undefined;
    };
    const r = await h.operations.submit('partner.create', { name: 'P', vatNumber: '99999999999', taxCode: '99999999999', email: null, phone: null, address }, ctx(true));
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    // 3 failures with a 2-attempt budget: only possible because breaker waits burn no attempt
    await h.waitForStatus(r.operationId, 'succeeded');
    expect(calls).toBe(4);
  });

  it('when a queued command succeeds, then its bookkeeping is two commands: one script for the lease, the record and running, and one script that also resolves its dead letter and releases its lease', async () => {
    h = await createHarness(inject('redisUrl'));
    const terminalId = await orderedTerminal(h);
    // Every command the job layer sends on the operation's own keys (BullMQ's are under `:bull:`),
    // as Redis sees them; `lua` lines are commands run inside a script.
    const monitor = await h.redis.duplicate().monitor();
    const seen: { source: string; args: string[] }[] = [];
    const opKeys = (id: string) => [`${h?.prefix}:op:${id}`, `${h?.prefix}:op:${id}:lease`, `${h?.prefix}:dl:${id}`];
    monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ source, args }));
    try {
      const r = await h.operations.submit('terminal.status', { terminalId, status: 'suspended', reason: 'merchant_request' }, ctx(true));
      if (r.outcome !== 'accepted') throw new Error('expected accepted');
      // the job's state, not the record (polling the record would show up here)
      await expect.poll(async () => (await h?.operations.queues.byName.tmo.getJob(jobIdOf(r.operationId, 1)))?.getState(), { interval: 20, timeout: 5_000 }).toBe('completed');
      const keys = opKeys(r.operationId);
      const mine = seen.filter((c) => c.args.slice(1).some((a) => keys.includes(a)));
      // a script is an EVAL the first time this client sends it, an EVALSHA after (operation-store.ts)
      const topLevel = mine.filter((c) => c.source !== 'lua').map((c) => c.args[0]?.toLowerCase().replace(/^evalsha$/, 'eval'));
      // create; the lease script (SET NX, then HGETALL under it, then running: the record is as
      // submitted); succeeded + dead letter + lease in one script
      expect(topLevel).toEqual(['hset', 'eval', 'eval']);
      const inScript = mine.filter((c) => c.source === 'lua').map((c) => c.args[0]?.toLowerCase());
      expect(inScript).toEqual(['set', 'hgetall', 'hset', 'hset', 'pexpire', 'hget', 'get', 'del']);
      expect(await h.redis.exists(`${h.prefix}:op:${r.operationId}:lease`)).toBe(0);
      expect((await h.operations.get(r.operationId))?.status).toBe('succeeded');
    } finally {
      monitor.disconnect();
    }
  });

  it('when a queued command runs for the first time, then its record says running, attempt 1, with its first step running, while the legacy call is made', async () => {
    h = await createHarness(inject('redisUrl'));
    const terminalId = await orderedTerminal(h);
    const tmo = h.tmo;
    const change = tmo.changeTerminalStatus.bind(tmo);
    let during: Awaited<ReturnType<Harness['operations']['get']>> | undefined;
    tmo.changeTerminalStatus = async (...args) => {
      during = await h?.operations.get(opId);
      return change(...args);
    };
    let opId = '';
    const r = await h.operations.submit('terminal.status', { terminalId, status: 'suspended', reason: 'merchant_request' }, ctx(true));
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    opId = r.operationId;
    await h.waitForStatus(r.operationId, 'succeeded');
    expect(during).toMatchObject({ status: 'running', attempts: 1 });
    expect(during?.steps[0]).toMatchObject({ outcome: 'running', attempts: 1 });
    expect(during?.steps[0]?.startedAt).toEqual(expect.any(String));
    const done = await h.operations.get(r.operationId);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(done?.steps.every((s) => s.outcome === 'succeeded' && s.attempts === 1)).toBe(true);
  });

  it('when payloads, records, dead letters and jobs are in Redis, then no key or value holds the IBAN in clear', async () => {
    h = await createHarness(inject('redisUrl'), { policy: fastPolicy({ attempts: 2 }) });
    h.tmo.fail = (op) => (op === 'registerMerchant' ? new UnavailableError('tmo.unavailable', `TMO down while sending ${IBAN}`, { system: 'tmo' }) : undefined);
    const a = await h.operations.submit('merchant.onboard', merchant('11111111111'), ctx(true)); // dead letter
    const b = await h.operations.submit('merchant.update', { merchantId: 'C000000404', patch: { iban: 'DE89 3704 0044 0532 0130 00' } }, ctx(true));
    if (a.outcome !== 'accepted' || b.outcome !== 'accepted') throw new Error('expected accepted');
    await h.waitForStatus(a.operationId, 'failed');
    await h.waitForStatus(b.operationId, 'failed');

    const dump = await dumpRedis(h.redis, h.prefix);
    expect(dump.size).toBeGreaterThan(5);
    expect([...dump.keys()].some((k) => k.includes(':bull:'))).toBe(true);
    const needles = [IBAN, 'DE89370400440532013000', 'DE89 3704 0044 0532 0130 00', '0542811101000000123456'];
    for (const [key, value] of dump) {
      for (const n of needles) {
        expect(value.includes(n), `${key} holds an IBAN in clear`).toBe(false);
        expect(key.includes(n)).toBe(false);
      }
    }
  });
});
