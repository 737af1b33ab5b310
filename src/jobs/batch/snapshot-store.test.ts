import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createTermstatParser } from '../../translators/batch/termstat.ts';
import {
  DuplicateTerminalError,
  EMIT_LUA,
  openStaging,
  snapshotKeys,
  type SnapshotKeys,
} from './snapshot-store.ts';
import { termstatFile, type TermstatRow } from './test-support/termstat-file.ts';

let redis: Redis;
let keys: SnapshotKeys;

const tid = (i: number) => `T${i.toString(36).toUpperCase().padStart(7, '0')}`;
const row = (i: number, status = 'AC'): TermstatRow => ({
  tid: tid(i),
  mid: String(100_000 + i).padStart(15, '0'),
  status,
  lastSeen: '20261127101530',
  transactions: i % 7,
  amount: i,
});

/** Feeds a whole file to `sink` in 4 KiB chunks, as the import does. */
async function feed(file: Buffer, sink: Parameters<ReturnType<typeof createTermstatParser>['pushTo']>[1], ready: () => Promise<void>) {
  const parser = createTermstatParser({ timeZone: 'Europe/Rome' });
  for (let at = 0; at < file.length; at += 4096) {
    parser.pushTo(file.subarray(at, at + 4096), sink);
    await ready();
  }
  parser.end();
}

beforeEach(() => {
  redis = new Redis(inject('redisUrl'));
  keys = snapshotKeys(`s-${randomBytes(4).toString('hex')}`);
});

afterEach(() => {
  redis.disconnect();
});

describe('snapshot store', () => {
  it('when records are appended in many small pieces, then every one is staged and every status change against the base is listed once', async () => {
    const n = 6_000;
    const first = await openStaging(redis, keys, null, { groupBytes: 512 });
    await feed(termstatFile('20261127', Array.from({ length: n }, (_, i) => row(i))), first.sink, () => first.ready());
    expect(await first.finish()).toEqual({ changes: 0 });
    expect(await redis.keys(`${keys.tag}:g:*:in:*`)).toEqual([]);

    const next = await openStaging(redis, keys, { gen: first.gen, snapshotDate: '2026-11-27' }, { groupBytes: 512 });
    const changed = new Set([0, 17, 2_999, 5_999]);
    await feed(termstatFile('20261128', Array.from({ length: n }, (_, i) => row(i, changed.has(i) ? 'SU' : 'AC'))), next.sink, () => next.ready());
    expect((await next.finish()).changes).toBe(4);
    expect((await redis.lrange(keys.changes(next.gen), 0, -1)).sort()).toEqual(
      [...changed].map((i) => `${tid(i)}|${String(100_000 + i).padStart(15, '0')}|a|s`).sort(),
    );
    let staged = 0;
    for (let b = 0; b < 32_768; b += 4_096) {
      const pipe = redis.pipeline();
      for (let k = b; k < b + 4_096; k++) pipe.hlen(keys.bucketPrefix(next.gen) + k);
      for (const [, len] of (await pipe.exec()) ?? []) staged += Number(len);
    }
    expect(staged).toBe(n);
  });

  it('when the current generation has no status index (staged before it existed), then the diff reads its buckets instead', async () => {
    const rows = (status: (i: number) => string) => Array.from({ length: 3_000 }, (_, i) => row(i, status(i)));
    const first = await openStaging(redis, keys, null);
    await feed(termstatFile('20261127', rows(() => 'AC')), first.sink, () => first.ready());
    await first.finish();
    const indexes = await redis.keys(`${keys.tag}:g:${first.gen}:st:*`);
    expect(indexes.length).toBeGreaterThan(0);
    await redis.del(...indexes);
    const next = await openStaging(redis, keys, { gen: first.gen, snapshotDate: '2026-11-27' });
    await feed(termstatFile('20261128', rows((i) => (i % 1_000 === 7 ? 'DC' : 'AC'))), next.sink, () => next.ready());
    expect(await next.finish()).toEqual({ changes: 3 });
    expect((await redis.lrange(keys.changes(next.gen), 0, -1)).sort()).toEqual(
      [7, 1_007, 2_007].map((i) => `${tid(i)}|${String(100_000 + i).padStart(15, '0')}|a|d`),
    );
  });

  it('when TIDs come back far apart in the file, then staging fails at the first line whose TID came before', async () => {
    // rows (0-based): 4_000 repeats 10, 4_500 repeats 3_000, 5_000 repeats 10 again; the file's line is index + 2
    const rows = Array.from({ length: 6_000 }, (_, i) => row(i));
    rows[4_000] = row(10);
    rows[4_500] = row(3_000);
    rows[5_000] = row(10);
    const file = termstatFile('20261127', rows);
    const staging = await openStaging(redis, keys, null, { groupBytes: 512 });
    const failure = await feed(file, staging.sink, () => staging.ready())
      .then(() => staging.finish())
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(DuplicateTerminalError);
    expect((failure as DuplicateTerminalError).line).toBe(4_002);
    // nothing of it stays: no inbox is left, whatever the generation's buckets hold is dropped with it
    expect(await redis.keys(`${keys.tag}:g:*:in:*`)).toEqual([]);
  });

  it('when an emission call is sent twice (a retried pipeline), then its events are written once', async () => {
    const changes = keys.changes(1);
    const stream = `${keys.tag}:events`;
    const run = keys.run('r1');
    await redis.rpush(changes, 'T0000001|000000000000001|a|s', 'T0000002|000000000000002|p|a', 'T0000003|000000000000003|s|d');
    const call = (start: number) => redis.eval(EMIT_LUA, 3, changes, stream, run, start, 2, '2026-11-28.1.', '2026-11-28', 1_000) as Promise<[number, string[]]>;
    expect(await call(0)).toEqual([2, ['active|suspended', 'pending|active']]);
    expect(await call(0)).toEqual([2, []]);
    expect(await call(2)).toEqual([3, ['suspended|decommissioned']]);
    expect(await call(2)).toEqual([3, []]);
    const events = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
    expect(events.map(([, f]) => f[f.indexOf('eventId') + 1])).toEqual(['2026-11-28.1.1', '2026-11-28.1.2', '2026-11-28.1.3']);
  });
});
