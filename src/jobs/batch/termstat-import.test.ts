import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createLocalFolderFiles } from '../../adapters/files/local-folder.ts';
import { ConflictError } from '../../domain/errors/index.ts';
import type { FileTransferPort } from '../../domain/file-transfer.port.ts';
import { termstatFormat } from '../../translators/batch/termstat.ts';
import { createKeys } from '../keys.ts';
import { createTerminalActivityReader, snapshotKeys } from './snapshot-store.ts';
import { createTermstatImporter, type TermstatImporter } from './termstat-import.ts';
import { termstatFile, type TermstatRow } from './test-support/termstat-file.ts';

const row = (tid: string, status: string, extra: Partial<TermstatRow> = {}): TermstatRow => ({
  tid,
  mid: '000000000012345',
  status,
  lastSeen: '20261127101530',
  transactions: 3,
  amount: 1_250,
  ...extra,
});

let dir: string;
let redis: Redis;
let prefix: string;
let stream: string;
let importers: TermstatImporter[];

function importer(files: FileTransferPort = createLocalFolderFiles(dir), extra: { settleMs?: number; redis?: Redis; closedTtlMs?: number } = {}) {
  const counters = { records: 0, corrupt: 0, changes: [] as string[] };
  const imp = createTermstatImporter({
    redis: extra.redis ?? redis,
    prefix,
    files,
    format: termstatFormat({ timeZone: 'Europe/Rome' }),
    eventsStream: stream,
    eventsMaxLen: 10_000,
    settleMs: extra.settleMs ?? 20,
    ...(extra.closedTtlMs === undefined ? {} : { closedTtlMs: extra.closedTtlMs }),
    logger: pino({ level: 'silent' }),
    metrics: {
      recordsImported: (n) => (counters.records += n),
      corruptFile: () => (counters.corrupt += 1),
      statusChanges: (from, to, n) => counters.changes.push(`${from}->${to}:${n}`),
    },
  });
  importers.push(imp);
  return { imp, counters };
}

function deliver(date: string, bytes: Buffer, marker = true): void {
  writeFileSync(join(dir, 'outbox', `TERMSTAT_${date}.DAT`), bytes);
  if (marker) writeFileSync(join(dir, 'outbox', `TERMSTAT_${date}.OK`), '');
}

const ls = (sub: string) => readdirSync(join(dir, sub)).filter((n) => n !== 'archive' && n !== 'error').sort();

async function events() {
  const rows = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
  return rows.map(([, f]) => {
    const o: Record<string, string> = {};
    for (let i = 0; i + 1 < f.length; i += 2) o[f[i] as string] = f[i + 1] as string;
    return o;
  });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'termstat-'));
  for (const d of ['outbox', 'outbox/archive', 'outbox/error', 'inbox']) mkdirSync(join(dir, d), { recursive: true });
  redis = new Redis(inject('redisUrl'));
  prefix = `t-${randomBytes(4).toString('hex')}`;
  stream = `{${prefix}}:events:terminals`;
  importers = [];
});

afterEach(async () => {
  for (const i of importers) await i.close();
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('TERMSTAT import', () => {
  it('when a .DAT has no .OK, then it is never read', async () => {
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC')]), false);
    const { imp } = importer();
    expect((await imp.poll()).runs).toEqual([]);
    expect(await imp.list(10)).toEqual([]);
    expect(ls('outbox')).toEqual(['TERMSTAT_20261127.DAT']);
    expect(await createTerminalActivityReader({ redis, prefix }).getTerminalActivity('T0000001')).toBeNull();
  });

  it('when a reader found no snapshot, then it answers null from its cached pointer until the pointer expires', async () => {
    const cachedLong = createTerminalActivityReader({ redis, prefix, pointerTtlMs: 60_000 });
    const uncached = createTerminalActivityReader({ redis, prefix, pointerTtlMs: 0 });
    expect(await cachedLong.getTerminalActivity('T0000001')).toBeNull();
    expect(await uncached.getTerminalActivity('T0000001')).toBeNull();
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC')]));
    const { imp } = importer();
    expect((await imp.poll()).runs).toMatchObject([{ snapshotDate: '2026-11-27', state: 'imported' }]);
    // the pointer read before the import still says "no snapshot"; a fresh one finds it
    expect(await cachedLong.getTerminalActivity('T0000001')).toBeNull();
    expect(await cachedLong.getTerminalActivity('T0000002')).toBeNull();
    expect((await uncached.getTerminalActivity('T0000001'))?.activity.date).toBe('2026-11-27');
  });

  it('when the .DAT is still growing with its .OK already there, then it is not read in that poll', async () => {
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC')]));
    const { imp } = importer(undefined, { settleMs: 300 });
    // TMO keeps writing in place (a wrong early marker): the size changes within every settle window
    const growing = setInterval(() => appendFileSync(join(dir, 'outbox', 'TERMSTAT_20261127.DAT'), 'more'), 30);
    const result = await imp.poll();
    clearInterval(growing);
    expect(result.runs).toEqual([]);
    expect(ls('outbox')).toEqual(['TERMSTAT_20261127.DAT', 'TERMSTAT_20261127.OK']);
  });

  it('when a valid snapshot arrives, then GET-side reads show its activity and the files are archived', async () => {
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC'), row('T0000002', 'PE', { lastSeen: '00000000000000', transactions: 0, amount: 0 })]));
    const { imp, counters } = importer();
    const { runs } = await imp.poll();
    expect(runs).toMatchObject([{ snapshotDate: '2026-11-27', state: 'imported', records: 2, statusChanges: 0, reason: null }]);
    expect(runs[0]?.durationMs).toBeGreaterThanOrEqual(0);
    const reader = createTerminalActivityReader({ redis, prefix });
    expect(await reader.getTerminalActivity('T0000001')).toEqual({
      status: 'active',
      // no time zone given to the reader: the date's end in the easternmost zone (UTC+14)
      takenAfter: '2026-11-27T10:00:00.000Z',
      lastSeenAt: '2026-11-27T09:15:30.000Z',
      activity: { date: '2026-11-27', transactionCount: 3, amount: { amount: 1_250, currency: 'EUR' } },
    });
    expect(await reader.getTerminalActivity('T0000002')).toEqual({
      status: 'pending',
      takenAfter: '2026-11-27T10:00:00.000Z',
      lastSeenAt: null,
      activity: { date: '2026-11-27', transactionCount: 0, amount: { amount: 0, currency: 'EUR' } },
    });
    expect(await reader.getTerminalActivity('T9999999')).toBeNull();
    expect(ls('outbox')).toEqual([]);
    expect(ls('outbox/archive')).toEqual(['TERMSTAT_20261127.DAT', 'TERMSTAT_20261127.OK']);
    expect(counters.records).toBe(2);
    // the first snapshot has nothing to compare with
    expect(await events()).toEqual([]);
  });

  it('when a read misses, then it reads the pointer once: a pointer just read answers at once, a cached one is checked against a fresh one', async () => {
    const { imp } = importer();
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC')]));
    await imp.poll();
    const calls = { get: 0, hget: 0 };
    const counting = {
      get: (key: string) => (calls.get++, redis.get(key)),
      hget: (key: string, field: string) => (calls.hget++, redis.hget(key, field)),
    } as unknown as Redis;
    const counted = async (read: () => Promise<unknown>) => {
      calls.get = 0;
      calls.hget = 0;
      await read();
      return { ...calls };
    };
    const uncached = createTerminalActivityReader({ redis: counting, prefix, pointerTtlMs: 0 });
    expect(await counted(() => uncached.getTerminalActivity('T9999999'))).toEqual({ get: 1, hget: 1 });
    expect(await counted(() => uncached.getTerminalActivity('T0000001'))).toEqual({ get: 1, hget: 1 });
    const cached = createTerminalActivityReader({ redis: counting, prefix, pointerTtlMs: 60_000 });
    expect(await counted(() => cached.getTerminalActivity('T9999999'))).toEqual({ get: 1, hget: 1 });
    expect(await counted(() => cached.getTerminalActivity('T0000001'))).toEqual({ get: 0, hget: 1 });
    // a miss on a cached pointer may be a swap's: one fresh pointer, one more HGET
    expect(await counted(() => cached.getTerminalActivity('T9999999'))).toEqual({ get: 1, hget: 2 });
    // and that retry finds a terminal only the next snapshot has, its cached generation dropped
    deliver('20261128', termstatFile('20261128', [row('T0000001', 'AC'), row('T0000004', 'AC')]));
    await imp.poll();
    expect((await cached.getTerminalActivity('T0000004'))?.activity.date).toBe('2026-11-28');
  });

  it('when the next snapshot changes statuses, then one event per changed terminal goes to the stream in the API vocabulary', async () => {
    const { imp, counters } = importer();
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC'), row('T0000002', 'PE'), row('T0000003', 'SU')]));
    await imp.poll();
    deliver('20261128', termstatFile('20261128', [row('T0000001', 'SU'), row('T0000002', 'AC', { mid: '000000000067890' }), row('T0000003', 'SU'), row('T0000004', 'AC')]));
    const { runs } = await imp.poll();
    expect(runs).toMatchObject([{ snapshotDate: '2026-11-28', state: 'imported', records: 4, statusChanges: 2 }]);
    // one event per terminal, in no particular order across terminals (staged by bucket)
    const evs = (await events()).sort((a, b) => (a.terminalId ?? '').localeCompare(b.terminalId ?? ''));
    expect(evs.map(({ eventId: _e, ...rest }) => rest)).toEqual([
      { type: 'terminal.status_changed', terminalId: 'T0000001', merchantId: '000000000012345', from: 'active', to: 'suspended', snapshotDate: '2026-11-28' },
      { type: 'terminal.status_changed', terminalId: 'T0000002', merchantId: '000000000067890', from: 'pending', to: 'active', snapshotDate: '2026-11-28' },
    ]);
    expect(new Set(evs.map((e) => e.eventId)).size).toBe(2);
    expect(counters.changes.sort()).toEqual(['active->suspended:1', 'pending->active:1']);
    expect((await createTerminalActivityReader({ redis, prefix }).getTerminalActivity('T0000004'))?.activity.date).toBe('2026-11-28');
    // the replaced generation is gone: only the current one has keys
    expect(await redis.smembers(snapshotKeys(prefix).gens)).toHaveLength(1);
  });

  it('when the same snapshot is applied twice, then nothing changes, nothing is emitted, and the archive keeps both copies', async () => {
    const { imp } = importer();
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC')]));
    await imp.poll();
    deliver('20261128', termstatFile('20261128', [row('T0000001', 'SU')]));
    await imp.poll();
    const before = await events();
    deliver('20261128', termstatFile('20261128', [row('T0000001', 'SU')]));
    const { runs } = await imp.poll();
    expect(runs).toMatchObject([{ state: 'imported', statusChanges: 0 }]);
    expect(await events()).toEqual(before);
    expect(ls('outbox/archive')).toContain('TERMSTAT_20261128.DAT.1');
    expect(ls('outbox/archive')).toContain('TERMSTAT_20261128.DAT');
  });

  it('when a snapshot is corrupt, then nothing is applied, it moves to error with its marker, shows its reason and line, and raises a dead letter', async () => {
    const { imp, counters } = importer();
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC')]));
    await imp.poll();
    deliver('20261128', termstatFile('20261128', [row('T0000001', 'SU'), row('T0000002', 'XX')]));
    const { runs } = await imp.poll();
    expect(runs).toMatchObject([{ snapshotDate: '2026-11-28', state: 'corrupt', line: 3 }]);
    expect(runs[0]?.reason).toMatch(/STATUS .*'XX'/);
    const reader = createTerminalActivityReader({ redis, prefix });
    expect((await reader.getTerminalActivity('T0000001'))?.activity.date).toBe('2026-11-27');
    expect(await events()).toEqual([]);
    expect(ls('outbox')).toEqual([]);
    expect(ls('outbox/error')).toEqual(['TERMSTAT_20261128.DAT', 'TERMSTAT_20261128.OK']);
    expect(counters.corrupt).toBe(1);
    const dl = await redis.hgetall(createKeys(prefix).deadLetter(runs[0]?.deadLetterId ?? 'none'));
    expect(dl).toMatchObject({ kind: 'batch.termstat', state: 'open', errorCode: 'batch.file_corrupt' });
    expect(JSON.parse(dl.payload ?? '{}')).toMatchObject({ file: 'TERMSTAT_20261128.DAT', line: 3 });
    // the staged generation was dropped
    expect(await redis.smembers(snapshotKeys(prefix).gens)).toHaveLength(1);

    // TMO delivers a corrected file under the same name: it is imported and the dead letter resolved
    deliver('20261128', termstatFile('20261128', [row('T0000001', 'SU'), row('T0000002', 'AC')]));
    const second = await imp.poll();
    expect(second.runs).toMatchObject([{ snapshotDate: '2026-11-28', state: 'imported', statusChanges: 1 }]);
    expect((await reader.getTerminalActivity('T0000002'))?.activity.date).toBe('2026-11-28');
    expect(await redis.hget(createKeys(prefix).deadLetter(runs[0]?.deadLetterId ?? 'none'), 'state')).toBe('resolved');
    // a second corrupt delivery of the same name would get a suffix in error/; here both originals stay
    expect(ls('outbox/error')).toEqual(['TERMSTAT_20261128.DAT', 'TERMSTAT_20261128.OK']);
    expect(await imp.list(10)).toMatchObject([{ state: 'imported' }, { state: 'corrupt' }, { state: 'imported' }]);
  });

  it('when a corrected snapshot resolves the dead letter, then it expires after OPERATION_RETENTION_DAYS, not a fixed 30 days', async () => {
    const { imp } = importer(undefined, { closedTtlMs: 2 * 86_400_000 });
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'XX')]));
    const { runs } = await imp.poll();
    const dlKey = createKeys(prefix).deadLetter(runs[0]?.deadLetterId ?? 'none');
    expect(await redis.pttl(dlKey)).toBe(-1);
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC')]));
    expect((await imp.poll()).runs).toMatchObject([{ state: 'imported' }]);
    expect(await redis.hget(dlKey, 'state')).toBe('resolved');
    const ttl = await redis.pttl(dlKey);
    expect(ttl).toBeGreaterThan(86_400_000);
    expect(ttl).toBeLessThanOrEqual(2 * 86_400_000);
  });

  it('when a snapshot turns out corrupt at its trailer, then its records are never written into buckets', async () => {
    let scriptCalls = 0;
    const counting = new Proxy(redis, {
      get(target, prop, receiver) {
        if (prop === 'evalsha') scriptCalls += 1;
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC'), row('T0000002', 'AC')], { count: 3 }));
    const { runs } = await importer(undefined, { redis: counting }).imp.poll();
    expect(runs).toMatchObject([{ state: 'corrupt' }]);
    expect(scriptCalls).toBe(0);
    expect(await redis.keys(`${snapshotKeys(prefix).tag}:g:*`)).toEqual([]);
  });

  it('when a TID appears twice, then the file is corrupt at the second occurrence', async () => {
    const { imp } = importer();
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC'), row('T0000002', 'AC'), row('T0000001', 'SU')]));
    const { runs } = await imp.poll();
    expect(runs).toMatchObject([{ state: 'corrupt', line: 4, reason: 'the TID appears twice in the snapshot' }]);
    expect(await createTerminalActivityReader({ redis, prefix }).getTerminalActivity('T0000002')).toBeNull();
  });

  it('when an older snapshot arrives after a newer one was applied, then it is superseded and archived without changing anything', async () => {
    const { imp } = importer();
    deliver('20261128', termstatFile('20261128', [row('T0000001', 'SU')]));
    await imp.poll();
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC')]));
    const { runs } = await imp.poll();
    expect(runs).toMatchObject([{ snapshotDate: '2026-11-27', state: 'superseded' }]);
    expect((await createTerminalActivityReader({ redis, prefix }).getTerminalActivity('T0000001'))?.activity.date).toBe('2026-11-28');
    expect(await events()).toEqual([]);
  });

  it('when the process dies after the swap (events not yet written, files not yet archived), then the next poll finishes once', async () => {
    const { imp } = importer();
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC'), row('T0000002', 'AC')]));
    await imp.poll();
    deliver('20261128', termstatFile('20261128', [row('T0000001', 'SU'), row('T0000002', 'DC')]));
    // the first events pipeline dies after the swap, like a crash before emission
    let pipelineFailures = 1;
    const crashing = new Proxy(redis, {
      get(target, prop, receiver) {
        if (prop === 'pipeline' && pipelineFailures-- > 0) return () => { throw new Error('process died'); };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    await expect(importer(undefined, { redis: crashing }).imp.poll()).rejects.toThrow(/process died/);
    expect((await createTerminalActivityReader({ redis, prefix }).getTerminalActivity('T0000001'))?.activity.date).toBe('2026-11-28');
    expect(ls('outbox')).toEqual(['TERMSTAT_20261128.DAT', 'TERMSTAT_20261128.OK']);
    expect(await events()).toEqual([]);

    // and a rename that fails once: the run stops after emitting, before archiving
    const local = createLocalFolderFiles(dir);
    let failures = 1;
    const flaky: FileTransferPort = {
      ...local,
      async rename(from, to) {
        if (failures-- > 0) throw new Error('connection lost');
        return local.rename(from, to);
      },
    };
    const { imp: second } = importer(flaky);
    await expect(second.poll()).rejects.toThrow(/connection lost/);
    expect(await events()).toHaveLength(2);
    const third = await second.poll();
    expect(third.runs).toEqual([]);
    expect(await events()).toHaveLength(2);
    expect(await second.list(1)).toMatchObject([{ snapshotDate: '2026-11-28', state: 'imported', statusChanges: 2 }]);
    expect(ls('outbox')).toEqual([]);
  });

  it('when two importers poll at once, then one imports and the other finds the lock taken', async () => {
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC')]));
    const a = importer().imp;
    const b = importer().imp;
    const [ra, rb] = await Promise.all([a.poll(), b.poll()]);
    expect([ra.busy, rb.busy].sort()).toEqual([false, true]);
    expect([...ra.runs, ...rb.runs]).toHaveLength(1);
  });

  it('when a rename target exists, then the archive move never overwrites it', async () => {
    const local = createLocalFolderFiles(dir);
    writeFileSync(join(dir, 'outbox', 'archive', 'TERMSTAT_20261127.OK'), 'older');
    deliver('20261127', termstatFile('20261127', [row('T0000001', 'AC')]));
    await importer(local).imp.poll();
    expect(ls('outbox/archive')).toEqual(['TERMSTAT_20261127.DAT', 'TERMSTAT_20261127.OK', 'TERMSTAT_20261127.OK.1']);
    expect(existsSync(join(dir, 'outbox', 'archive', 'TERMSTAT_20261127.OK'))).toBe(true);
    await expect(local.rename('/outbox/archive/TERMSTAT_20261127.OK.1', '/outbox/archive/TERMSTAT_20261127.OK')).rejects.toBeInstanceOf(ConflictError);
  });
});
