/**
 * Retention: nothing the gateway writes stays in Redis forever unless it is on the documented
 * allow-list (docs/OPERATIONS.md "What Redis holds, and for how long"). A connected gateway runs a
 * full scenario — onboardings, an idempotent replay, a terminal order, dead letters that are
 * retried, discarded and left open, ops audit entries — then every key of its database is
 * scanned: a key without a TTL must match an allow-listed pattern, and the allow-listed ones are
 * checked for the trim that bounds them.
 */
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { createCapturedLogger } from '../support/log-capture.ts';
import { connectedSetup, flushDb, merchantBody, randomVat, redisOnDb, startLegacy, waitFor, type ConnectedSetup, type Legacy, REDIS_DBS } from '../acceptance/support.ts';

const REDIS_DB = REDIS_DBS.redisKeys;
const DAY_MS = 86_400_000;

/**
 * Keys allowed without a TTL, by their shape after the key prefix (`lgw:` or the hash-tagged
 * `{lgw}:`), and why. Keep in step with docs/OPERATIONS.md.
 */
const ALLOWED_WITHOUT_TTL: ReadonlyArray<[RegExp, string]> = [
  [/^dl:index$/, 'zset of dead letter ids; entries of expired dead letters are trimmed on each new dead letter'],
  [/^audit$/, 'stream trimmed by AUDIT_RETENTION_DAYS (XTRIM MINID) and MAXLEN on every append'],
  [/^dl:op_[0-9a-f]{32}$/, 'an OPEN dead letter: kept until an operator retries or discards it (checked below)'],
  [/^op:op_[0-9a-f]{32}$/, 'the failed operation of an open dead letter (checked below)'],
  [/^order-claimed:C\d{9}$/, 'terminal ids owned by succeeded orders of one merchant (no personal data)'],
  [/^bull:ops-(tmo|crm):(meta|id|events|stalled-check|completed|failed|wait|paused|active|delayed|prioritized|marker|pc|de:.*)$/, "BullMQ's own structures; events capped by BullMQ, completed/failed by age"],
  [/^bull:ops-(tmo|crm):op_[0-9a-f]{32}-[a-z0-9]+(:logs)?$/, 'a BullMQ job: removed by age via removeOnComplete/removeOnFail on its options (checked below)'],
];

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let gw: Gateway | undefined;
let redis: Redis | undefined;

beforeAll(async () => {
  const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
  await flushDb(redisUrl);
  legacy = await startLegacy();
  setup = await connectedSetup(legacy, redisUrl, {
    LOG_LEVEL: 'warn',
    TMO_RETRY_ATTEMPTS: '1',
    CRM_RETRY_ATTEMPTS: '1',
    OPERATION_RETENTION_DAYS: '30',
    AUDIT_RETENTION_DAYS: '400',
  });
  gw = await startGateway({ ...loadConfig(setup.env), port: 0 }, createCapturedLogger({ name: 'retention' }), { listen: false });
  redis = new Redis(redisUrl);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await legacy?.close();
  setup?.cleanup();
  redis?.disconnect();
});

async function call(method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) {
  if (!gw?.app) throw new Error('no app');
  const res = await gw.app.request(path, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(method === 'POST' && path.startsWith('/v1/') ? { 'Idempotency-Key': randomUUID() } : {}),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

async function allKeys(r: Redis): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'COUNT', 1000);
    out.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return out.sort();
}

const shape = (key: string) => key.replace(/^\{?lgw\}?:/, '');

describe('retention: every key has a TTL or a documented trim', () => {
  it('when a full scenario ran, then every key without a TTL is allow-listed, and the allow-listed ones are bounded', async () => {
    if (!gw || !legacy || !setup || !redis) throw new Error('set-up failed');
    const r = redis;
    const client = await setup.keys.signToken(['merchants:read', 'merchants:write', 'terminals:read', 'terminals:write'], { subject: 'client-retention' });
    const operator = await setup.keys.signToken(['ops:read', 'ops:write'], { subject: 'operator-retention' });

    // a plain onboarding, replayed once with its Idempotency-Key, then a terminal order
    const created = await call('POST', '/v1/merchants', client, merchantBody(randomVat()), { 'Idempotency-Key': 'retention-1' });
    expect(created.status).toBe(201);
    const replay = await call('POST', '/v1/merchants', client, merchantBody(String(created.json.vatNumber)), { 'Idempotency-Key': 'retention-1' });
    expect([200, 201, 422]).toContain(replay.status);
    const merchantId = String(created.json.id);
    const order = await call('POST', `/v1/merchants/${merchantId}/terminals`, client, { model: 'P400', contactless: true, currency: 'EUR', shippingAddress: { line1: 'Corso Francia 1', city: 'Torino', postalCode: '10138', province: 'TO' } });
    expect([201, 202], JSON.stringify(order.json)).toContain(order.status);

    // three onboardings dead-lettered (TMO fails every call, one attempt allowed)
    legacy.tmo.faults.set({ faultRate: 1 });
    const failed: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call('POST', '/v1/merchants', client, merchantBody(randomVat()));
      expect(res.status).toBe(202);
      failed.push(String(res.json.operationId));
    }
    legacy.tmo.faults.reset();
    const [retried, discarded, open] = failed as [string, string, string];
    // one attempt allowed: each is dead-lettered inline, before its 202
    for (const id of failed) expect((await call('GET', `/ops/dead-letters/${id}`, operator)).json.state).toBe('open');
    expect((await call('POST', `/ops/dead-letters/${retried}/retry`, operator)).status).toBe(202);
    expect((await call('POST', `/ops/dead-letters/${discarded}/discard`, operator, { reason: 'duplicate of another onboarding' })).status).toBe(200);
    await waitFor('the retried operation to succeed', async () => ((await call('GET', `/v1/operations/${retried}`, client)).json.status === 'succeeded' ? true : undefined), {
      timeoutMs: 20_000,
    });
    await waitFor('the order to finish', async () => {
      const o = order.status === 201 ? 'succeeded' : (await call('GET', `/v1/operations/${String(order.json.operationId)}`, client)).json.status;
      return o === 'succeeded' ? true : undefined;
    }, { timeoutMs: 20_000 });

    const keys = await allKeys(r);
    const pipe = r.pipeline();
    for (const k of keys) pipe.pttl(k);
    const ttls = ((await pipe.exec()) ?? []).map(([, v]) => Number(v));
    const noTtl = keys.filter((_, i) => ttls[i] === -1);
    const unexplained = noTtl.filter((k) => !ALLOWED_WITHOUT_TTL.some(([re]) => re.test(shape(k))));
    expect(unexplained).toEqual([]);

    const ttlOf = (k: string) => ttls[keys.indexOf(k)] ?? -2;
    const keyOf = (suffix: string) => keys.find((k) => shape(k) === suffix) ?? `(missing ${suffix})`;
    // finished operations (succeeded, and the discarded one's failed record) expire within the retention
    for (const id of [retried, discarded]) {
      const ttl = ttlOf(keyOf(`op:${id}`));
      expect(ttl, `op:${id}`).toBeGreaterThan(29 * DAY_MS);
      expect(ttl, `op:${id}`).toBeLessThanOrEqual(30 * DAY_MS);
    }
    // closed dead letters expire; the open one stays, as does its failed operation
    for (const id of [retried, discarded]) expect(ttlOf(keyOf(`dl:${id}`)), `dl:${id}`).toBeGreaterThan(29 * DAY_MS);
    expect(ttlOf(keyOf(`dl:${open}`))).toBe(-1);
    expect(await r.hget(keyOf(`dl:${open}`), 'state')).toBe('open');
    expect(ttlOf(keyOf(`op:${open}`))).toBe(-1);
    // every allow-listed operation record belongs to an open dead letter
    for (const k of noTtl.filter((x) => /^op:/.test(shape(x)))) {
      expect(await r.hget(keyOf(`dl:${shape(k).slice(3)}`), 'state'), k).toBe('open');
    }
    // BullMQ jobs carry age-based removal on their own options (where BullMQ reads it)
    const jobs = noTtl.filter((k) => /^bull:ops-(tmo|crm):op_[0-9a-f]{32}-[a-z0-9]+$/.test(shape(k)));
    expect(jobs.length).toBeGreaterThan(0);
    for (const k of jobs) {
      const opts = JSON.parse((await r.hget(k, 'opts')) ?? '{}') as { removeOnComplete?: { age?: number }; removeOnFail?: { age?: number } };
      expect(opts.removeOnComplete?.age, k).toBe(30 * 86_400);
      expect(opts.removeOnFail?.age, k).toBe(30 * 86_400);
    }
    // idempotency records always expire
    const idem = keys.filter((k) => /^idem:/.test(shape(k)));
    expect(idem.length).toBeGreaterThan(0);
    for (const k of idem) expect(ttlOf(k), k).toBeGreaterThan(0);
  }, 90_000);

  it('when the scenario ran, then the queue, dead-letter, idempotency and Redis metrics show it without any id in a label', async () => {
    if (!gw) throw new Error('set-up failed');
    const text = await gw.metrics.render();
    expect(text).toMatch(/^lgw_queue_jobs\{queue="ops-crm",state="completed"\} [1-9]/m);
    expect(text).toMatch(/^lgw_queue_jobs\{queue="ops-tmo",state="waiting"\} 0$/m);
    expect(text).toMatch(/^lgw_queue_oldest_job_age_seconds\{queue="ops-tmo"\} \d/m);
    expect(text).toMatch(/^lgw_dead_letters_open 1$/m);
    expect(text).toMatch(/^lgw_idempotency_requests_total\{outcome="replayed"\} 1$/m);
    expect(text).toMatch(/^lgw_redis_up 1$/m);
    expect(text).not.toMatch(/op_[0-9a-f]{32}|C\d{9}|IT\d\d[A-Z]/);
  });
});
