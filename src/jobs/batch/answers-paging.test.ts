import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createTpuFormat } from '../../adapters/files/tpu-format.ts';
import { createLocalFolderFiles } from '../../adapters/files/local-folder.ts';
import { createSettingsExchange } from './exchange.ts';
import { createBatchKeys } from './keys.ts';
import { createBatchStore } from './store.ts';
import { batchHarness, CONFIG, type BatchHarness } from './test-support/harness.ts';

const redisUrl = inject('redisUrl');
const CHANGES = 2_500;
const PAGE = 1_000;

let h: BatchHarness;
afterEach(async () => {
  await h.close();
});

/** The client, recording the index range of every LRANGE it sends (pipelined ones included). */
function recordingLranges(redis: Redis, ranges: { key: string; start: number; stop: number }[]): Redis {
  const record = (args: unknown[]) => ranges.push({ key: String(args[0]), start: Number(args[1]), stop: Number(args[2]) });
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop, receiver) {
        const v = Reflect.get(t, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (prop === 'lrange') record(args);
          const r = (v as (...a: unknown[]) => unknown).apply(t, args);
          if (prop === 'pipeline' || prop === 'multi') return wrap(r as object);
          return r === t ? receiver : r;
        };
      },
    });
  return wrap(redis);
}

describe('settings exchange: a large ACK', () => {
  it(`when TMO acknowledges a file of ${CHANGES} records, then the answer is read from the ledger a page at a time (never the whole record list) and every operation ends`, async () => {
    h = await batchHarness(redisUrl);
    const tids = h.seedTerminals(CHANGES);
    const ops: string[] = [];
    for (let i = 0; i < tids.length; i += 250) ops.push(...(await Promise.all(tids.slice(i, i + 250).map((tid, j) => h.put(tid, { tipping: (i + j) % 2 === 0 })))));
    const sent = await h.batch.exchange.exportNow();
    expect(sent).toMatchObject({ outcome: 'sent', records: CHANGES });
    expect(await h.tmoBatch.processInbox()).toHaveLength(1);

    const rt = h.operations.runtime;
    const ranges: { key: string; start: number; stop: number }[] = [];
    const redis = recordingLranges(rt.redis, ranges);
    const keys = createBatchKeys(h.prefix);
    const exchange = createSettingsExchange({
      redis,
      keys,
      store: createBatchStore(redis, keys),
      operationKeys: rt.keys,
      operationStore: rt.store,
      deadLetters: rt.deadLetters,
      files: createLocalFolderFiles(h.root),
      format: createTpuFormat(),
      logger: pino({ level: 'silent' }),
      timeZone: CONFIG.timeZone,
      nakMaxResends: CONFIG.nakMaxResends,
      overdueMs: CONFIG.answerOverdueMs,
    });
    const r = await exchange.processAnswers();
    expect(r?.processed.map((p) => p.kind)).toEqual(['ack']);

    const fileRanges = ranges.filter((x) => sent.outcome === 'sent' && x.key === keys.fileRecords(sent.file));
    expect(fileRanges.length).toBeGreaterThan(0);
    for (const x of fileRanges) {
      expect(x.start).toBeGreaterThanOrEqual(0);
      expect(x.stop).toBeGreaterThanOrEqual(x.start);
      expect(x.stop - x.start + 1).toBeLessThanOrEqual(PAGE);
    }
    const statuses = await Promise.all(ops.map(async (id) => (await h.operations.get(id))?.status));
    expect(statuses.filter((s) => s !== 'succeeded')).toEqual([]);
    expect(h.tmo.settingsApplicationCount()).toBe(CHANGES);
  }, 60_000);
});
