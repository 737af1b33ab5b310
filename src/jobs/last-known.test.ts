import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import type { MerchantTerminal } from '../domain/services/types.ts';
import { createFieldCipher, toStringCipher } from './crypto/index.ts';
import { createKeys } from './keys.ts';
import { createLastKnownStore, lastKnownKey } from './last-known.ts';
import { createOperationStore } from './operation-store.ts';

const terminal = (): MerchantTerminal => ({
  id: 'WAS98KWZ',
  merchantId: 'C000000001',
  tmoMerchantId: '000000000000001',
  model: 'A920',
  serialNumber: 'A920-00000001',
  status: 'active',
  contactless: true,
  currency: 'EUR',
  lastSeenAt: '2024-03-05T12:04:05.000Z',
});

// No Redis needed: these tests are about which reads cause a write, so a recording fake stands in
// (the copy is written by a script: EVAL, then EVALSHA; KEYS[1] the key, ARGV[1] the record).
function setup(refreshMs = 10_000) {
  const sets: string[] = [];
  let t = 1_000_000;
  let fail = false;
  let refuse = false;
  const write = (_script: string, _numKeys: number, _key: string, value: string) => {
    sets.push(value);
    return fail ? Promise.reject(new Error('down')) : Promise.resolve(refuse ? 0 : 1);
  };
  const redis = { eval: write, evalsha: write } as unknown as Redis;
  const store = createLastKnownStore({
    redis,
    prefix: 'lgw',
    cipher: { seal: (s: string) => `sealed(${s})`, open: (s: string) => s.slice(7, -1) },
    ttlSeconds: 60,
    logger: { warn: () => undefined },
    refreshMs,
    now: () => t,
  });
  return {
    store,
    sets,
    advance: (ms: number) => (t += ms),
    failWrites: (on: boolean) => (fail = on),
    /** the script answers 0: Redis holds a copy confirmed later */
    refuseWrites: (on: boolean) => (refuse = on),
  };
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- values JSON.stringify sees alike but sameJson does not
const remember = (s: ReturnType<typeof setup>, value: any) => s.store.remember('terminal', 'WAS98KWZ', value as MerchantTerminal);

describe('last-known remember: an unchanged copy is written once per refresh interval', () => {
  it('when the same terminal is read again within the interval, then it is written once; after it, again', () => {
    const s = setup();
    remember(s, terminal());
    remember(s, terminal());
    s.advance(9_999);
    remember(s, terminal());
    expect(s.sets).toHaveLength(1);
    s.advance(1);
    remember(s, terminal());
    expect(s.sets).toHaveLength(2);
  });

  it.each([
    ['a field changes', { ...terminal(), status: 'suspended' }],
    ['a null becomes a string', { ...terminal(), lastSeenAt: '2024-03-05T12:04:06.000Z' }],
    ['a boolean flips', { ...terminal(), contactless: false }],
    ['a field is missing', (({ serialNumber: _s, ...rest }) => rest)(terminal())],
    ['a field is added', { ...terminal(), extra: 1 }],
    ['the same fields come in another order', (({ id, ...rest }) => ({ ...rest, id }))(terminal())],
    ['a nested object changes', { ...terminal(), nested: { a: [1, 2] } }],
  ])('when %s, then the copy is written again at once', (_label, changed) => {
    const s = setup();
    remember(s, terminal());
    remember(s, changed);
    expect(s.sets).toHaveLength(2);
    expect(s.sets[1]).toContain(JSON.stringify(changed));
  });

  it.each([
    ['a member that is undefined', { ...terminal(), serialNumber: undefined, extra: undefined }],
    ['a Date with the same JSON', { ...terminal(), lastSeenAt: new Date('2024-03-05T12:04:05.000Z') }],
    ['an object with a toJSON giving the same JSON', { toJSON: () => terminal() }],
    ['-0 for 0', { ...terminal(), n: -0 }],
  ])('when the value differs only in a way JSON does not show (%s), then it is not written again, as before', (_label, same) => {
    const s = setup();
    remember(s, JSON.parse(JSON.stringify(same)) as unknown);
    remember(s, same);
    expect(s.sets).toHaveLength(1);
  });

  it('when the caller changes the object it passed after it was written, then the change is still written', () => {
    const s = setup();
    const t = terminal();
    remember(s, t);
    t.status = 'suspended';
    remember(s, t);
    expect(s.sets).toHaveLength(2);
    expect(s.sets[1]).toContain('"status":"suspended"');
  });

  it('when a write fails, then the next read writes again', async () => {
    const s = setup();
    s.failWrites(true);
    remember(s, terminal());
    await new Promise((r) => setImmediate(r));
    s.failWrites(false);
    remember(s, terminal());
    expect(s.sets).toHaveLength(2);
  });

  it('when Redis refuses a copy (it holds one confirmed later, by another process), then the next read writes again', async () => {
    const s = setup();
    s.refuseWrites(true);
    remember(s, terminal());
    await new Promise((r) => setImmediate(r));
    s.refuseWrites(false);
    remember(s, terminal());
    expect(s.sets).toHaveLength(2);
  });

  it('when a read confirmed before the last copy written here answers, then it is not sent at all (Redis would refuse it)', () => {
    const s = setup();
    s.store.remember('terminal', 'WAS98KWZ', { ...terminal(), status: 'suspended' }, 1_000_000);
    s.store.remember('terminal', 'WAS98KWZ', terminal(), 999_000);
    expect(s.sets).toHaveLength(1);
    expect(s.sets[0]).toContain('"at":1000000,');
    s.store.remember('terminal', 'WAS98KWZ', terminal(), 1_000_000); // as old: replaces
    expect(s.sets).toHaveLength(2);
  });

  it('when a merchant is remembered, then it is sealed and compared the same way', () => {
    const s = setup();
    const merchant = { id: 'C000000001', legalName: 'Rossi', address: { line1: 'Via Roma 1', city: 'Roma' } };
    s.store.remember('merchant', 'C000000001', merchant as never);
    s.store.remember('merchant', 'C000000001', { ...merchant, address: { ...merchant.address } } as never);
    expect(s.sets).toHaveLength(1);
    s.store.remember('merchant', 'C000000001', { ...merchant, address: { ...merchant.address, city: 'Milano' } } as never);
    expect(s.sets).toHaveLength(2);
    expect(s.sets[1]).toMatch(/"sealed":"sealed\(.*Milano/);
  });
});

/** A store over a fake Redis whose copy's key holds `raw`; merchants "sealed" by prefixing `x`. */
function recallOf(raw: string | null, now = 1_000_000, ttlSeconds = 60) {
  const redis = { get: async () => raw } as unknown as Redis;
  return createLastKnownStore({
    redis,
    prefix: 'lgw',
    cipher: { seal: (s: string) => `x${s}`, open: (s: string) => s.slice(1) },
    ttlSeconds,
    logger: { warn: () => undefined },
    now: () => now,
  });
}

describe('last-known recall: a value it did not write is no copy', () => {
  it.each([
    ['the data is an array', '{"v":1,"at":999000,"data":[]}'],
    ['the data is an empty object', '{"v":1,"at":999000,"data":{}}'],
    ['the data is another terminal\'s (a copy moved to this key)', `{"v":1,"at":999000,"data":${JSON.stringify({ ...terminal(), id: 'OTHER001' })}}`],
    ['the time is not finite (1e999)', `{"v":1,"at":1e999,"data":${JSON.stringify(terminal())}}`],
    ['the time is minus infinity (-1e999)', `{"v":1,"at":-1e999,"data":${JSON.stringify(terminal())}}`],
  ])('when %s, then recall answers null (a 503), never garbage or an Age of Infinity', async (_label, raw) => {
    expect(await recallOf(raw).recall('terminal', 'WAS98KWZ')).toBeNull();
  });

  it('when a sealed merchant opens to an array, or to another merchant, then recall answers null (not a 500 later)', async () => {
    const store = recallOf('{"v":1,"at":999000,"sealed":"x[]"}');
    expect(await store.recall('merchant', 'C000000001')).toBeNull();
    const other = recallOf(`{"v":1,"at":999000,"sealed":${JSON.stringify(`x${JSON.stringify({ id: 'C000000002', legalName: 'Rossi' })}`)}}`);
    expect(await other.recall('merchant', 'C000000001')).toBeNull();
  });

  it('when the copy is the terminal asked for, then it is answered with its time', async () => {
    const raw = `{"v":1,"at":999000,"data":${JSON.stringify(terminal())}}`;
    expect(await recallOf(raw).recall('terminal', 'WAS98KWZ')).toEqual({ value: terminal(), confirmedAt: 999_000 });
  });
});

describe('last-known recall: never a copy older than READ_MODEL_TTL_SECONDS', () => {
  it('when the copy was confirmed longer ago than the TTL (written under a longer TTL before it was lowered), then recall answers null', async () => {
    const raw = `{"v":1,"at":1000000,"data":${JSON.stringify(terminal())}}`;
    expect(await recallOf(raw, 1_000_000 + 60_001, 60).recall('terminal', 'WAS98KWZ')).toBeNull();
    expect(await recallOf(raw, 1_000_000 + 60_000, 60).recall('terminal', 'WAS98KWZ')).not.toBeNull();
  });
});

describe('last-known: a merchant sealed before a payload-key rotation', () => {
  const key = (id: string) => ({ id, key: randomBytes(32) });
  const merchant = { id: 'C000000001', legalName: 'Rossi Srl', email: 'rossi@example.test' };

  function storeOver(kv: Map<string, string>, keys: ReturnType<typeof key>[]) {
    const set = async (_script: string, _n: number, k: string, v: string) => (kv.set(k, v), 1);
    const redis = { eval: set, evalsha: set, get: async (k: string) => kv.get(k) ?? null } as unknown as Redis;
    const cipher = toStringCipher(createFieldCipher({ keys }), 'last-known');
    return createLastKnownStore({ redis, prefix: 'lgw', cipher, ttlSeconds: 60, logger: { warn: () => undefined } });
  }

  it('when the new key is put first, then the old copy still opens; once the old key is removed, it is no copy (a 503, never a 500)', async () => {
    const kv = new Map<string, string>();
    const [k1, k2] = [key('k1'), key('k2')];
    storeOver(kv, [k1]).remember('merchant', merchant.id, merchant as never);
    await new Promise((r) => setImmediate(r));
    expect([...kv.values()].join()).not.toContain('Rossi');
    expect((await storeOver(kv, [k2, k1]).recall('merchant', merchant.id))?.value).toEqual(merchant);
    expect(await storeOver(kv, [k2]).recall('merchant', merchant.id)).toBeNull();
  });

  it('when a copy is sealed under another context (a job payload), then it does not open as a copy', async () => {
    const kv = new Map<string, string>();
    const k1 = key('k1');
    const jobs = toStringCipher(createFieldCipher({ keys: [k1] }), 'jobs');
    kv.set('lgw:lk:merchant:C000000001', `{"v":1,"at":${Date.now()},"sealed":${JSON.stringify(jobs.seal(JSON.stringify(merchant)))}}`);
    expect(await storeOver(kv, [k1]).recall('merchant', merchant.id)).toBeNull();
  });
});

describe('last-known: a copy never replaces one confirmed later (a read overlapping a write)', () => {
  const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
  afterAll(() => redis.quit());
  const keys = createKeys(`lk${randomUUID().slice(0, 8)}`);
  const opStore = createOperationStore(redis, keys, { succeededTtlMs: 60_000 });
  /** A store as one gateway process has it (its own refresh memo), over the private Redis. */
  const processStore = () =>
    createLastKnownStore({ redis, prefix: keys.prefix, cipher: { seal: (s) => `x${s}`, open: (s) => s.slice(1) }, ttlSeconds: 60, logger: { warn: () => undefined } });
  const id = () => `T${randomUUID().slice(0, 8)}`;
  const held = async (terminalId: string) => (await redis.get(lastKnownKey(keys.prefix, 'terminal', terminalId))) ?? '';
  const settle = async () => {
    await redis.ping(); // the fire-and-forget script went out before it on the same connection
  };
  const t0 = Date.now();

  it('when a read sent before a write answers after the write\'s copy was stored (another process), then the copy stays the write\'s', async () => {
    const tid = id();
    processStore().remember('terminal', tid, { ...terminal(), id: tid, status: 'suspended' }, t0 + 2_000);
    await settle();
    processStore().remember('terminal', tid, { ...terminal(), id: tid, status: 'active' }, t0 + 1_000);
    await settle();
    expect(await held(tid)).toMatch(new RegExp(`^\\{"v":1,"at":${t0 + 2_000},"data":.*"status":"suspended"`));
  });

  it('when a later or as old copy comes, then it replaces the stored one', async () => {
    const tid = id();
    processStore().remember('terminal', tid, { ...terminal(), id: tid, status: 'suspended' }, t0 + 2_000);
    await settle();
    processStore().remember('terminal', tid, { ...terminal(), id: tid, status: 'active' }, t0 + 2_000);
    await settle();
    expect(await held(tid)).toContain('"status":"active"');
    processStore().remember('terminal', tid, { ...terminal(), id: tid, status: 'suspended' }, t0 + 3_000);
    await settle();
    expect(await held(tid)).toMatch(new RegExp(`^\\{"v":1,"at":${t0 + 3_000},.*"status":"suspended"`));
  });

  it('when the stored value is not a record whose time parses, then it is replaced', async () => {
    const tid = id();
    await redis.set(lastKnownKey(keys.prefix, 'terminal', tid), '{"v":1,"at":"soon","data":{}}');
    processStore().remember('terminal', tid, { ...terminal(), id: tid }, t0);
    await settle();
    expect(await held(tid)).toMatch(new RegExp(`^\\{"v":1,"at":${t0},`));
  });

  it('when a sealed merchant copy is later than the incoming one, then it is kept too', async () => {
    const mid = `C${randomUUID().slice(0, 8)}`;
    const merchant = (legalName: string) => ({ id: mid, legalName }) as never;
    processStore().remember('merchant', mid, merchant('Later Srl'), t0 + 2_000);
    await settle();
    processStore().remember('merchant', mid, merchant('Earlier Srl'), t0 + 1_000);
    await settle();
    expect(await redis.get(lastKnownKey(keys.prefix, 'merchant', mid))).toContain('Later Srl');
  });

  it('when the runner\'s success script carries an older copy, then it does not replace a later one; a later one it writes', async () => {
    const tid = id();
    const opId = randomUUID();
    processStore().remember('terminal', tid, { ...terminal(), id: tid, status: 'active' }, t0 + 2_000);
    await settle();
    const older = processStore().prepare('terminal', tid, { ...terminal(), id: tid, status: 'suspended' }, t0 + 1_000);
    expect(await opStore.finishSucceeded(opId, { type: 'terminal', id: tid }, [], 60_000, undefined, older)).toBe(true);
    expect(await held(tid)).toMatch(new RegExp(`^\\{"v":1,"at":${t0 + 2_000},.*"status":"active"`));
    expect(await redis.hget(keys.operation(opId), 'status')).toBe('succeeded'); // the rest of the script ran
    const later = processStore().prepare('terminal', tid, { ...terminal(), id: tid, status: 'suspended' }, t0 + 3_000);
    await opStore.finishSucceeded(opId, { type: 'terminal', id: tid }, [], 60_000, undefined, later);
    expect(await held(tid)).toMatch(new RegExp(`^\\{"v":1,"at":${t0 + 3_000},.*"status":"suspended"`));
  });

  it('when the success script refuses its copy (a later one is stored), then this process does not take it as written: the next read of that value writes it', async () => {
    const tid = id();
    const here = processStore();
    processStore().remember('terminal', tid, { ...terminal(), id: tid, status: 'active' }, t0 + 2_000); // another process
    await settle();
    const older = here.prepare('terminal', tid, { ...terminal(), id: tid, status: 'suspended' }, t0 + 1_000);
    await opStore.finishSucceeded(randomUUID(), { type: 'terminal', id: tid }, [], 60_000, undefined, older);
    expect(await held(tid)).toContain('"status":"active"'); // refused
    // a read here, confirmed after the stored copy, answers the same value the script carried
    here.remember('terminal', tid, { ...terminal(), id: tid, status: 'suspended' }, t0 + 3_000);
    await settle();
    expect(await held(tid)).toMatch(new RegExp(`^\\{"v":1,"at":${t0 + 3_000},.*"status":"suspended"`));
  });
});
